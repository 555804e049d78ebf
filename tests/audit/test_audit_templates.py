"""Policies inside CloudFormation templates (YAML with short-form tags, JSON, CDK's Fn::Join)
and Terraform plans: resolved statically, audited by the same checks, every finding placed at
the line and column of the template where the offending element is written.

CloudFormation's rules: PolicyDocument is a String (AWS::RUM::AppMonitor ResourcePolicy page of
the Template Reference); Fn::Sub substitutes pseudo parameters, parameters and its own variables,
`${!x}` writes `${x}`; Fn::Join concatenates with the delimiter (intrinsic function reference).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rumpolicy.analysis.audit import audit_file, audit_text
from rumpolicy.analysis.sources import Settings, read_text
from rumpolicy.analysis.sources.tree import Mapping, Sequence, Text, from_json, from_yaml

ROOT = Path(__file__).resolve().parents[2]
POLICY = json.loads((ROOT / "fixtures" / "audit" / "alias-allows-missing" / "trigger.json")
                    .read_text())


def _yaml_template(body: str) -> str:
    return ("AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Monitor:\n"
            "    Type: AWS::RUM::AppMonitor\n    Properties:\n      Name: shop\n"
            "      Domain: shop.example.com\n      ResourcePolicy:\n" + body)


def _where(text: str, needle: str) -> tuple[int, int]:
    """1-based line and column of the first `needle` in `text`."""
    offset = text.index(needle)
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_block_scalar_maps_line_for_line(tmp_path):
    policy = json.dumps(POLICY, indent=2)
    block = "\n".join("          " + line for line in policy.split("\n"))
    text = _yaml_template("        PolicyDocument: |\n" + block + "\n")
    findings = audit_file(_write(tmp_path, "t.yaml", text))
    direct = audit_text(policy, "p.json")
    assert [f.id for f in findings] == [f.id for f in direct] == ["alias-allows-missing"]
    assert (findings[0].line, findings[0].column) == _where(text, '"StringEqualsIfExists"')
    assert findings[0].snippet.strip().startswith('"StringEqualsIfExists"')
    assert findings[0].path == "Resources.Monitor:$.Statement[0].Condition.StringEqualsIfExists"


def test_sub_resolves_pseudo_parameters_and_parameter_defaults(tmp_path):
    text = ("Parameters:\n  App: {Type: String, Default: checkout}\n" + _yaml_template(
        "        PolicyDocument: !Sub |\n"
        '          {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",\n'
        '           "Principal": "*", "Action": "rum:PutRumEvents",\n'
        '           "Resource": "arn:${AWS::Partition}:rum:${AWS::Region}:${AWS::AccountId}'
        ':appmonitor/${App}",\n'
        '           "Condition": {"StringEquals": {"rum:alias": "${!Literal}"}}}]}\n'))
    (policy,) = read_text(text, "t.yaml", False, Settings(), ".yaml").policies
    doc = json.loads(policy.text)
    statement = doc["Statement"][0]
    assert statement["Resource"] == "arn:aws:rum:us-east-1:123456789012:appmonitor/checkout"
    assert statement["Condition"]["StringEquals"]["rum:alias"] == "${Literal}"
    china = read_text(text, "t.yaml", False, Settings("210987654321", "cn-north-1",
                                                      (("App", "shop"),)), ".yaml")
    resource = json.loads(china.policies[0].text)["Statement"][0]["Resource"]
    assert resource == "arn:aws-cn:rum:cn-north-1:210987654321:appmonitor/shop"


def test_cdk_join_with_refs_places_findings_in_the_right_part(tmp_path):
    head = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*",'
            '"Action":"rum:*","Resource":"arn:aws:rum:')
    template = {"Resources": {"Monitor": {"Type": "AWS::RUM::AppMonitor", "Properties": {
        "Name": "shop", "Domain": "x.example.com", "ResourcePolicy": {"PolicyDocument": {
            "Fn::Join": ["", [head, {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"},
                              ':appmonitor/shop","Condition":{"StringEquals":'
                              '{"rum:alias":"v2"}}}]}']]}}}}}}
    text = json.dumps(template, indent=1)
    path = _write(tmp_path, "Stack.template.json", text)
    (finding,) = [f for f in audit_file(path) if f.id == "action-wildcard"]
    line, column = _where(text, "rum:*")
    # The finding is on the Action value, which starts with its quote, escaped in the template.
    assert (finding.line, finding.column) == (line, column - 2)
    assert text.split("\n")[finding.line - 1][finding.column - 1:].startswith('\\"rum:*')


@pytest.mark.parametrize(("document", "fragment"), [
    ("!GetAtt Monitor.Id", "Fn::GetAtt is known only when the stack is deployed"),
    ("!ImportValue shared-policy", "Fn::ImportValue is known only"),
    ("!Sub '${AWS::StackName}'", "AWS::StackName is known only when the stack is deployed"),
    ("!Sub '${Other.Arn}'", "attribute (Fn::GetAtt)"),
    ("!Select [0, ['{}']]", "Fn::Select is not evaluated by this audit"),  # no deploy needed
])
def test_values_known_only_at_deploy_time_are_reported_not_guessed(tmp_path, document,
                                                                   fragment):
    text = _yaml_template(f"        PolicyDocument: {document}\n")
    (finding,) = audit_file(_write(tmp_path, "t.yaml", text))
    assert finding.id == "unresolved-policy" and finding.severity.value == "warning"
    assert fragment in finding.message
    assert finding.line == text.count("\n", 0, text.index("PolicyDocument")) + 1


_OFFICE = ('        PolicyDocument: !Sub |\n'
           '          {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",\n'
           '           "Principal": "*", "Action": "rum:PutRumEvents", "Resource": "*",\n'
           '           "Condition": {"IpAddress": {"aws:SourceIp": "VALUE"}}}]}\n')


@pytest.mark.parametrize(("parameters", "value", "fragment"), [
    ("Parameters:\n  Office: {Type: 'AWS::SSM::Parameter::Value<String>', "
     "Default: /network/office-cidr}\n", "${Office}",
     "parameter Office is read from Parameter Store when the stack is deployed"),
    ("", "{{resolve:ssm:/network/office-cidr}}",
     "{{resolve:ssm:/network/office-cidr}} is a dynamic reference"),
])
def test_values_from_parameter_store_are_unresolved_not_their_keys(tmp_path, parameters, value,
                                                                   fragment):
    """An SSM parameter's Default is the Parameter Store key and a dynamic reference is
    replaced at deploy time: audited as written, '/network/office-cidr' was reported as an
    invalid CIDR, failing CI (review)."""
    text = parameters + _yaml_template(_OFFICE.replace("VALUE", value))
    (finding,) = audit_file(_write(tmp_path, "t.yaml", text))
    assert finding.id == "unresolved-policy" and fragment in finding.message
    assert (finding.line, finding.column) == _where(text, value)
    if parameters:  # a value given on the command line is used
        given = read_text(text, "t.yaml", False, Settings(parameters=(("Office", "10.0.0.0/8"),)),
                          ".yaml")
        assert '"10.0.0.0/8"' in given.policies[0].text


def test_metadata_ignores_silence_their_checks_only(tmp_path):
    policy = json.dumps(POLICY)
    base = _yaml_template(f"        PolicyDocument: '{policy}'\n")
    plain = audit_file(_write(tmp_path, "a.yaml", base))
    silenced = base.replace("    Type: AWS::RUM::AppMonitor\n", "    Type: AWS::RUM::AppMonitor\n"
                            "    Metadata: {rumpolicy: {ignore: [alias-allows-missing]}}\n")
    assert [f.id for f in plain] == ["alias-allows-missing"]
    assert audit_file(_write(tmp_path, "b.yaml", silenced)) == []


def test_validate_honours_a_templates_metadata_ignore_too(tmp_path, capsys):
    """validate failed every template whose policy reads a GetAtt, with no way to opt out,
    where the audit let Metadata silence it (review)."""
    from rumpolicy.cli import main

    text = _yaml_template("        PolicyDocument: !GetAtt Monitor.Id\n")
    plain, silenced = _write(tmp_path, "a.yaml", text), _write(tmp_path, "b.yaml", text.replace(
        "    Type: AWS::RUM::AppMonitor\n", "    Type: AWS::RUM::AppMonitor\n"
        "    Metadata: {rumpolicy: {ignore: [unresolved-policy]}}\n"))
    assert main(["validate", str(plain)]) == 1
    assert "unresolved-policy" in capsys.readouterr().out
    assert main(["validate", str(silenced)]) == 0
    assert capsys.readouterr().out == \
        f"{silenced}: valid (1 problem ignored by the template's Metadata)\n"


def test_single_quoted_scalar_maps_columns_exactly(tmp_path):
    policy = json.dumps(POLICY)
    text = _yaml_template(f"        PolicyDocument: '{policy}'\n")
    (finding,) = audit_file(_write(tmp_path, "t.yaml", text))
    assert (finding.line, finding.column) == _where(text, '"StringEqualsIfExists"')


@pytest.mark.parametrize("tag", ["!Sub ", "!Sub   "])
def test_a_one_line_short_form_sub_maps_columns_past_its_tag(tmp_path, tag):
    """Every finding was placed on the tag (review)."""
    policy = json.dumps(POLICY)
    text = _yaml_template(f"        PolicyDocument: {tag}'{policy}'\n")
    (finding,) = audit_file(_write(tmp_path, "t.yaml", text))
    assert (finding.line, finding.column) == _where(text, '"StringEqualsIfExists"')


def test_a_literal_block_in_a_crlf_file_maps_line_for_line(tmp_path):
    """Each source line kept its \\r and matched no value line, so every finding fell back to
    the block's start (review)."""
    policy = json.dumps(POLICY, indent=2)
    block = "\n".join("          " + line for line in policy.split("\n"))
    text = _yaml_template("        PolicyDocument: |\n" + block + "\n")
    path = tmp_path / "t.yaml"
    path.write_bytes(text.replace("\n", "\r\n").encode())
    (finding,) = audit_file(path)
    assert (finding.line, finding.column) == _where(text, '"StringEqualsIfExists"')


def test_terraform_plan_policies_are_audited_at_their_place(tmp_path):
    plan = {"format_version": "1.2", "terraform_version": "1.9.0", "planned_values": {
        "root_module": {"child_modules": [{"address": "module.rum", "resources": [{
            "address": "module.rum.aws_rum_resource_policy.shop", "type": "aws_rum_resource_policy",
            "values": {"app_monitor_name": "shop", "policy_document": json.dumps(POLICY)}}]}]}}}
    text = json.dumps(plan, indent=2)
    (finding,) = audit_file(_write(tmp_path, "plan.json", text))
    assert finding.id == "alias-allows-missing"
    assert finding.path.startswith("module.rum.aws_rum_resource_policy.shop:$.Statement[0]")
    assert text.split("\n")[finding.line - 1][finding.column - 1:].startswith(
        '\\"StringEqualsIfExists')


def test_a_policy_file_is_still_audited_through_the_fast_path():
    path = ROOT / "fixtures" / "audit" / "alias-allows-missing" / "trigger.json"
    assert audit_file(path) == audit_text(path.read_text(), str(path))


_SCALARS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)


@settings(max_examples=60, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | _SCALARS,
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(_SCALARS, inner, max_size=4), max_leaves=20))
def test_json_and_yaml_trees_of_the_same_document_agree(value):
    """The JSON text and PyYAML's dump of one document give the same tree values, and every
    character of every string has a place inside the file."""
    import yaml

    def plain(node):
        if isinstance(node, Mapping):
            return {k.value: plain(v) for k, v in node.items}
        if isinstance(node, Sequence):
            return [plain(v) for v in node.items]
        return node.value

    document = {"root": value}
    as_json = json.dumps(document, ensure_ascii=False)
    as_yaml = yaml.safe_dump(document, allow_unicode=True)
    json_tree, yaml_tree = from_json(as_json), from_yaml(as_yaml)
    assert plain(json_tree) == json.loads(as_json)
    assert plain(yaml_tree) == yaml.safe_load(as_yaml)
    for tree, text in ((json_tree, as_json), (yaml_tree, as_yaml)):
        lines = text.split("\n")
        stack = [tree]
        while stack:
            node = stack.pop()
            if isinstance(node, Text):
                places = node.places()
                if tree is yaml_tree and set(places) <= {(node.line, node.column)}:
                    continue  # a scalar whose characters all stand at its start (documented)
                for char, (line, column) in zip(node.value, places, strict=True):
                    source = lines[line - 1] + "\n"
                    # exact: the character itself, or the backslash of its escape
                    assert source[column - 1] in (char, "\\"), (char, line, column)
            elif isinstance(node, Mapping):
                stack.extend(v for _, v in node.items)
            elif isinstance(node, Sequence):
                stack.extend(node.items)
