"""The audit's checks as data: what each one reports, why it matters, how to fix it, where AWS
documents the rule.

Behaviour lives in `checks/`; this table is the single place a check is described, so the text
output, SARIF rules and `docs/audit.md` can never disagree. `basis` says how a check decides:
`loader` (the policy loader rejected the text), `source` (the file holding the policy, e.g. a
CloudFormation template, could not be read), `static` (read from the policy), or `engine`
(decided by evaluating synthesized requests with `rumpolicy`'s engine).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rumpolicy.analysis.audit.findings import Severity

Basis = Literal["loader", "source", "static", "engine"]

_IAM = "https://docs.aws.amazon.com/IAM/latest/UserGuide/"
_AA = _IAM + "access-analyzer-reference-policy-checks.html"
_GRAMMAR = _IAM + "reference_policies_grammar.html"
_ELEMENTS = _IAM + "reference_policies_elements.html"
_CONDITION = _IAM + "reference_policies_elements_condition.html"
_OPERATORS = _IAM + "reference_policies_elements_condition_operators.html"
_GLOBAL_KEYS = _IAM + "reference_policies_condition-keys.html"
_MULTI = _IAM + "reference_policies_condition-single-vs-multi-valued-context-keys.html"
_VARIABLES = _IAM + "reference_policies_variables.html"
_PRINCIPAL = _IAM + "reference_policies_elements_principal.html"
_NOT_PRINCIPAL = _IAM + "reference_policies_elements_notprincipal.html"
_RESOURCE = _IAM + "reference_policies_elements_resource.html"
_ACTION = _IAM + "reference_policies_elements_action.html"
_SID = _IAM + "reference_policies_elements_sid.html"
_VERSION = _IAM + "reference_policies_elements_version.html"
_EVALUATION = _IAM + "reference_policies_evaluation-logic.html"
_RUM = ("https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/"
        "CloudWatch-RUM-resource-policies.html")
_CFN = "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
_CFN_POLICY = _CFN + "aws-properties-rum-appmonitor-resourcepolicy.html"
_CFN_INTRINSICS = _CFN + "intrinsic-function-reference.html"
_PUT_RUM_EVENTS = "https://docs.aws.amazon.com/cloudwatchrum/latest/APIReference/API_PutRumEvents.html"
_SAR = ("https://docs.aws.amazon.com/service-authorization/latest/reference/"
        "list_awscloudwatchrum.html")

_E, _S, _W, _G = Severity.ERROR, Severity.SECURITY, Severity.WARNING, Severity.SUGGESTION


@dataclass(frozen=True, slots=True)
class CheckInfo:
    id: str
    severity: Severity
    title: str
    why: str
    fix: str
    doc: str
    basis: Basis


def _loader(id: str, title: str, why: str, fix: str, doc: str = _GRAMMAR) -> CheckInfo:
    return CheckInfo(id, _E, title, why, fix, doc, "loader")


def _source(id: str, severity: Severity, title: str, why: str, fix: str, doc: str
            ) -> CheckInfo:
    return CheckInfo(id, severity, title, why, fix, doc, "source")


def _static(id: str, severity: Severity, title: str, why: str, fix: str, doc: str) -> CheckInfo:
    return CheckInfo(id, severity, title, why, fix, doc, "static")


def _engine(id: str, severity: Severity, title: str, why: str, fix: str, doc: str) -> CheckInfo:
    return CheckInfo(id, severity, title, why, fix, doc, "engine")


CHECKS: tuple[CheckInfo, ...] = (
    # -- the file is not a policy ------------------------------------------------------------
    _loader("not-a-policy", "Not a policy document",
            "The file named holds no policy: not JSON text (YAML that is not a template, a "
            "binary, an empty file), which PutResourcePolicy would reject with "
            "MalformedPolicyDocumentException, or Terraform source.",
            "Name policy documents, templates and plans (a directory walk skips other files; "
            "--force-exclude makes named files skipped alike).", _RUM),
    # -- the file holding the policy cannot be read (templates, plans) ------------------------
    _source("template-syntax", _E, "Template cannot be parsed",
            "The CloudFormation template (or Terraform plan) is not valid YAML or JSON, so "
            "neither CloudFormation nor the audit can read the resource policies in it.",
            "Fix the syntax at the place shown.", _CFN_INTRINSICS),
    _source("template-invalid", _E, "Resource policy written in a form CloudFormation rejects",
            "ResourcePolicy.PolicyDocument is a String in CloudFormation's schema; a mapping, "
            "a malformed Fn::Sub or Fn::Join, a Ref to nothing, or a malformed "
            "Metadata.rumpolicy.ignore cannot be deployed or read.",
            "Write the policy as JSON text (a block scalar, !Sub or Fn::Join of strings and "
            "Refs) and list check ids under Metadata.rumpolicy.ignore.", _CFN_POLICY),
    _source("unresolved-policy", _W, "Policy known only at deploy time",
            "The policy document depends on a value only a deployment knows (Fn::GetAtt, "
            "Fn::ImportValue, Fn::If, a resource's name, a parameter without a value, a plan's "
            "unknown value), so it was not audited: the audit never guesses a value.",
            "Give parameters a Default or pass --parameter NAME=VALUE, build the ARN from "
            "pseudo parameters (${AWS::Region}, ${AWS::AccountId}), or audit the deployed "
            "policy.", _CFN_INTRINSICS),
    # -- what the loader rejects (the codes `rumpolicy validate` prints) -----------------------
    _loader("json-syntax", "Invalid JSON",
            "The text cannot be parsed as JSON, so AWS rejects the whole policy.",
            "Fix the JSON at the place shown (a missing comma, quote or bracket)."),
    _loader("invalid-string", "Invalid string",
            "A string holds a raw control character, a bad escape or invalid Unicode.",
            "Escape control characters (\\n, \\t) and use valid \\uXXXX escapes."),
    _loader("not-an-object", "Policy is not an object",
            "A policy document is a JSON object with Version and Statement.",
            "Wrap the statements in {\"Version\": \"2012-10-17\", \"Statement\": [...]}."),
    _loader("duplicate-key", "Duplicate JSON key",
            "A key written twice in one object is ambiguous; silently keeping the last one could "
            "drop a Deny.", "Merge the two entries into one."),
    _loader("unknown-element", "Unknown policy element",
            "IAM rejects element names it does not know; names are case-sensitive.",
            "Use Version, Id, Statement, and in a statement Sid, Effect, Principal, "
            "NotPrincipal, Action, NotAction, Resource, NotResource, Condition.", _ELEMENTS),
    _loader("element-conflict", "Element and its Not form together",
            "A statement may have Principal or NotPrincipal, Action or NotAction, Resource or "
            "NotResource, never both (Access Analyzer: unsupported element combination).",
            "Keep one of the two elements.", _AA),
    _loader("allow-with-not-principal", "Allow with NotPrincipal",
            "NotPrincipal may only be used with Deny (IAM NotPrincipal page): an Allow with it "
            "would let in every caller it does not list, anonymous ones included, so the "
            "policy is refused like PutResourcePolicy's MalformedPolicyDocumentException.",
            "Use \"Principal\" with the callers to allow, or Principal \"*\" with conditions.",
            _NOT_PRINCIPAL),
    _loader("missing-element", "Missing required element",
            "A resource policy statement needs Effect, Principal, Action and Resource (or their "
            "Not forms); the policy needs Statement.",
            "Add the missing element.", _AA),
    _loader("no-statements", "Empty Statement array",
            "A policy whose Statement is [] grants and denies nothing.",
            "Add the statements the policy should hold, or delete the policy.", _AA),
    _loader("invalid-type", "Wrong JSON type",
            "An element has a JSON type IAM does not accept there (a number for Effect, an "
            "object for Action, ...).", "Use the type the element takes (see the message)."),
    _loader("invalid-version", "Invalid Version",
            "Only \"2012-10-17\" and \"2008-10-17\" are versions of the policy language.",
            "Write \"Version\": \"2012-10-17\".", _VERSION),
    _loader("invalid-effect", "Invalid Effect",
            "Effect is \"Allow\" or \"Deny\", case-sensitively.",
            "Write \"Allow\" or \"Deny\".", _ELEMENTS),
    _loader("invalid-action", "Invalid action",
            "An action is service:ActionName; anything else can never match a request.",
            "Write rum:PutRumEvents.", _ACTION),
    _loader("invalid-arn", "Invalid ARN",
            "A Resource must be \"*\" or an ARN arn:partition:service:region:account:resource "
            "with a 12-digit account (Access Analyzer: invalid ARN prefix, field, account, "
            "Region or service case).",
            "Write the app monitor's ARN: arn:aws:rum:REGION:ACCOUNT:appmonitor/NAME.", _RESOURCE),
    _loader("invalid-variable", "Malformed policy variable",
            "A ${...} variable is empty, unclosed, has a space in its name or an unquoted "
            "default, or stands where variables are not allowed.",
            "Write ${service:key} or ${service:key, 'default'}, only after the fifth colon of an "
            "ARN or in String/ARN condition values.", _VARIABLES),
    _loader("invalid-principal", "Invalid principal",
            "A principal is \"*\" or an object of AWS, Service, Federated or CanonicalUser "
            "entries; partial wildcards and malformed ARNs never match anyone.",
            "Write \"*\" or {\"AWS\": \"arn:aws:iam::123456789012:role/NAME\"}.", _PRINCIPAL),
    _loader("unknown-operator", "Unknown condition operator",
            "IAM rejects operators it does not know; operator names are case-sensitive.",
            "Use an operator from the IAM condition operator list (the message suggests one).",
            _OPERATORS),
    _loader("invalid-condition-key", "Invalid condition key",
            "A condition key is service:name; the same key twice in different case under one "
            "operator is ambiguous (Access Analyzer: duplicate keys with different case).",
            "Write keys as service:name, each once per operator.", _CONDITION),
    _loader("invalid-number", "Invalid number",
            "Numeric operators compare integers or decimals; anything else never compares.",
            "Write a number such as 10 or 2.5.", _OPERATORS),
    _loader("invalid-date", "Invalid date",
            "Date operators take W3C ISO 8601 dates with a zone or epoch seconds.",
            "Write 2026-12-01 or 2026-12-01T00:00:00Z.", _OPERATORS),
    _loader("invalid-bool", "Invalid boolean",
            "Bool and Null compare with true or false only.", "Write \"true\" or \"false\".",
            _OPERATORS),
    _loader("invalid-cidr", "Invalid IP address or range",
            "IpAddress and NotIpAddress take IPv4/IPv6 addresses or CIDR blocks.",
            "Write a CIDR block such as 203.0.113.0/24.", _OPERATORS),
    _loader("invalid-base64", "Invalid base64 value",
            "BinaryEquals compares against base64-encoded bytes.",
            "Base64-encode the value.", _OPERATORS),
    _loader("policy-too-large", "Policy over 4 KB",
            "RUM accepts resource policies up to 4 KB (read as 4096 bytes of UTF-8); "
            "PutResourcePolicy fails with PolicySizeLimitExceededException.",
            "Merge statements, drop redundant ones, or shorten Sids and whitespace.", _RUM),
    _loader("null-with-if-exists", "Null with IfExists",
            "Null tests whether a key is present; IfExists cannot be attached to it (Access "
            "Analyzer: Null with if exists).", "Write \"Null\" without IfExists.", _OPERATORS),
    _loader("variable-unsupported-for-operator", "Variable in a typed condition value",
            "Policy variables are substituted only in String and ARN condition values; a "
            "variable under a Numeric, Date, Bool, Binary, IP or Null operator is an invalid "
            "value (Access Analyzer: invalid variable for operator).",
            "Use a literal value, or a String/ARN operator.", _VARIABLES),
    _loader("variable-unsupported-in-element", "Variable where variables are not allowed",
            "Variables are allowed only in the resource part of an ARN (after the fifth colon) "
            "and in condition values (Access Analyzer: variable unsupported in element).",
            "Write the literal value.", _VARIABLES),
    # -- non-functional parts a loaded policy still has (Access Analyzer ERROR class) ----------
    _static("variable-unsupported-in-version", _E, "Variable under an old Version",
            "Without \"Version\": \"2012-10-17\" IAM does not substitute ${...}: the text is "
            "compared literally and never matches what was meant (Access Analyzer: variable "
            "unsupported in version).", "Add \"Version\": \"2012-10-17\".", _VARIABLES),
    _static("unknown-global-condition-key", _E, "Unknown global condition key",
            "An aws: key IAM does not define is never in a request: positive operators on it "
            "are always false and negated ones always true (Access Analyzer: invalid global "
            "condition key).", "Use a documented global key (the message suggests one).",
            _GLOBAL_KEYS),
    _static("unknown-rum-condition-key", _E, "Unknown rum: condition key",
            "rum:alias is the only service key RUM documents for PutRumEvents; any other rum: "
            "key is never in a request (Access Analyzer: invalid service condition key).",
            "Use rum:alias, or a global aws: key.", _RUM),
    _static("alias-key-typo", _E, "Likely typo of rum:alias",
            "The key looks like rum:alias but is not it, so the condition never reads the "
            "request's Alias.", "Write rum:alias.", _RUM),
    _static("foreign-condition-key", _E, "Condition key of another service",
            "A PutRumEvents request carries only global aws: keys and rum:alias; another "
            "service's key is never present.", "Use rum:alias or a global aws: key.", _RUM),
    _static("type-mismatch", _E, "Operator cannot read the key's type",
            "A typed operator (Numeric, Date, Bool, Binary, IpAddress, Arn) on a key of another "
            "type can never read the request value, so the condition never holds for an Allow "
            "and always holds for a Deny (Access Analyzer: type mismatch).",
            "Use the operator family of the key's type (the message names it).", _GLOBAL_KEYS),
    _static("missing-qualifier", _E, "Multivalued key without ForAnyValue/ForAllValues",
            "A plain operator on a multivalued key cannot decide a set of values (Access "
            "Analyzer: missing qualifier).", "Prefix the operator with ForAnyValue: (usually).",
            _MULTI),
    _static("duplicate-sid", _E, "Sids are not unique",
            "IAM requires each Sid to be unique within a policy (Access Analyzer: unique Sids "
            "required).", "Rename one of the statements.", _SID),
    _static("invalid-sid", _E, "Sid with unsupported characters",
            "IAM Sids take ASCII letters and digits only (Access Analyzer: unsupported Sid).",
            "Remove spaces, dashes and other characters from the Sid.", _SID),
    _static("empty-array", _E, "Empty array",
            "An empty Action, Resource, Principal or condition-value array makes the element "
            "match nothing (or, for NotAction/NotResource/NotPrincipal and negated operators, "
            "everything): that part of the policy cannot do what it reads as (Access Analyzer: "
            "empty array ...).", "Fill the array or remove the element.", _AA),
    _static("unknown-action", _E, "Action that does not exist",
            "No AWS action matches the name, so the entry never matches a request (Access "
            "Analyzer: invalid action / invalid service).",
            "Write rum:PutRumEvents (the message suggests the nearest action).", _SAR),
    _static("unsupported-action", _E, "Action an app-monitor policy cannot grant",
            "An app-monitor resource policy supports only rum:PutRumEvents; an entry that covers "
            "no such action never takes effect (Access Analyzer: unsupported action in policy).",
            "Write rum:PutRumEvents; grant management actions with identity policies.", _RUM),
    _static("resource-not-app-monitor", _E, "Resource is not an app monitor",
            "The policy is attached to an app monitor; a Resource that cannot match any "
            "app-monitor ARN (another service, another resource type, a name RUM forbids) never "
            "applies (Access Analyzer: unsupported resource ARN in policy).",
            "Write arn:aws:rum:REGION:ACCOUNT:appmonitor/NAME.", _SAR),
    _engine("resource-not-monitor", _E, "Resource does not match the monitor",
            "With --monitor, the engine decides a request for that monitor: a statement whose "
            "Resource does not match it never applies to the monitor the policy is attached to.",
            "Write the monitor's ARN (or a pattern that covers it) in Resource.", _RESOURCE),
    _engine("cross-account-principal", _E, "Principal from another account",
            "RUM resource policies do not support cross-account access: the engine decides a "
            "request from that principal as denied whatever the statement says.",
            "Remove the principal; let the other account send through its own app monitor or a "
            "role in this account.", _RUM),
    _static("private-ip-only", _E, "IP condition names only private ranges",
            "aws:SourceIp is the caller's public address: IpAddress on private ranges never "
            "matches and NotIpAddress on them always does (Access Analyzer: private IP "
            "address / private NotIpAddress).",
            "Use the public ranges your users or NAT gateways come from.", _AA),
    _engine("alias-value-never-matches", _E, "Alias value that can never match",
            "PutRumEvents takes an Alias of 1 to 255 characters and compares it case-sensitively "
            "under StringEquals/StringLike: a longer or empty value, or a case variant the "
            "policy never admits, matches no request that could otherwise get in.",
            "Write the alias exactly as the web client sends it.", _PUT_RUM_EVENTS),
    # -- grants more than intended (Access Analyzer SECURITY_WARNING class) -------------------
    _engine("alias-allows-missing", _S, "Allow lets requests without an alias through",
            "The engine allows a request that carries no Alias: IfExists, ForAllValues: and "
            "negated operators are true when rum:alias is absent, so the alias restriction "
            "does not hold.",
            "Use plain StringEquals/StringLike on rum:alias (they are false when the key is "
            "absent).", _OPERATORS),
    _engine("alias-matches-any", _S, "Alias condition matches every alias",
            "The engine lets in every alias tried (random, case variants, the policy's own "
            "values): the pattern does not restrict who may send.",
            "List the aliases your releases use, e.g. StringLike [\"shop-v2\", \"canary-*\"].",
            _OPERATORS),
    _engine("deny-alias-evadable", _S, "Deny of an alias is evaded without it or in another case",
            "The engine denies the listed alias but allows the same request when it sends no "
            "Alias or the alias in another case: a Deny on a present value is false when the "
            "key is absent, and StringEquals is case-sensitive.",
            "Deny what is not allowed instead (StringNotEquals on the allowed aliases, which is "
            "also true when the alias is absent), or use StringEqualsIgnoreCase.", _OPERATORS),
    _engine("public-ingestion", _S, "Anyone may send events",
            "The engine allows an anonymous request with a random alias, from a random public "
            "address and any referer: anyone who finds the app monitor id can write data.",
            "Restrict the Allow with rum:alias, aws:SourceIp or aws:referer conditions.", _RUM),
    _static("for-all-values-single-valued", _S, "ForAllValues on a single-valued key in an Allow",
            "ForAllValues: is true when the key is absent, so the Allow holds for requests "
            "without the key (Access Analyzer: ForAllValues with single valued key).",
            "Drop the ForAllValues: qualifier.", _MULTI),
    # -- best practice (Access Analyzer WARNING class) -----------------------------------------
    _static("missing-version", _W, "Missing Version",
            "Without Version IAM uses the 2008-10-17 language: policy variables are not "
            "substituted (Access Analyzer: missing version).",
            "Add \"Version\": \"2012-10-17\".", _VERSION),
    _static("wildcard-without-like", _W, "Wildcard under a non-Like operator",
            "Under StringEquals and the other non-Like string operators * and ? are literal "
            "characters, so the value matches only itself (Access Analyzer: wildcard without "
            "like operator).", "Use StringLike (or StringNotLike).", _OPERATORS),
    _static("date-two-readings", _W, "A four-digit date value",
            "Date values are W3C dates or epoch seconds, so \"2027\" is both the year 2027 "
            "and 2,027 seconds after 1970; the engine decides such a comparison only where "
            "both readings agree (docs/semantics.md), which is rarely what was meant.",
            "Write the full date (\"2027-01-01T00:00:00Z\") or epoch seconds with a fraction "
            "(\"2027.0\").", _OPERATORS),
    _static("string-operator-on-typed-key", _W, "String operator on a typed key",
            "A String operator on an IP, date, number or boolean key compares text: "
            "\"203.0.113.0/24\" never equals an address (Access Analyzer: type mismatch).",
            "Use the operator family of the key's type (the message names it).", _GLOBAL_KEYS),
    _static("action-wildcard", _W, "Action wildcard covers more than PutRumEvents",
            "An app-monitor policy takes effect only for rum:PutRumEvents; an Allow whose "
            "wildcard also covers other actions reads as a broader grant than any that can work.",
            "Write rum:PutRumEvents.", _RUM),
    _static("allow-with-not-action-or-resource", _W, "Allow with NotAction or NotResource",
            "NotAction/NotResource in an Allow grant everything not listed, including actions "
            "and monitors added later.", "List what is allowed with Action and Resource.", _ACTION),
    _engine("redundant-statement", _W, "Statement never changes a decision",
            "Probe-based: on requests synthesized from the policy's own principals, resources "
            "and condition values, the engine decides every request the same with and without "
            "the statement. A redundant Allow suggests access that is not there.",
            "Delete the statement, or fix what keeps it from applying.", _EVALUATION),
    # -- style (Access Analyzer SUGGESTION class) ---------------------------------------------
    _static("empty-sid", _G, "Empty Sid",
            "An empty Sid names nothing (Access Analyzer: empty Sid value).",
            "Remove the Sid or give it a name.", _SID),
    _static("improve-ip-range", _G, "IP range with host bits set",
            "IAM ignores bits after the prefix: 203.0.113.7/24 means 203.0.113.0/24 (Access "
            "Analyzer: improve IP range).", "Write the network address of the range.",
            _OPERATORS),
    _static("private-ip-subset", _G, "Private range among public ones",
            "A private range in an aws:SourceIp condition never matches a caller's public "
            "address (Access Analyzer: private IP address subset).",
            "Remove the private range.", _AA),
    _static("null-with-qualifier", _G, "Null with ForAnyValue/ForAllValues",
            "ForAllValues:Null is always true and ForAnyValue:Null always false (Access "
            "Analyzer: null with qualifier).", "Write Null without a qualifier.", _OPERATORS),
)

CATALOGUE: dict[str, CheckInfo] = {info.id: info for info in CHECKS}
"""Check id -> description, in the order the documentation lists them."""


def info(check_id: str) -> CheckInfo:
    """The catalogue entry; a loader code the catalogue does not know yet is an error check."""
    found = CATALOGUE.get(check_id)
    if found is None:
        return CheckInfo(check_id, Severity.ERROR, "Policy rejected",
                         "The policy loader rejected this part of the policy.",
                         "Fix the element at the place shown.", _GRAMMAR, "loader")
    return found


def markdown_table() -> str:
    """The catalogue as the Markdown table in docs/audit.md (a test keeps the two equal)."""
    rows = ["| id | severity | how | title | why it matters | how to fix |",
            "|---|---|---|---|---|---|"]
    for check in CHECKS:
        cells = [f"[`{check.id}`]({check.doc})", check.severity.value, check.basis,
                 check.title, check.why, check.fix]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)
