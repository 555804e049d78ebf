"""Resource policies in CloudFormation templates (JSON or YAML, CDK's `cdk.out` included).

Every `AWS::RUM::AppMonitor` resource's `Properties.ResourcePolicy.PolicyDocument` (a String in
CloudFormation's schema) is resolved statically: a plain string or block scalar as written;
`Fn::Sub` with pseudo parameters, template parameters and its own variables; `Fn::Join` of
strings, `Ref`s and nested `Fn::Sub`/`Fn::Join` (what CDK's `toJsonString` synthesizes). A
value known only at deploy time (`Fn::GetAtt`, `Fn::ImportValue`, `Fn::If`, a `Ref` to a
resource or to a parameter without a value) stops the resolution and is reported at its place:
the policy is never audited with a guessed value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rumpolicy.analysis.sources.documents import PolicyText, PositionMap, Problem, Settings
from rumpolicy.analysis.sources.tree import Mapping, Node, Place, Scalar, Sequence, Text, describe

RUM_APP_MONITOR = "AWS::RUM::AppMonitor"
PSEUDO_PLACEHOLDERS = ("AWS::AccountId", "AWS::Region", "AWS::Partition", "AWS::URLSuffix")
"""Pseudo parameters resolved to the placeholder account and Region (and what follows from
the Region); the others (AWS::StackName, AWS::StackId, AWS::NotificationARNs, AWS::NoValue)
are known only at deploy time."""

_PARTITIONS = (("cn-", "aws-cn", "amazonaws.com.cn"), ("us-gov-", "aws-us-gov", "amazonaws.com"),
               ("us-isob-", "aws-iso-b", "sc2s.sgov.gov"), ("us-iso-", "aws-iso", "c2s.ic.gov"))
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class _Stop(Exception):
    """Resolution stopped at `place`: unresolvable (`code` unresolved-policy) or invalid."""

    def __init__(self, code: str, message: str, place: Place) -> None:
        super().__init__(message)
        self.code, self.message, self.place = code, message, place


_DEPLOY_TIME = frozenset({"Fn::GetAtt", "Fn::ImportValue", "Fn::GetAZs"})
"""Functions whose value depends on the deployment; the others (Fn::If, Fn::ToJsonString,
Fn::Select...) could be computed from the template, but this audit does not."""


def _unresolved(message: str, place: Place) -> _Stop:
    return _Stop("unresolved-policy", message, place)


def _invalid(message: str, place: Place) -> _Stop:
    return _Stop("template-invalid", message, place)


def is_template(root: Node) -> bool:
    """A mapping with a Resources mapping whose entries have a Type: CloudFormation's shape."""
    if not isinstance(root, Mapping):
        return False
    resources = root.get("Resources")
    return isinstance(resources, Mapping) and any(
        isinstance(r, Mapping) and isinstance(r.get("Type"), Text) for _, r in resources.items)


def partition(region: str) -> tuple[str, str]:
    """(AWS::Partition, AWS::URLSuffix) for a Region."""
    for prefix, name, suffix in _PARTITIONS:
        if region.startswith(prefix):
            return name, suffix
    return "aws", "amazonaws.com"


def template_policies(root: Mapping, file: str, lines: list[str], settings: Settings
                      ) -> tuple[list[PolicyText], list[Problem]]:
    """Every app monitor's resource policy in the template, and what kept one from being read."""
    resources = root.get("Resources")
    assert isinstance(resources, Mapping)
    resolver = _Resolver(root, settings)
    policies: list[PolicyText] = []
    problems: list[Problem] = []
    for name, resource in resources.items:
        kind = resource.get("Type") if isinstance(resource, Mapping) else None
        if not isinstance(kind, Text) or kind.value != RUM_APP_MONITOR:
            continue
        assert isinstance(resource, Mapping)
        place = f"Resources.{name.value}"
        try:
            ignore = _ignores(resource)
            document = _policy_document(resource)
            if document is None:
                continue
            text, places = resolver.resolve(document)
            _require_text(text, document)
            _no_dynamic_reference(text, places)
        except _Stop as stop:
            snippet = lines[stop.place[0] - 1] if 0 < stop.place[0] <= len(lines) else ""
            ignored = frozenset() if stop.code == "template-invalid" else _quiet_ignores(resource)
            problems.append(Problem(file, stop.code, stop.message, *stop.place, place, snippet,
                                    ignored))
            continue
        policies.append(PolicyText(file, text, place, PositionMap.of(text, places),
                                   tuple(lines), tuple(ignore)))
    return policies, problems


def _no_dynamic_reference(text: str, places: list[Place]) -> None:
    """`{{resolve:ssm:...}}` (and secretsmanager, ssm-secure) is replaced by CloudFormation at
    deploy time: audited as written, its text would be judged as if it were the value."""
    at = text.find("{{resolve:")
    if at >= 0:
        end = text.find("}}", at)
        shown = text[at:end + 2] if end >= 0 else text[at:at + 40]
        raise _unresolved(f"{shown} is a dynamic reference, replaced only when the stack is "
                          "deployed, so the policy cannot be audited from the template",
                          places[at] if at < len(places) else (1, 1))


def _require_text(text: str, document: Node) -> None:
    """An empty document (`!Sub ""`) is the template's mistake, at the PolicyDocument: read
    as a policy it would be reported as an empty file at 1:1."""
    if not text.strip():
        raise _invalid("PolicyDocument is empty: CloudFormation requires the policy as JSON "
                       "text", (document.line, document.column))


def _policy_document(resource: Mapping) -> Node | None:
    properties = resource.get("Properties")
    if properties is None:
        return None
    if not isinstance(properties, Mapping):
        raise _invalid(f"Properties must be a mapping, not {describe(properties)}",
                       (properties.line, properties.column))
    policy = properties.get("ResourcePolicy")
    if policy is None:
        return None
    if not isinstance(policy, Mapping):
        raise _invalid(f"ResourcePolicy must be a mapping with PolicyDocument, not "
                       f"{describe(policy)}", (policy.line, policy.column))
    document = policy.get("PolicyDocument")
    if document is None:
        raise _invalid("ResourcePolicy has no PolicyDocument (CloudFormation requires it)",
                       (policy.line, policy.column))
    if isinstance(document, Mapping) and not _is_intrinsic(document):
        raise _invalid("PolicyDocument is a String in CloudFormation's schema: write the policy "
                       "as JSON text (a block scalar, !Sub or Fn::Join), not as a mapping",
                       (document.line, document.column))
    return document


def _is_intrinsic(node: Mapping) -> bool:
    return len(node.items) == 1 and (node.items[0][0].value.startswith("Fn::")
                                     or node.items[0][0].value == "Ref")


def _ignores(resource: Mapping) -> list[tuple[str, Place]]:
    """`Metadata: {rumpolicy: {ignore: [CHECK-ID, ...]}}` as (id, place) pairs."""
    metadata = resource.get("Metadata")
    ours = metadata.get("rumpolicy") if isinstance(metadata, Mapping) else None
    if ours is None:
        return []
    if not isinstance(ours, Mapping):
        raise _invalid(f"Metadata.rumpolicy must be a mapping like {{ignore: [CHECK-ID]}}, not "
                       f"{describe(ours)}", (ours.line, ours.column))
    for key, _ in ours.items:
        if key.value != "ignore":
            raise _invalid(f"Metadata.rumpolicy has no setting '{key.value}' (it takes only "
                           "'ignore', a list of check ids)", (key.line, key.column))
    listed = ours.get("ignore")
    if isinstance(listed, Text):
        listed = Sequence((listed,), listed.line, listed.column)
    if not isinstance(listed, Sequence) or not all(isinstance(i, Text) for i in listed.items):
        where = listed if listed is not None else ours
        raise _invalid("Metadata.rumpolicy.ignore must be a list of check ids",
                       (where.line, where.column))
    return [(i.value, (i.line, i.column)) for i in listed.items if isinstance(i, Text)]


def _quiet_ignores(resource: Mapping) -> frozenset[str]:
    try:
        return frozenset(i for i, _ in _ignores(resource))
    except _Stop:
        return frozenset()


@dataclass(frozen=True, slots=True)
class _Resolver:
    root: Mapping
    settings: Settings

    def resolve(self, node: Node, variables: Mapping | None = None) -> tuple[str, list[Place]]:
        """The string `node` stands for, and where each of its characters comes from."""
        if isinstance(node, Text):
            return node.value, node.places()
        where = (node.line, node.column)
        if isinstance(node, Scalar | Sequence):
            raise _invalid(f"expected a string here, found {describe(node)}", where)
        if not _is_intrinsic(node):
            raise _invalid("expected a string or an intrinsic function here, found a mapping",
                           where)
        name, argument = node.items[0]
        if name.value == "Ref":
            if not isinstance(argument, Text):
                raise _invalid("Ref takes the name of a parameter or resource", where)
            value = self.reference(argument.value, where)
            return value, [where] * len(value)
        if name.value == "Fn::Sub":
            return self.substitute(argument, where)
        if name.value == "Fn::Join":
            return self.join(argument, where)
        if name.value in _DEPLOY_TIME:
            raise _unresolved(f"{name.value} is known only when the stack is deployed, so the "
                              "policy cannot be audited from the template", where)
        raise _unresolved(f"{name.value} is not evaluated by this audit (CloudFormation "
                          "evaluates it when the stack is deployed), so the policy cannot be "
                          "audited from the template", where)

    def reference(self, name: str, where: Place) -> str:
        settings = self.settings
        pseudo = {"AWS::AccountId": settings.account, "AWS::Region": settings.region,
                  "AWS::Partition": partition(settings.region)[0],
                  "AWS::URLSuffix": partition(settings.region)[1]}
        if name in pseudo:
            return pseudo[name]
        if name.startswith("AWS::"):
            raise _unresolved(f"{name} is known only when the stack is deployed", where)
        given = dict(settings.parameters)
        if name in given:
            return given[name]
        parameters = self.root.get("Parameters")
        parameter = parameters.get(name) if isinstance(parameters, Mapping) else None
        if isinstance(parameter, Mapping):
            kind = parameter.get("Type")
            if isinstance(kind, Text) and kind.value.startswith("AWS::SSM::Parameter::Value<"):
                # Its Default is the Parameter Store key, not the value the stack will use.
                raise _unresolved(f"parameter {name} is read from Parameter Store when the stack "
                                  f"is deployed: give its value with --parameter {name}=VALUE",
                                  where)
            if isinstance(kind, Text) and ("List" in kind.value):
                raise _invalid(f"parameter {name} is a list ({kind.value}), not a string", where)
            default = parameter.get("Default")
            if isinstance(default, Text):
                return default.value
            if isinstance(default, Scalar) and default.value is not None:
                return str(default.value).lower() if isinstance(default.value, bool) else str(
                    default.value)
            raise _unresolved(f"parameter {name} has no Default: give its value with "
                              f"--parameter {name}=VALUE", where)
        resources = self.root.get("Resources")
        if isinstance(resources, Mapping) and resources.get(name) is not None:
            raise _unresolved(f"Ref {name} is the resource's name or id, assigned when the stack "
                              "is deployed", where)
        raise _invalid(f"no parameter or resource named {name} in this template", where)

    def substitute(self, argument: Node, where: Place) -> tuple[str, list[Place]]:
        variables: Mapping | None = None
        if isinstance(argument, Sequence):
            given = argument.items[1] if len(argument.items) == 2 else None
            if not isinstance(given, Mapping):
                raise _invalid("Fn::Sub takes a string, or [string, {variable: value}]", where)
            argument, variables = argument.items[0], given
        if not isinstance(argument, Text):
            raise _invalid("Fn::Sub takes a string, or [string, {variable: value}]", where)
        source, places = argument.value, argument.places()
        out: list[str] = []
        out_places: list[Place] = []
        cursor = 0
        for match in _SUB_VARIABLE.finditer(source):
            out.append(source[cursor:match.start()])
            out_places.extend(places[cursor:match.start()])
            cursor = match.end()
            name = match.group(1)
            at = places[match.start()]
            if name.startswith("!"):  # ${!Literal} is written out as ${Literal}
                literal = "${" + name[1:] + "}"
                out.append(literal)
                out_places.extend([at] * len(literal))
                continue
            value_node = variables.get(name) if variables is not None else None
            if value_node is not None:
                value, value_places = self.resolve(value_node)
            elif "." in name and not name.startswith("AWS::"):
                raise _unresolved(f"${{{name}}} is an attribute (Fn::GetAtt), known only when "
                                  "the stack is deployed", at)
            else:
                value = self.reference(name, at)
                value_places = [at] * len(value)
            out.append(value)
            out_places.extend(value_places)
        out.append(source[cursor:])
        out_places.extend(places[cursor:])
        return "".join(out), out_places

    def join(self, argument: Node, where: Place) -> tuple[str, list[Place]]:
        if (not isinstance(argument, Sequence) or len(argument.items) != 2
                or not isinstance(argument.items[0], Text)):
            raise _invalid("Fn::Join takes [delimiter, [values...]]", where)
        delimiter, values = argument.items
        assert isinstance(delimiter, Text)
        if not isinstance(values, Sequence):
            raise _unresolved("Fn::Join of a list known only at deploy time", where)
        out: list[str] = []
        out_places: list[Place] = []
        for index, value in enumerate(values.items):
            if index:
                out.append(delimiter.value)
                out_places.extend(delimiter.places())
            text, places = self.resolve(value)
            out.append(text)
            out_places.extend(places)
        return "".join(out), out_places
