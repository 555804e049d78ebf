"""`load_policy`: policy text -> `Policy`, with AWS's acceptance rules and every problem reported.

The loader walks the positioned JSON once, collecting diagnostics instead of stopping at the first,
so a user fixes a policy in one pass. Each check names the element and the JSON path. The one
exception is a resource policy over the size limit: it is refused before it is parsed, as
PutResourcePolicy refuses it, so a huge file costs no parse.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from rumpolicy.policy._json import parse_json
from rumpolicy.policy._jvalues import MAX_NESTING, JArray, JObject, JScalar, JString, JValue
from rumpolicy.policy.arns import arn_problem
from rumpolicy.policy.diagnostics import Diagnostic, PolicyError, byte_position
from rumpolicy.policy.models import (
    PRINCIPAL_KINDS,
    VERSIONS,
    Condition,
    EffectName,
    Location,
    Policy,
    PolicyKind,
    Principals,
    Statement,
)
from rumpolicy.policy.operators import Family, parse_operator, suggest_operator
from rumpolicy.policy.values import (
    read_base64,
    read_bool,
    read_date,
    read_network,
    read_number,
)
from rumpolicy.policy.variables import parse_template

RESOURCE_POLICY_LIMIT = 4096
"""RUM's resource policy limit: 4 KB, read as 4096 bytes of UTF-8 (docs/semantics.md)."""

_TOP = ("Version", "Id", "Statement")
_STATEMENT = ("Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
              "Resource", "NotResource", "Condition")
_PAIRS = (("Principal", "NotPrincipal"), ("Action", "NotAction"), ("Resource", "NotResource"))
_ACTION = re.compile(r"[A-Za-z0-9*?-]+:[A-Za-z0-9*?]+")
_ACCOUNT_ID = re.compile(r"\d{12}")
_UNIQUE_ID = re.compile(r"A[A-Z]{3}[A-Z0-9]{12,}")
_PRINCIPAL_ARN = re.compile(
    r"arn:[a-z-]+:(?:iam::\d{12}:(?:root|user/.+|role/.+|federated-user/.+)"
    r"|sts::\d{12}:(?:assumed-role/[^/]+/.+|federated-user/.+))"
)
_PRINCIPAL_FORMS: dict[str, tuple[re.Pattern[str], str]] = {
    "AWS": (re.compile(rf"{_ACCOUNT_ID.pattern}|{_PRINCIPAL_ARN.pattern}|{_UNIQUE_ID.pattern}"),
            "an account id (12 digits), an IAM or STS ARN "
            "(arn:aws:iam::123456789012:role/NAME), or \"*\""),
    "Service": (re.compile(r"[a-z0-9.-]+\.[a-z0-9.-]+"),
                "a service principal such as rum.amazonaws.com"),
    "Federated": (re.compile(r"\S(?:.*\S)?"),
                  "an identity provider such as cognito-identity.amazonaws.com"),
    "CanonicalUser": (re.compile(r"[0-9a-f]{64}"), "a 64-character canonical user id"),
}
_CONDITION_KEY = re.compile(r"[A-Za-z0-9_.-]+:\S+")
_new = object.__new__
_set_line: Callable[[Location, int], None] = vars(Location)["line"].__set__
_set_column: Callable[[Location, int], None] = vars(Location)["column"].__set__

_VALUE_READERS: dict[Family, tuple[str, Callable[[str], object], str]] = {
    Family.NUMERIC: ("invalid-number", read_number, "a number such as 10 or 2.5"),
    Family.DATE: ("invalid-date", read_date,
                  "a W3C date such as 2026-12-01 or 2026-12-01T00:00:00Z, or epoch seconds"),
    Family.BOOL: ("invalid-bool", read_bool, "true or false"),
    Family.NULL: ("invalid-bool", read_bool, "true or false"),
    Family.IP: ("invalid-cidr", read_network, "an IPv4 or IPv6 address or CIDR block"),
    Family.BINARY: ("invalid-base64", read_base64, "base64-encoded bytes"),
}


def load_policy(
    source: str | bytes | Mapping[str, Any], *, kind: PolicyKind = "resource"
) -> Policy:
    """Parse and validate a policy; raise `PolicyError` with every problem found.

    `kind="identity"` loads an identity policy (no Principal, no size limit), as passed to
    `evaluate(..., identity_policies=...)`.
    """
    text = _as_text(source)
    loader = _Loader(kind)
    # A mapping is sent as json.dumps writes it (what boto3 users do), not as the indented
    # text kept for positions: RUM counts the document it receives.
    sent = json.dumps(source) if isinstance(source, Mapping) and kind == "resource" else text
    policy = loader.load(text, sent)
    if loader.problems or policy is None:
        raise PolicyError(loader.problems)
    return policy


_SIZE_CHUNK = 1 << 16
"""Characters encoded at a time to count a text's UTF-8 bytes, so counting a huge text never
holds a copy of it."""


def _utf8_size(text: str) -> int:
    """The text's length in UTF-8 bytes (a lone surrogate, which only a `str` can hold, counted
    as the 3 bytes `surrogatepass` writes), without encoding it whole."""
    if text.isascii():  # constant time in CPython: a flag of the string
        return len(text)
    return sum(len(text[start:start + _SIZE_CHUNK].encode("utf-8", "surrogatepass"))
               for start in range(0, len(text), _SIZE_CHUNK))


def _as_text(source: str | bytes | Mapping[str, Any]) -> str:
    if isinstance(source, str):
        return source
    if isinstance(source, bytes | bytearray):
        try:
            return bytes(source).decode("utf-8")
        except UnicodeDecodeError as err:
            line, column = byte_position(bytes(source), err.start)
            raise PolicyError([Diagnostic("invalid-string", f"the policy is not UTF-8 text "
                                          f"(byte {err.start})", line, column, "$")]) from None
    if isinstance(source, Mapping):
        try:
            return json.dumps(source, indent=2, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as err:
            raise PolicyError([Diagnostic("invalid-type", f"the policy mapping is not JSON: {err}",
                                          1, 1, "$")]) from None
        except RecursionError:
            raise PolicyError([Diagnostic(
                "json-syntax", f"invalid JSON for a policy: nested more than {MAX_NESTING} levels "
                "deep (a policy needs five)", 1, 1, "$")]) from None
    raise PolicyError([Diagnostic("invalid-type", "a policy must be JSON text or a mapping, "
                                  f"not {type(source).__name__}", 1, 1, "$")])


class _Loader:
    def __init__(self, kind: PolicyKind) -> None:
        self.kind = kind
        self.problems: list[Diagnostic] = []
        self.locations: dict[str, Location] = {}
        self.version: str | None = None

    # -- reporting ---------------------------------------------------------------------------

    def report(self, code: str, message: str, node: JValue, path: str) -> None:
        self.problems.append(Diagnostic(code, message, node.line, node.column, path))

    def place(self, path: str, node: JValue) -> None:
        # Called for almost every element; filling the slots directly halves the cost of the
        # frozen dataclass's generated __init__ and builds the same Location.
        location: Location = _new(Location)
        _set_line(location, node.line)
        _set_column(location, node.column)
        self.locations[path] = location

    # -- document ----------------------------------------------------------------------------

    def load(self, text: str, sent: str | None = None) -> Policy | None:
        """`sent`: the document as RUM would receive it, when not `text` itself."""
        size = _utf8_size(text if sent is None else sent) if self.kind == "resource" else 0
        if size > RESOURCE_POLICY_LIMIT:
            # Refused before parsing, as PutResourcePolicy refuses it: parsing a 50 MB file
            # only to add diagnostics to this one took 20 s and a gigabyte of memory.
            self.problems.append(Diagnostic(
                "policy-too-large",
                f"the policy is {size} bytes; a RUM resource policy may be at most "
                f"{RESOURCE_POLICY_LIMIT} bytes of UTF-8", 1, 1, "$"))
            return None
        root, string_problems = parse_json(text)
        self.problems.extend(string_problems)
        if root is None:
            return None
        if not isinstance(root, JObject):
            self.report("not-an-object", "a policy must be a JSON object", root, "$")
            return None
        self.place("$", root)
        fields = self.fields(root, "$", _TOP, "policy")
        version = fields.get("Version")
        if version is not None:
            if not isinstance(version, JString):
                self.report("invalid-type", "Version must be a string", version, "$.Version")
            elif version.value not in VERSIONS:
                self.report("invalid-version", f"unknown Version '{version.value}': use "
                            "\"2012-10-17\" (or the legacy \"2008-10-17\")", version, "$.Version")
            else:
                self.version = version.value
        policy_id = self.optional_string(fields.get("Id"), "$.Id", "Id")
        statements = self.statements(root, fields.get("Statement"))
        return Policy(
            statements=statements,
            version=self.version,
            id=policy_id,
            kind=self.kind,
            text=text,
            locations=self.locations,
        )

    def fields(
        self, obj: JObject, path: str, allowed: tuple[str, ...], what: str,
        unknown_code: str = "unknown-element",
    ) -> dict[str, JValue]:
        """The object's members by name; reports duplicates and unknown names."""
        seen: dict[str, JValue] = {}
        for key, value in obj.pairs:
            member = f"{path}.{key.value}"
            if key.value in seen:
                self.report("duplicate-key", f"'{key.value}' appears twice in the {what}; "
                            "IAM does not silently keep the last one", key, member)
                continue
            seen[key.value] = value
            self.place(member, key)
            if key.value not in allowed:
                hint = next((a for a in allowed if a.lower() == key.value.lower()), None)
                advice = f"; did you mean '{hint}'?" if hint else \
                    f"; expected one of {', '.join(allowed)}"
                if self.kind == "identity" and key.value in ("Principal", "NotPrincipal"):
                    advice = "; an identity policy applies to its holder and names no Principal"
                self.report(unknown_code, f"unknown element '{key.value}' in the {what}"
                            f"{advice}", key, member)
        return seen

    def optional_string(self, node: JValue | None, path: str, name: str) -> str | None:
        if node is None:
            return None
        if not isinstance(node, JString):
            self.report("invalid-type", f"{name} must be a string", node, path)
            return None
        return node.value

    def statements(self, root: JObject, node: JValue | None) -> tuple[Statement, ...]:
        if node is None:
            self.report("missing-element", "the policy has no Statement", root, "$")
            return ()
        if isinstance(node, JObject):
            found = self.statement(node, "$.Statement")
            return (found,) if found else ()
        if not isinstance(node, JArray):
            self.report("invalid-type", "Statement must be an object or an array of objects",
                        node, "$.Statement")
            return ()
        if not node.items:
            self.report("no-statements", "Statement is an empty array: the policy says nothing",
                        node, "$.Statement")
        out = []
        for index, item in enumerate(node.items):
            path = f"$.Statement[{index}]"
            if not isinstance(item, JObject):
                self.report("invalid-type", "each statement must be a JSON object", item, path)
                continue
            found = self.statement(item, path)
            if found:
                out.append(found)
        return tuple(out)

    # -- statement ---------------------------------------------------------------------------

    def statement(self, obj: JObject, path: str) -> Statement | None:
        self.place(path, obj)
        allowed = _STATEMENT if self.kind == "resource" else tuple(
            name for name in _STATEMENT if name not in ("Principal", "NotPrincipal"))
        fields = self.fields(obj, path, allowed, "statement")
        for first, second in _PAIRS:
            if first in fields and second in fields:
                later = max((k for k, _ in obj.pairs if k.value in (first, second)),
                            key=lambda k: (k.line, k.column))
                self.report("element-conflict", f"a statement may have {first} or {second}, "
                            "not both", later, f"{path}.{later.value}")
        sid = self.optional_string(fields.get("Sid"), f"{path}.Sid", "Sid")
        effect = self.effect(obj, fields.get("Effect"), path)
        if effect == "Allow" and "NotPrincipal" in fields and "Principal" not in fields:
            key = next(k for k, _ in obj.pairs if k.value == "NotPrincipal")
            self.report("allow-with-not-principal", "NotPrincipal may only be used with "
                        "\"Effect\": \"Deny\": with Allow it would let in every caller it "
                        "does not list, anonymous ones included", key, f"{path}.NotPrincipal")
        if self.kind == "resource" and "Principal" not in fields \
                and "NotPrincipal" not in fields:
            self.report("missing-element", "a resource policy statement needs Principal "
                        "(or NotPrincipal)", obj, path)
        for first, second in _PAIRS[1:]:
            if first not in fields and second not in fields:
                self.report("missing-element", f"the statement needs {first} (or {second})",
                            obj, path)
        principal = self.principals(fields.get("Principal"), f"{path}.Principal")
        not_principal = self.principals(fields.get("NotPrincipal"), f"{path}.NotPrincipal")
        action = self.strings(fields.get("Action"), f"{path}.Action", "Action", self.check_action)
        not_action = self.strings(fields.get("NotAction"), f"{path}.NotAction", "NotAction",
                                  self.check_action)
        resource = self.strings(fields.get("Resource"), f"{path}.Resource", "Resource",
                                self.check_resource)
        not_resource = self.strings(fields.get("NotResource"), f"{path}.NotResource",
                                    "NotResource", self.check_resource)
        conditions = self.conditions(fields.get("Condition"), f"{path}.Condition")
        if effect is None:
            return None
        return Statement(
            effect=effect, sid=sid, principal=principal, not_principal=not_principal,
            action=action, not_action=not_action, resource=resource, not_resource=not_resource,
            conditions=conditions, path=path,
        )

    def effect(self, obj: JObject, node: JValue | None, path: str) -> EffectName | None:
        if node is None:
            self.report("missing-element", "the statement has no Effect", obj, path)
            return None
        if not isinstance(node, JString):
            self.report("invalid-type", "Effect must be the string \"Allow\" or \"Deny\"", node,
                        f"{path}.Effect")
            return None
        if node.value == "Allow":
            return "Allow"
        if node.value == "Deny":
            return "Deny"
        hint = {"allow": " (Effect is case-sensitive: write \"Allow\")",
                "deny": " (Effect is case-sensitive: write \"Deny\")"}.get(node.value.lower(), "")
        self.report("invalid-effect", f"Effect must be \"Allow\" or \"Deny\", not "
                    f"'{node.value}'{hint}", node, f"{path}.Effect")
        return None

    def strings(
        self, node: JValue | None, path: str, name: str,
        check: Callable[[JString, str], None] | None = None,
    ) -> tuple[str, ...] | None:
        """A string-or-array-of-strings element."""
        if node is None:
            return None
        items: list[tuple[JValue, str]]
        if isinstance(node, JArray):
            items = [(item, f"{path}[{i}]") for i, item in enumerate(node.items)]
        else:
            items = [(node, path)]
        out = []
        for item, item_path in items:
            if not isinstance(item, JString):
                self.report("invalid-type", f"{name} values must be strings", item, item_path)
                continue
            self.place(item_path, item)
            if check:
                check(item, item_path)
            out.append(item.value)
        return tuple(out)

    def check_action(self, node: JString, path: str) -> None:
        if node.value != "*" and not _ACTION.fullmatch(node.value):
            self.report("invalid-action", f"'{node.value}' is not an action: write "
                        "service:ActionName, e.g. rum:PutRumEvents", node, path)

    def check_resource(self, node: JString, path: str) -> None:
        if node.value == "*":
            return
        problem = arn_problem(node.value)
        if problem:
            self.report("invalid-arn", problem, node, path)
            return
        if self.version == "2012-10-17" and "${" in node.value:
            resource_part = node.value.split(":", 5)[5]
            if "${" in node.value[: len(node.value) - len(resource_part)]:
                self.report("invalid-variable", "policy variables may appear only in the "
                            "resource part of an ARN (after the fifth colon)", node, path)
                return
            _, bad = parse_template(resource_part)
            if bad:
                self.report("invalid-variable", f"malformed policy variable: {bad}", node, path)

    # -- principals --------------------------------------------------------------------------

    def principals(self, node: JValue | None, path: str) -> Principals | None:
        if node is None:
            return None
        self.place(path, node)
        if isinstance(node, JString):
            if node.value != "*":
                self.report("invalid-principal", f"a bare principal string must be \"*\"; write "
                            f"{{\"AWS\": \"{node.value}\"}} to name an AWS principal", node, path)
            return Principals(wildcard=True)
        if not isinstance(node, JObject):
            self.report("invalid-principal", "a principal is \"*\" or an object such as "
                        "{\"AWS\": \"arn:aws:iam::123456789012:root\"}", node, path)
            return None
        fields = self.fields(node, path, PRINCIPAL_KINDS, "principal", "invalid-principal")
        entries = []
        for kind, value in fields.items():
            if kind not in PRINCIPAL_KINDS:
                continue
            values = self.strings(value, f"{path}.{kind}", f"{kind} principal")
            entries.append((kind, values or ()))
            items = value.items if isinstance(value, JArray) else (value,)
            for index, item in enumerate(items):
                if isinstance(item, JString):
                    item_path = f"{path}.{kind}" + (f"[{index}]" if isinstance(value, JArray)
                                                    else "")
                    self.check_principal(kind, item, item_path)
        return Principals(entries=tuple(entries))

    def check_principal(self, kind: str, node: JString, path: str) -> None:
        value = node.value
        if value == "*" and kind == "AWS":
            return
        if value == "*":
            self.report("invalid-principal", f"'*' is not a valid {kind} principal: for everyone "
                        "write \"Principal\": \"*\" or {\"AWS\": \"*\"}", node, path)
            return
        if "*" in value or "?" in value:
            self.report("invalid-principal", f"'{value}': a principal cannot contain a partial "
                        "wildcard; use \"*\" alone, or a condition on aws:PrincipalArn",
                        node, path)
            return
        pattern, expected = _PRINCIPAL_FORMS[kind]
        if not pattern.fullmatch(value):
            self.report("invalid-principal", f"'{value}' is not a valid {kind} principal: "
                        f"expected {expected}", node, path)

    # -- conditions --------------------------------------------------------------------------

    def conditions(self, node: JValue | None, path: str) -> tuple[Condition, ...]:
        if node is None:
            return ()
        if not isinstance(node, JObject):
            self.report("invalid-type", "Condition must be an object of operators", node, path)
            return ()
        out: list[Condition] = []
        seen: set[str] = set()
        for op_node, block in node.pairs:
            op_path = f"{path}.{op_node.value}"
            if op_node.value in seen:
                self.report("duplicate-key", f"the operator '{op_node.value}' appears twice in "
                            "the Condition; merge its keys into one block", op_node, op_path)
                continue
            seen.add(op_node.value)
            self.place(op_path, op_node)
            operator = parse_operator(op_node.value)
            if operator is None:
                hint = suggest_operator(op_node.value)
                why = (" (Null cannot take IfExists)" if op_node.value.startswith("Null")
                       and op_node.value.endswith("IfExists") else "")
                self.report("unknown-operator", f"unknown condition operator '{op_node.value}'"
                            f"{why}" + (f"; did you mean '{hint}'?" if hint else ""),
                            op_node, op_path)
            if not isinstance(block, JObject):
                self.report("invalid-type", f"'{op_node.value}' must map condition keys to "
                            "values", block, op_path)
                continue
            keys_seen: dict[str, str] = {}
            for key_node, values_node in block.pairs:
                key_path = f"{op_path}.{key_node.value}"
                lowered = key_node.value.lower()
                if lowered in keys_seen:
                    exact = keys_seen[lowered] == key_node.value
                    self.report("duplicate-key" if exact else "invalid-condition-key",
                                f"the key '{key_node.value}' appears twice under "
                                f"'{op_node.value}'" + ("" if exact else
                                " (key names are case-insensitive)"), key_node, key_path)
                    continue
                keys_seen[lowered] = key_node.value
                self.place(key_path, key_node)
                if not _CONDITION_KEY.fullmatch(key_node.value):
                    self.report("invalid-condition-key", f"'{key_node.value}' is not a condition "
                                "key: write service:name, e.g. rum:alias or aws:SourceIp",
                                key_node, key_path)
                values = self.condition_values(values_node, key_path)
                if operator is None or values is None:
                    continue
                for value, value_node, value_path in values:
                    self.check_condition_value(operator.base.family, value, value_node,
                                               value_path)
                out.append(Condition(operator, key_node.value,
                                     tuple(v for v, _, _ in values), key_path))
        return tuple(out)

    def condition_values(
        self, node: JValue, path: str
    ) -> list[tuple[str, JValue, str]] | None:
        items = ([(item, f"{path}[{i}]") for i, item in enumerate(node.items)]
                 if isinstance(node, JArray) else [(node, path)])
        out: list[tuple[str, JValue, str]] = []
        ok = True
        for item, item_path in items:
            if isinstance(item, JString):
                out.append((item.value, item, item_path))
            elif isinstance(item, JScalar) and item.value is not None:
                out.append((item.text, item, item_path))
            else:
                self.report("invalid-type", "condition values must be strings, numbers or "
                            "booleans (or an array of them)", item, item_path)
                ok = False
            self.place(item_path, item)
        return out if ok else None

    def check_condition_value(self, family: Family, value: str, node: JValue, path: str) -> None:
        if family in (Family.STRING, Family.ARN):
            if self.version == "2012-10-17" and "${" in value:
                _, bad = parse_template(value)
                if bad:
                    self.report("invalid-variable", f"malformed policy variable: {bad}",
                                node, path)
            return
        code, reader, expected = _VALUE_READERS[family]
        if reader(value) is None:
            self.report(code, f"'{value}' is not {expected}", node, path)
