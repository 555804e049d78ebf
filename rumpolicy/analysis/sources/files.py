"""What a file holds, decided once for `validate` and `audit` alike.

A file met in a directory walk is read only when it can hold a policy: a policy document, a
CloudFormation template with an `AWS::RUM::AppMonitor`, a Terraform plan with an
`aws_rum_resource_policy`. Anything else (package.json, tsconfig.json with comments, a GitHub
workflow, a template without app monitors, `.tf` source) is skipped and counted. A file named
on the command line is always read: when it holds no policy, that is reported.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from rumpolicy.analysis.sources import cloudformation, terraform
from rumpolicy.analysis.sources.documents import FileContents, PolicyText, Problem, Settings
from rumpolicy.analysis.sources.tree import Mapping, Node, TreeError, from_json, from_yaml
from rumpolicy.policy.diagnostics import byte_position

STDIN = "<stdin>"
"""How every command names standard input in what it prints."""

JSON_SUFFIXES = (".json",)
YAML_SUFFIXES = (".yaml", ".yml", ".template")
TERRAFORM_SUFFIXES = (".tf",)
WALKED_SUFFIXES = JSON_SUFFIXES + YAML_SUFFIXES + TERRAFORM_SUFFIXES
"""The files a directory walk looks at; other files are not candidates at all."""

_POLICY_START = re.compile(r'[\ufeff \t\r\n]*\{\s*"(?:Version|Statement|Id)"\s*:')
"""A JSON object whose first key is a policy element: a policy, with no need to parse it twice
to tell (package.json starts with "name", a template with "AWSTemplateFormatVersion")."""
_YAML_LINE = re.compile(r"[A-Za-z_][\w-]*\s*:(\s|$)")
_TERRAFORM_HINT = ("Terraform source cannot be evaluated without Terraform: audit the plan "
                   "instead (terraform show -json PLAN > plan.json)")


def read_bytes(data: bytes, file: str, named: bool, settings: Settings, suffix: str = ""
               ) -> FileContents:
    """What the file whose bytes are `data` holds. `named`: given on the command line (then a
    file without policies is a problem, not a skip)."""
    if b"\x00" in data:
        return _nothing(file, named, "binary", "this is a binary file, not a JSON policy document")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        return _nothing(file, named, "not UTF-8", f"this file is not UTF-8 text (byte "
                        f"{err.start} cannot be decoded), so it is not a JSON policy",
                        byte_position(data, err.start))
    return read_text(text, file, named, settings, suffix)


def read_text(text: str, file: str, named: bool, settings: Settings, suffix: str = ""
              ) -> FileContents:
    stripped = text.lstrip(" \t\r\n\ufeff")
    if suffix in TERRAFORM_SUFFIXES:
        return _nothing(file, named, "Terraform source", _TERRAFORM_HINT)
    if stripped.startswith(("{", "[")):
        return _json(text, file, named, settings)
    if cloudformation.RUM_APP_MONITOR in text and (suffix in YAML_SUFFIXES or _looks_yaml(text)):
        return _yaml(text, file, named, settings)
    if suffix in YAML_SUFFIXES and not named:
        return FileContents(file, "skipped", skipped="no app monitor")
    why = not_json(text)
    if why is not None:
        return _nothing(file, named, "not JSON", why)
    return _policy(text, file)


def _json(text: str, file: str, named: bool, settings: Settings) -> FileContents:
    maybe_container = '"Resources"' in text or '"terraform_version"' in text
    if not maybe_container and '"Statement"' in text and (named or _POLICY_START.match(text)):
        if not named and _identity_policy(text):
            return FileContents(file, "skipped", skipped=IDENTITY_POLICY)
        return _policy(text, file)  # the audit's fast path, with no parse spent on sniffing
    try:
        head = json.loads(text)
    except (ValueError, RecursionError) as err:
        if maybe_container and (cloudformation.RUM_APP_MONITOR in text
                                or terraform.RESOURCE_TYPE in text):
            line, column = getattr(err, "lineno", 1), getattr(err, "colno", 1)
            return _problem(file, "template-syntax", f"invalid JSON: {getattr(err, 'msg', err)}",
                            text, line, column)
        if named or '"Statement"' in text:
            return _policy(text, file)  # the loader reports the syntax error at its place
        return FileContents(file, "skipped", skipped="JSON without a policy")
    if isinstance(head, dict) and "Statement" in head and "Resources" not in head:
        if not named and _identity_policy(text):
            return FileContents(file, "skipped", skipped=IDENTITY_POLICY)
        return _policy(text, file)
    is_template = isinstance(head, dict) and isinstance(head.get("Resources"), dict)
    is_plan = isinstance(head, dict) and "terraform_version" in head
    if (is_template and cloudformation.RUM_APP_MONITOR in text) or (
            is_plan and terraform.RESOURCE_TYPE in text):
        try:
            root = from_json(text)
        except TreeError as err:
            return _problem(file, "template-syntax", err.message, text, err.line, err.column)
        return _container(root, text, file, settings)
    if named and not (is_template or is_plan):
        return _policy(text, file)
    reason = ("template without an app monitor" if is_template else
              "plan without a RUM resource policy" if is_plan else "JSON without a policy")
    return FileContents(file, "skipped", skipped=reason)


def _yaml(text: str, file: str, named: bool, settings: Settings) -> FileContents:
    try:
        root = from_yaml(text)
    except TreeError as err:
        if not _may_be_template(text):  # a CI workflow or compose file that names the type
            return _nothing(file, named, "YAML without a template", "this YAML is not a "
                            "CloudFormation template (no document has Resources)")
        return _problem(file, "template-syntax", err.message, text, err.line, err.column)
    if not cloudformation.is_template(root):
        return _nothing(file, named, "YAML without a template", "this YAML document is not a "
                        "CloudFormation template (it has no Resources with a Type)")
    return _container(root, text, file, settings)


def _may_be_template(text: str) -> bool:
    """Whether some YAML document in `text` is a mapping with Resources, as a template is.
    What only a template must avoid (anchors, merge keys, several documents) is then no
    error of this file's; text YAML cannot read at all may be a broken template."""
    import yaml

    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return any(isinstance(root, yaml.MappingNode) and any(
            isinstance(key, yaml.ScalarNode) and key.value == "Resources" for key, _ in root.value)
            for root in yaml.compose_all(text, Loader=loader))
    except yaml.YAMLError:
        return True


def _container(root: Node, text: str, file: str, settings: Settings) -> FileContents:
    lines = text.split("\n")
    lines = [line.rstrip("\r") for line in lines]
    assert isinstance(root, Mapping)
    if terraform.is_plan(root):
        policies, problems = terraform.plan_policies(root, file, lines)
        kind = "terraform-plan"
    elif cloudformation.is_template(root):
        policies, problems = cloudformation.template_policies(root, file, lines, settings)
        kind = "cloudformation"
    else:
        return FileContents(file, "skipped", skipped="JSON without a policy")
    if not policies and not problems:
        return FileContents(file, "skipped", skipped=f"{kind} without a resource policy")
    return FileContents(file, kind, tuple(policies), tuple(problems))


IDENTITY_POLICY = "identity policy (no Principal)"
"""A policy no statement of which names a principal: an identity policy (for `eval`'s and
`diff`'s `--identity-policy`, or a role's), not an app monitor's. A walk skips it, counted; named
on the command line it is audited like any file, and its missing Principal reported."""


def _identity_policy(text: str) -> bool:
    return '"Principal"' not in text and '"NotPrincipal"' not in text


def _policy(text: str, file: str) -> FileContents:
    return FileContents(file, "policy", (PolicyText(file, text),))


def _problem(file: str, code: str, message: str, text: str, line: int, column: int
             ) -> FileContents:
    lines = text.split("\n")
    snippet = lines[line - 1].rstrip("\r") if 0 < line <= len(lines) else ""
    return FileContents(file, "problem", problems=(Problem(file, code, message, line, column,
                                                           snippet=snippet),))


def _nothing(file: str, named: bool, reason: str, message: str,
             where: tuple[int, int] = (1, 1)) -> FileContents:
    if named:
        return FileContents(file, "problem", problems=(Problem(file, "not-a-policy", message,
                                                               *where),))
    return FileContents(file, "skipped", skipped=reason)


def _looks_yaml(text: str) -> bool:
    stripped = text.lstrip(" \t\r\n")
    return stripped.startswith("---") or bool(_YAML_LINE.match(stripped))


def not_json(text: str) -> str | None:
    """Why `text` is not a JSON document at all (then no place inside it would help)."""
    stripped = text.lstrip(" \t\r\n")
    if not stripped:
        return "the file is empty: a policy is a JSON object with Version and Statement"
    first = stripped[0]
    if first in "{[\ufeff":
        return None
    if _looks_yaml(stripped):
        return ("this looks like a YAML document but not a CloudFormation template with an "
                "AWS::RUM::AppMonitor; PutResourcePolicy takes the policy as JSON")
    if first in "\"-0123456789tfn":
        return "this is a JSON value, not a policy object: a policy is a JSON object"
    return f"this is not JSON: it starts with {stripped[:20]!r}"


def read_path(path: Path, named: bool, settings: Settings, shown: str | None = None
              ) -> FileContents:
    file = shown or str(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        return FileContents(file, "problem", problems=(Problem(
            file, "not-a-policy", f"cannot read this file: {err.strerror or err}"),))
    return read_bytes(data, file, named, settings, path.suffix.lower())
