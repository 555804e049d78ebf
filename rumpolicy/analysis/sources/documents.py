"""What reading a file gives: the policies in it, each with a way back to the file's places,
and the problems that kept a policy from being read."""

from __future__ import annotations

from dataclasses import dataclass

from rumpolicy.analysis.sources.tree import Place
from rumpolicy.policy.arns import PLACEHOLDER_ACCOUNT, PLACEHOLDER_REGION


@dataclass(frozen=True, slots=True)
class Settings:
    """What a template's values resolve against. The defaults are the placeholder account and
    Region every rumpolicy command uses (the gate's defaults); `--account` and `--region`
    override them, `--parameter NAME=VALUE` gives a template parameter its deploy-time value."""

    account: str = PLACEHOLDER_ACCOUNT
    region: str = PLACEHOLDER_REGION
    parameters: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class PositionMap:
    """Where each character of a policy text extracted from a template stands in the file."""

    places: tuple[Place, ...]
    line_starts: tuple[int, ...]

    @classmethod
    def of(cls, text: str, places: list[Place]) -> PositionMap:
        starts = [0]
        starts += [i + 1 for i, c in enumerate(text) if c == "\n"]
        return cls(tuple(places), tuple(starts))

    def locate(self, line: int, column: int) -> Place:
        """The file's place for the policy's line:column (past the end: the last character's)."""
        if not self.places:
            return (1, 1)
        line = max(1, min(line, len(self.line_starts)))
        offset = self.line_starts[line - 1] + column - 1
        next_start = (self.line_starts[line] if line < len(self.line_starts)
                      else len(self.places))
        offset = max(0, min(offset, next_start - 1, len(self.places) - 1))
        return self.places[offset]


@dataclass(frozen=True, slots=True)
class PolicyText:
    """One policy document found in a file."""

    file: str
    text: str
    place: str = ""
    """Where the policy sits in the file (`Resources.Monitor` in a template, the resource address
    in a Terraform plan); empty for a file that is the policy."""
    positions: PositionMap | None = None
    """None: the text is the whole file."""
    file_lines: tuple[str, ...] = ()
    """The file's lines, for snippets, when the text is not the whole file."""
    ignore: tuple[tuple[str, Place], ...] = ()
    """Check ids the template silences for this policy (CloudFormation Metadata), each with
    where it is written (an unknown id is reported there)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a file, or a policy in it, could not be read: reported as one finding."""

    file: str
    code: str
    message: str
    line: int = 1
    column: int = 1
    place: str = ""
    snippet: str = ""
    ignore: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class FileContents:
    """A file, read: its policies and problems, or why it holds none (then it is skipped and
    counted, not reported)."""

    file: str
    kind: str
    """"policy", "cloudformation", "terraform-plan", "problem" (a named file that holds no
    policy, or a template that cannot be parsed), or "skipped"."""
    policies: tuple[PolicyText, ...] = ()
    problems: tuple[Problem, ...] = ()
    skipped: str | None = None
