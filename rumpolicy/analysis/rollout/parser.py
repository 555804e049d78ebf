"""Reading a rollout file: the syntax tree turned into checked expectations.

Syntax errors stop at the first one (the parser cannot go on); errors of meaning (an address
that is not an address, an alias given twice on a line, a missing `policy` line) are all
collected, so one run shows everything to fix.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rumpolicy.analysis.diff.identities import holder_problem, same_principal
from rumpolicy.analysis.rollout.model import (
    ChangeExpectation,
    ChangeKind,
    DecisionExpectation,
    Exemption,
    ExemptionKind,
    Expectation,
    IdentitySource,
    PolicySource,
    Position,
    Problem,
    RolloutError,
    RolloutFile,
    Verdict,
)
from rumpolicy.analysis.rollout.syntax import syntax_tree
from rumpolicy.engine import Request
from rumpolicy.engine.principals import caller_problem
from rumpolicy.policy.arns import split_arn
from rumpolicy.policy.diagnostics import byte_position

ALIAS_KEY, SOURCE_IP_KEY = "rum:alias", "aws:SourceIp"
TIME_KEYS = ("aws:CurrentTime", "aws:EpochTime")
ALIAS_LENGTH = (1, 255)
"""PutRumEvents' `Alias` member: 1 to 255 characters (the botocore service model)."""

_ABSENT = object()
"""`without alias`: the request carries no alias, whatever `every request` says."""

_SLOT_NAMES = {
    "caller": "the caller (anonymous or principal)",
    "alias": "the alias (alias or without alias)",
    "source_ip": "the address (from)",
    "time": "the time (at)",
    "resource": "the app monitor (on)",
}
_SLOT_KEYS = {"alias": (ALIAS_KEY,), "source_ip": (SOURCE_IP_KEY,), "time": TIME_KEYS}
"""The context keys a clause sets, which `with` may not set again on the same line."""


def read_rollout(path: Path) -> RolloutFile:
    """Read and check the rollout file at `path`; a RolloutError lists every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RolloutError((Problem(path, "no such file"),)) from None
    except IsADirectoryError:
        raise RolloutError((Problem(path, "is a directory, expected a .rollout file"),)) from None
    except UnicodeDecodeError as err:
        raise RolloutError((Problem(path, f"not UTF-8 text (byte {err.start})",
                                    Position(*byte_position(err.object, err.start))),)) from None
    except OSError as err:
        raise RolloutError((Problem(path, f"cannot read: {err.strerror}"),)) from None
    return parse_rollout(text, path)


def parse_rollout(text: str, path: Path) -> RolloutFile:
    """Parse rollout `text` read from `path` (policy paths are relative to its folder)."""
    tree = syntax_tree(text, path)
    return _Reader(text if text.endswith("\n") else text + "\n", path).read(tree)


@dataclass
class _Spec:
    """The clauses of one line: slot -> (value, where), plus `with` keys by lower-case name."""

    slots: dict[str, tuple[Any, Position]] = field(default_factory=dict)
    keys: dict[str, tuple[str, str | list[str], Position]] = field(default_factory=dict)


class _Reader:
    def __init__(self, text: str, path: Path) -> None:
        self.text = text
        self.path = path
        self.problems: list[Problem] = []
        self.policy: PolicySource | None = None
        self.baseline: PolicySource | None = None
        self.monitor: tuple[str, Position] | None = None
        self.identities: list[IdentitySource] = []
        self.declared: set[str] = set()
        """Declarations seen, valid or not: a bad line is not also reported missing."""
        self.defaults = _Spec()
        self.lines: list[tuple[Any, _Spec | None]] = []

    def fail(self, message: str, where: Position) -> None:
        self.problems.append(Problem(self.path, message, where))

    def read(self, tree: Any) -> RolloutFile:
        handlers: dict[str, Callable[[Any], None]] = {
            "policy": self._policy, "baseline": self._baseline, "monitor": self._monitor,
            "identity": self._identity,
            "defaults": self._defaults, "expectation": self._expectation,
            "change_expectation": self._change,
        }
        for line in tree.children:
            self.declared.add(line.data)
            handlers[line.data](line)
        expectations = self._expectations()
        start = Position(1, 1)
        if "policy" not in self.declared:
            self.fail('no policy line: name the policy under test, e.g. policy "shop.json" '
                      "(or policy none)", start)
        if "monitor" not in self.declared:
            self.fail("no monitor line: name the app monitor, e.g. monitor "
                      "arn:aws:rum:us-east-1:123456789012:appmonitor/shop", start)
        if not expectations and not self.problems:
            self.fail('nothing to check: add an expectation such as allow alias "v2"', start)
        if self.problems:
            raise RolloutError(tuple(sorted(self.problems, key=_where)))
        assert self.policy is not None and self.monitor is not None
        return RolloutFile(self.path, self.policy, self.monitor[0], self.baseline,
                           tuple(expectations), tuple(self.identities))

    # -- declarations ---------------------------------------------------------------------

    def _source(self, node: Any, name: str, earlier: PolicySource | None) -> PolicySource | None:
        where = _position(node)
        if earlier is not None:
            self.fail(f"a second {name} line (the first is on line {earlier.position.line}): "
                      "a rollout file tests one change of one policy", where)
            return earlier
        token = node.children[0]
        if token.type == "NONE":
            return PolicySource(None, "none", where)
        written = self._file_name(token)
        if written is None:
            return None
        return PolicySource(self.path.parent / written, written, where)

    def _file_name(self, token: Any) -> str | None:
        """A quoted file name; None (and the problem reported) when it names no file."""
        written = self._string(token)
        if written is not None and (not written or "\0" in written):
            self.fail("empty file name" if not written else "a file name cannot hold a NUL "
                      "character (\\u0000)", _position(token))
            return None
        return written

    def _policy(self, node: Any) -> None:
        self.policy = self._source(node, "policy", self.policy)

    def _baseline(self, node: Any) -> None:
        self.baseline = self._source(node, "change from", self.baseline)

    def _monitor(self, node: Any) -> None:
        where = _position(node)
        if self.monitor is not None:
            self.fail(f"a second monitor line (the first is on line {self.monitor[1].line})",
                      where)
            return
        token = node.children[0]
        arn = self._text(token)
        if arn is None:
            return
        parts = split_arn(arn)
        if parts is None or parts.service != "rum" or not parts.resource.startswith(
                "appmonitor/") or parts.resource == "appmonitor/":
            self.fail(f"'{arn}' is not an app monitor ARN: expected "
                      "arn:aws:rum:REGION:ACCOUNT:appmonitor/NAME", _position(token))
            return
        self.monitor = (arn, where)

    def _identity(self, node: Any) -> None:
        file_token, arn_token = node.children
        written = self._file_name(file_token)
        principal = self._text(arn_token)
        if written is None or principal is None:
            return
        problem = holder_problem(principal) or next(filter(None, (
            _on_line(same_principal(i.principal, principal), i) for i in self.identities)), None)
        if problem:
            self.fail(problem, _position(arn_token))
            return
        self.identities.append(IdentitySource(principal, self.path.parent / written, written,
                                              _position(node)))

    def _defaults(self, node: Any) -> None:
        spec = self._clauses(node.children)
        if self.defaults.slots or self.defaults.keys:
            for slot, value in spec.slots.items():
                if slot in self.defaults.slots:
                    self.fail(f"{_SLOT_NAMES[slot]} is already set by an earlier every request "
                              f"line (line {self.defaults.slots[slot][1].line})", value[1])
            for lower, entry in spec.keys.items():
                if lower in self.defaults.keys:
                    self.fail(f"{entry[0]} is already set by an earlier every request line",
                              entry[2])
        self.defaults.slots.update(spec.slots)
        self.defaults.keys.update(spec.keys)

    # -- expectations -----------------------------------------------------------------------

    def _expectation(self, node: Any) -> None:
        self.lines.append((node, self._clauses(node.children[1:])))

    def _change(self, node: Any) -> None:
        self.lines.append((node, None))

    def _expectations(self) -> list[Expectation]:
        """Built once the whole file is read: `every request` and `monitor` apply to every line,
        wherever they stand."""
        out: list[Expectation] = []
        for node, spec in self.lines:
            built = self._decision(node, spec) if spec is not None else self._change_of(node)
            if built is not None:
                out.append(built)
        return out

    def _decision(self, node: Any, spec: _Spec) -> DecisionExpectation | None:
        verdict = Verdict(" ".join(str(t) for t in node.children[0].children))
        if self.monitor is None or any(v is None for v, _ in spec.slots.values()):
            return None  # already reported
        request = self._request(spec, _position(node))
        if request is None:
            return None
        return DecisionExpectation(verdict, request, self._line_text(node), _position(node))

    def _change_of(self, node: Any) -> ChangeExpectation | None:
        kind = {"no_new_access": ChangeKind.NO_NEW_ACCESS,
                "no_lost_access": ChangeKind.NO_LOST_ACCESS,
                "no_change": ChangeKind.NO_CHANGE}[node.children[0].data]
        where = _position(node)
        if self.baseline is None:
            if "baseline" not in self.declared:  # else its line is already reported
                self.fail(f"{kind} compares with an earlier policy: add a line such as "
                          'change from "previous.json"', where)
            return None
        exemptions: list[Exemption] = []
        for child in node.children[1].children if len(node.children) > 1 else ():
            exemption = self._exemption(child)
            if exemption is not None:
                exemptions.append(exemption)
        return ChangeExpectation(kind, tuple(exemptions), self._line_text(node), where)

    def _exemption(self, node: Any) -> Exemption | None:
        if node.data == "no_alias":
            return Exemption(ExemptionKind.WITHOUT_ALIAS, None)
        token = node.children[0]
        if node.data == "from_range":
            text = self._text(token)
            if text is None:
                return None
            try:
                network = ipaddress.ip_network(text, strict=False)
            except ValueError:
                self.fail(f"'{text}' is not an IP address or range such as 203.0.113.0/24",
                          _position(token))
                return None
            return Exemption(ExemptionKind.FROM_RANGE, str(network))
        value = self._string(token)
        if value is None:
            return None
        if not value:
            self.fail("an empty alias never matches a request: aliases are 1 to 255 characters",
                      _position(token))
            return None
        return Exemption(_EXEMPTIONS[node.data], value)

    # -- clauses ----------------------------------------------------------------------------

    def _clauses(self, nodes: list[Any]) -> _Spec:
        spec = _Spec()
        for node in nodes:
            if node.data == "with_keys":
                self._with(node, spec)
                continue
            read = _CLAUSES[node.data]
            slot = _SLOT_OF[node.data]
            value = read(self, node)
            where = _position(node)
            if slot in spec.slots:
                self.fail(f"{_SLOT_NAMES[slot]} is given twice on this line", where)
            spec.slots.setdefault(slot, (value, where))
        for slot, keys in _SLOT_KEYS.items():
            for key in keys:
                entry = spec.keys.get(key.lower())
                if slot in spec.slots and entry is not None:
                    self.fail(f"{entry[0]} is set twice on this line: by with and by "
                              f"{_SLOT_NAMES[slot]}", entry[2])
        return spec

    def _with(self, node: Any, spec: _Spec) -> None:
        for pair in node.children:
            key_token, value_node = pair.children
            key = str(key_token)
            value: str | list[str] | None
            if getattr(value_node, "data", None) == "list":
                items = [self._string(t) for t in value_node.children if t is not None]
                value = None if None in items else [i for i in items if i is not None]
            else:
                value = self._string(value_node)
            if value is None:
                continue
            if key.lower() in spec.keys:
                self.fail(f"{key} is given twice on this line (keys ignore case)",
                          _position(key_token))
                continue
            spec.keys[key.lower()] = (key, value, _position(key_token))

    def _caller(self, node: Any) -> object:
        if node.data == "anonymous":
            return _ANONYMOUS
        arn = self._text(node.children[0])
        if arn is None:
            return None
        problem = caller_problem(arn)
        if problem:
            self.fail(problem, _position(node.children[0]))
            return None
        return arn

    def _alias(self, node: Any) -> object:
        if node.data == "without_alias":
            return _ABSENT
        token = node.children[0]
        alias = self._string(token)
        if alias is None:
            return None
        low, high = ALIAS_LENGTH
        if not low <= len(alias) <= high:
            self.fail(f"an alias is {low} to {high} characters, this one has {len(alias)} "
                      "(use without alias for a request that sends none)", _position(token))
            return None
        return alias

    def _address(self, node: Any) -> str | None:
        token = node.children[0]
        text = self._text(token)
        if text is None or token.type == "STRING":
            return text  # quoted: sent as written, so malformed addresses can be tested
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            self.fail(f"'{text}' is not an IP address (quote it to send it as written)",
                      _position(token))
            return None

    def _time(self, node: Any) -> tuple[str, str] | None:
        token = node.children[0]
        text = self._text(token)
        if text is None:
            return None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            self.fail(f"'{text}' is not a time with a zone: write it like 2026-12-01T00:00:00Z",
                      _position(token))
            return None
        utc = moment.astimezone(UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%SZ"), str(int(utc.timestamp()))

    def _resource(self, node: Any) -> str | None:
        token = node.children[0]
        arn = self._text(token)
        if arn is not None and split_arn(arn) is None:
            self.fail(f"'{arn}' is not an ARN: expected arn:partition:service:region:account:"
                      "resource", _position(token))
            return None
        return arn

    # -- requests ---------------------------------------------------------------------------

    def _request(self, spec: _Spec, where: Position) -> Request | None:
        assert self.monitor is not None
        # A line's own `with` key beats a default clause setting the same key, as a line's
        # own clause beats a default `with` key: the line is more specific.
        overridden = {slot for slot, names in _SLOT_KEYS.items()
                      if any(n.lower() in spec.keys for n in names)}
        slots = {**{k: v[0] for k, v in self.defaults.slots.items() if k not in overridden},
                 **{k: v[0] for k, v in spec.slots.items()}}
        keys = {**self.defaults.keys, **spec.keys}
        context: dict[str, str | list[str]] = {key: value for key, value, _ in keys.values()}
        for slot, names in _SLOT_KEYS.items():
            if slot not in slots:
                continue
            for name in names:
                entry = keys.get(name.lower())
                if entry is not None:
                    del context[entry[0]]
            value = slots[slot]
            if value is _ABSENT:
                continue
            values = value if isinstance(value, tuple) else (value,)
            context.update(zip(names, values, strict=True))
        caller = slots.get("caller", _ANONYMOUS)
        try:
            return Request(resource=slots.get("resource", self.monitor[0]),
                           principal=None if caller is _ANONYMOUS else caller, context=context)
        except ValueError as err:
            self.fail(f"cannot build this request: {err}", where)
            return None

    # -- tokens -----------------------------------------------------------------------------

    def _string(self, token: Any) -> str | None:
        """A quoted string's value (JSON escapes); None after reporting a bad escape."""
        try:
            value = json.loads(str(token))
        except ValueError:
            self.fail("bad escape in string: use \\\" \\\\ \\n \\t or \\uXXXX",
                      _position(token))
            return None
        assert isinstance(value, str)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # as the policy loader: a lone surrogate is no text
            self.fail("invalid string: a lone surrogate escape is not valid Unicode",
                      _position(token))
            return None
        return value

    def _text(self, token: Any) -> str | None:
        """An unquoted word as written, or a quoted string's value."""
        return self._string(token) if token.type == "STRING" else str(token)

    def _line_text(self, node: Any) -> str:
        return self.text[node.meta.start_pos:node.meta.end_pos]


_ANONYMOUS = object()

_CLAUSES: dict[str, Callable[[_Reader, Any], object]] = {
    "anonymous": _Reader._caller,
    "principal": _Reader._caller,
    "alias": _Reader._alias,
    "without_alias": _Reader._alias,
    "source_ip": _Reader._address,
    "at_time": _Reader._time,
    "on_monitor": _Reader._resource,
}
_EXEMPTIONS = {"alias_matching": ExemptionKind.ALIAS_MATCHING,
               "alias_is": ExemptionKind.ALIAS_IS,
               "alias_any_case": ExemptionKind.ALIAS_ANY_CASE}
_SLOT_OF = {"anonymous": "caller", "principal": "caller", "alias": "alias",
            "without_alias": "alias", "source_ip": "source_ip", "at_time": "time",
            "on_monitor": "resource"}


def _on_line(problem: str | None, earlier: IdentitySource) -> str | None:
    return None if problem is None else f"{problem}; the first is on line {earlier.position.line}"


def _position(node: Any) -> Position:
    meta = getattr(node, "meta", None)
    if meta is not None:
        return Position(meta.line, meta.column)
    return Position(node.line, node.column)


def _where(problem: Problem) -> tuple[int, int]:
    return (problem.position.line, problem.position.column) if problem.position else (0, 0)
