"""What one MetricDefinitionRequest must be beyond botocore's model: the rules of the CloudWatch
RUM API Reference (MetricDefinitionRequest, MetricDefinition) and of the user guide ("Custom
metrics and extended metrics that you can send to CloudWatch and CloudWatch Evidently").

A definition is checked on its own, so that BatchCreateRumMetricDefinitions can report each
bad entry in its `Errors` and still create the others. `check` answers every problem of the
entry in the validator's terms (where, value, constraint); for a good entry, its canonical form
(what "the same definition" means) and its weight (what it counts toward a destination's quota
of 2000). Where the documents leave a reading open, the stricter one is taken and listed in
docs/semantics.md ("The gate").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from rumpolicy.gate.api import Problem
from rumpolicy.gate.errors import GateError
from rumpolicy.gate.validation import parse_object

CLOUDWATCH = "CloudWatch"
EVIDENTLY = "Evidently"
RUM_NAMESPACE = "AWS/RUM"
"""Where extended metrics go; a definition with no Namespace is an extended metric too."""

Path = tuple[str, ...]
"""A field of a RUM event, `event_details.duration` as ('event_details', 'duration')."""


@dataclass(frozen=True, slots=True)
class Extended:
    """The one combination of ValueKey and EventPattern the API Reference allows a name."""

    value_key: str | None
    pattern: Mapping[str, Any]
    """What the EventPattern must include; it may add only the fields DimensionKeys use."""
    evidently: bool = False
    """Whether the user guide lets the metric go to Evidently."""


def _events(kind: str, **details: Any) -> dict[str, Any]:
    pattern: dict[str, Any] = {"event_type": [f"com.amazon.rum.{kind}"]}
    if details:
        pattern["event_details"] = details
    return pattern


_NAVIGATION = "performance_navigation_event"
EXTENDED: Mapping[str, Extended] = {
    "PerformanceNavigationDuration": Extended("event_details.duration", _events(_NAVIGATION),
                                              evidently=True),
    "PerformanceResourceDuration": Extended("event_details.duration",
                                            _events("performance_resource_event"),
                                            evidently=True),
    "NavigationSatisfiedTransaction": Extended(None, _events(
        _NAVIGATION, duration=[{"numeric": [">", 2000]}])),
    "NavigationToleratedTransaction": Extended(None, _events(
        _NAVIGATION, duration=[{"numeric": [">=", 2000, "<", 8000]}])),
    "NavigationFrustratedTransaction": Extended(None, _events(
        _NAVIGATION, duration=[{"numeric": [">=", 8000]}])),
    "WebVitalsCumulativeLayoutShift": Extended("event_details.value",
                                               _events("cumulative_layout_shift_event"),
                                               evidently=True),
    "WebVitalsFirstInputDelay": Extended("event_details.value",
                                         _events("first_input_delay_event"), evidently=True),
    "WebVitalsLargestContentfulPaint": Extended("event_details.value",
                                                _events("largest_contentful_paint_event"),
                                                evidently=True),
    "JsErrorCount": Extended(None, _events("js_error_event")),
    "HttpErrorCount": Extended(None, _events("http_event")),
    "SessionCount": Extended(None, _events("session_start_event")),
    "PageViewCount": Extended(None, _events("page_view_event")),
    "Http4xxCount": Extended(None, _events(
        "http_event", response={"status": [{"numeric": [">=", 400, "<", 500]}]})),
    "Http5xxCount": Extended(None, _events(
        "http_event", response={"status": [{"numeric": [">=", 500, "<=", 599]}]})),
}
"""MetricDefinitionRequest in the API Reference (its list of 14 names; the `Name` member lists
only the first 11). Only five may go to Evidently (user guide, "Extended metrics")."""

EXTENDED_DIMENSIONS: Mapping[str, str] = {
    "metadata.pageId": "PageId",
    "metadata.browserName": "BrowserName",
    "metadata.deviceType": "DeviceType",
    "metadata.osName": "OSName",
    "metadata.countryCode": "CountryCode",
    "event_details.fileType": "FileType",
}
"""The only DimensionKeys entries an extended metric may have (MetricDefinitionRequest)."""

EVENT_FIELDS = frozenset((
    "account_id", "application_Id", "application_version", "application_name", "batch_id",
    "event_details", "event_id", "event_interaction", "event_timestamp", "event_type",
    "event_version", "log_stream", "metadata", "sessionId", "user_details", "userId"))
"""The first-level keys a custom metric's ValueKey, EventPattern and DimensionKeys may use."""

BUILT_IN_DETAILS: Mapping[str, frozenset[str]] = {
    f"com.amazon.rum.{kind}": frozenset(fields.split()) for kind, fields in {
        "session_start_event": "version",
        "page_view_event": "interaction pageId pageInteractionId parentPageInteractionId "
                           "referrer referrerDomain timeOnParentPage version",
        "page_close_event": "duration interaction pageId pageInteractionId version",
        "performance_navigation_event":
            "compressionRatio connect connectStart dns domComplete domContentLoaded "
            "domContentLoadedEventStart domInteractive domProcessingTime domainLookupStart "
            "duration fetchStart headerSize initiatorType loadEventStart loadEventTime "
            "navigationTimingLevel navigationType nextHopProtocol promptForUnload redirectCount "
            "redirectStart redirectTime requestStart responseStart responseTime "
            "secureConnectionStart startTime timeToFirstByte tlsTime transferSize "
            "unloadEventStart version workerStart workerTime",
        "performance_resource_event":
            "compressionRatio connect connectStart dns domainLookupStart duration fetchStart "
            "fileType headerSize initiatorType nextHopProtocol redirectStart redirectTime "
            "requestStart responseStart responseTime secureConnectionStart startTime targetUrl "
            "timeToFirstByte tlsTime transferSize version workerStart workerTime",
        "js_error_event": "colno filename lineno message stack type version",
        "http_event": "error request response segment_id trace_id version",
        "dom_event": "cssLocator element elementId event interactionId version",
        "cumulative_layout_shift_event": "attribution value version",
        "first_input_delay_event": "attribution value version",
        "largest_contentful_paint_event": "attribution value version",
        "first_contentful_paint_event": "attribution value version",
        "interaction_to_next_paint_event": "attribution value version",
        "time_to_first_byte_event": "attribution value version",
        "time_to_interactive_event": "value version",
        "rrweb_event": "eventCount events version",
    }.items()}
"""The built-in event types and the fields of their `event_details`, from aws-rum-web's event
schemas (packages/core/src/event-schemas, every one `additionalProperties: false`). A custom
metric's `event_details` must be fields of the built-in `event_type` it filters on
(MetricDefinitionRequest: "a value for event_details that corresponds to that event_type")."""


@cache
def cloudwatch_units() -> frozenset[str]:
    """CloudWatch's StandardUnit values, read from botocore's CloudWatch model: what UnitLabel
    names ("The CloudWatch metric unit to use for this metric")."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("cloudwatch")
    return frozenset(model.shape_for("StandardUnit").enum)


@dataclass(frozen=True, slots=True)
class Checked:
    """One definition, checked."""

    problems: tuple[Problem, ...]
    canonical: str = ""
    """The definition as "the same definition" compares it (empty when it has problems)."""
    weight: int = 0
    """What it counts toward its destination's quota: one per dimension value it names."""


def check(entry: Mapping[str, Any], destination: str, where: Sequence[str | int]) -> Checked:
    """Every problem of `entry` (already valid against the model) for a `destination`, each
    placed under `where` (`MetricDefinitions[3]`); for a good entry its canonical form and
    weight."""
    problems: list[Problem] = []

    def problem(member: str, value: Any, constraint: str) -> None:
        problems.append(((*where, member), value, constraint))

    pattern = _pattern(entry.get("EventPattern"), problem)
    dimensions: Mapping[str, str] = entry.get("DimensionKeys") or {}
    extended = entry.get("Namespace", RUM_NAMESPACE) == RUM_NAMESPACE
    if destination == EVIDENTLY:
        if dimensions:
            problem("DimensionKeys", dimensions, "Member must be absent when Destination is "
                    "Evidently: DimensionKeys apply only to metrics sent to CloudWatch")
            dimensions = {}
        if "UnitLabel" in entry:
            problem("UnitLabel", entry["UnitLabel"], "Member must be absent when Destination "
                    "is Evidently: UnitLabel applies only to metrics sent to CloudWatch")
    if "UnitLabel" in entry and entry["UnitLabel"] not in cloudwatch_units():
        problem("UnitLabel", entry["UnitLabel"], "Member must be a CloudWatch unit: "
                + ", ".join(sorted(cloudwatch_units())))
    names = list(dimensions.values())
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        problem("DimensionKeys", dimensions, f"Member must name each dimension once: "
                f"{', '.join(repeated)} is given to more than one field")
    if extended:
        _check_extended(entry, destination, pattern, dimensions, problem)
    else:
        _check_custom(entry, pattern, dimensions, problem)
    weight = 0
    for field in dimensions:
        values = _at(pattern, tuple(field.split("."))) if pattern is not None else None
        if not isinstance(values, list):
            problem("DimensionKeys", field, "Member must name fields the EventPattern filters "
                    "on: every dimension must also be in EventPattern")
        else:
            weight += len(values)
    if problems:
        return Checked(tuple(problems))
    return Checked((), _canonical(entry, pattern, extended), max(weight, 1))


_Report = Callable[[str, Any, str], None]
"""problem(member, value, constraint): records one problem of the entry."""


def _pattern(text: str | None, problem: _Report) -> dict[str, Any] | None:
    """EventPattern as a JSON object of an event pattern's shape, or None (absent or bad)."""
    if text is None:
        return None
    try:
        pattern = parse_object(text, "Member")
    except GateError as err:  # "Member is not valid JSON: ...", "Member must be a JSON object"
        problem("EventPattern", text, err.message)
        return None
    shapeless = _shapeless(pattern, ())
    if shapeless is not None:
        problem("EventPattern", text, f"Member must be an event pattern, each field an object "
                f"or an array of values: {'.'.join(shapeless) or 'the pattern'} is neither, "
                f"or is empty")
        return None
    return pattern


def _shapeless(node: Any, path: Path) -> Path | None:
    """The first field of an event pattern that is not a non-empty object or array."""
    if isinstance(node, list):
        return None if node else path
    if not isinstance(node, dict) or not node:
        return path
    for key, child in node.items():
        found = _shapeless(child, (*path, key))
        if found is not None:
            return found
    return None


def _check_extended(entry: Mapping[str, Any], destination: str, pattern: dict[str, Any] | None,
                    dimensions: Mapping[str, str], problem: _Report) -> None:
    name = entry["Name"]
    rule = EXTENDED.get(name)
    if rule is None:
        problem("Name", name, f"Member must be an extended metric name when Namespace is "
                f"absent or {RUM_NAMESPACE} ({', '.join(EXTENDED)}); a custom metric needs a "
                f"Namespace of its own")
        return
    if destination == EVIDENTLY and not rule.evidently:
        problem("Name", name, "Member must be one of the extended metrics Evidently receives: "
                + ", ".join(n for n, r in EXTENDED.items() if r.evidently))
    if entry.get("ValueKey") != rule.value_key:
        wanted = "absent" if rule.value_key is None else f"'{rule.value_key}'"
        problem("ValueKey", entry.get("ValueKey"), f"Member must be {wanted} for {name}")
    for field, dimension in dimensions.items():
        if EXTENDED_DIMENSIONS.get(field) != dimension:
            problem(f"DimensionKeys.{field}", dimension, "Member must be one of the extended "
                    "metric dimensions: " + ", ".join(f"{k}: {v}"
                                                       for k, v in EXTENDED_DIMENSIONS.items()))
    if "EventPattern" not in entry:
        problem("EventPattern", None, f"Member must not be null for the extended metric {name}")
    if pattern is None:
        return
    required = dict(_leaves(rule.pattern, ()))
    given = dict(_leaves(pattern, ()))
    used = {tuple(field.split(".")) for field in dimensions}
    wanted = json.dumps(rule.pattern, separators=(",", ":"))
    for path, values in required.items():
        if path not in given or _canonical_json(given[path]) != _canonical_json(values):
            problem("EventPattern", entry["EventPattern"], f"Member must include {wanted} for "
                    f"{name}")
            return
    extra = [path for path in given if path not in required and path not in used]
    if extra:
        problem("EventPattern", entry["EventPattern"], f"Member may add to {wanted} only the "
                f"fields its DimensionKeys use; {'.'.join(extra[0])} is not one")


def _check_custom(entry: Mapping[str, Any], pattern: dict[str, Any] | None,
                  dimensions: Mapping[str, str], problem: _Report) -> None:
    namespace = entry["Namespace"]
    if namespace.startswith("AWS/"):
        problem("Namespace", namespace, f"Member must not start with AWS/ for a custom metric "
                f"({entry['Name']} is not an extended metric)")
    fields = [("ValueKey", entry["ValueKey"])] if "ValueKey" in entry else []
    fields += [(f"DimensionKeys.{key}", key) for key in dimensions]
    fields += [("EventPattern", key) for key in (pattern or {})]
    for member, field in fields:
        if field.split(".")[0] not in EVENT_FIELDS:
            problem(member, field, "Member must be a field of RUM events: its first key must "
                    "be one of " + ", ".join(sorted(EVENT_FIELDS)))
    if pattern is None:
        return
    text = entry["EventPattern"]
    kinds = pattern.get("event_type")
    if kinds is not None and not isinstance(kinds, list):
        problem("EventPattern", text, "Member must give event_type as an array of values")
        kinds = None
    if "event_details" in pattern and not kinds:
        problem("EventPattern", text, "Member must give event_type when it filters on "
                "event_details")
    unnamed = [kind for kind in kinds or () if not isinstance(kind, str)]
    if "event_details" in pattern and unnamed:
        # A matcher ({"prefix": "com.amazon.rum."}) may select built-in types whose details
        # the rule below could not check: refused rather than let through unchecked.
        problem("EventPattern", text, "Member must name each event_type as a string when it "
                f"filters on event_details; {_canonical_json(unnamed[0])} is not one")
    crowded = _crowded(pattern, ())
    if crowded is not None:
        problem("EventPattern", text, f"Member must hold one value in every JSON array of a "
                f"custom metric's pattern; {'.'.join(crowded) or 'an array'} holds more")
    details = pattern.get("event_details")
    if isinstance(details, dict):
        for kind in kinds or ():
            known = BUILT_IN_DETAILS.get(kind) if isinstance(kind, str) else None
            strange = sorted(set(details) - known) if known is not None else []
            if strange:
                problem("EventPattern", text, f"Member must filter {kind} on its own "
                        f"event_details fields; {strange[0]} is not one "
                        f"({', '.join(sorted(known or ()))})")


def _crowded(node: Any, path: Path) -> Path | None:
    """The first array holding more than one value, anywhere in a pattern."""
    if isinstance(node, list):
        if len(node) > 1:
            return path
        children: Any = enumerate(node)
    elif isinstance(node, dict):
        children = node.items()
    else:
        return None
    for key, child in children:
        found = _crowded(child, (*path, key) if isinstance(key, str) else path)
        if found is not None:
            return found
    return None


def _leaves(pattern: Mapping[str, Any], path: Path) -> list[tuple[Path, list[Any]]]:
    """(field, its values) for every array of a pattern."""
    found = []
    for key, value in pattern.items():
        if isinstance(value, dict):
            found += _leaves(value, (*path, key))
        else:
            found.append(((*path, key), value))
    return found


def _at(pattern: Mapping[str, Any], path: Path) -> Any:
    node: Any = pattern
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _canonical(entry: Mapping[str, Any], pattern: dict[str, Any] | None,
               extended: bool) -> str:
    """Two definitions are the same when they say the same: an extended metric's absent
    Namespace is AWS/RUM, and EventPatterns compare as JSON (spacing, member order and 2000
    against 2000.0 do not count)."""
    same = {**entry, "EventPattern": pattern}
    if not same.get("DimensionKeys"):
        same.pop("DimensionKeys", None)
    if extended:
        same["Namespace"] = RUM_NAMESPACE
    return _canonical_json(same)


def _canonical_json(value: Any) -> str:
    return json.dumps(_integral(value), sort_keys=True, separators=(",", ":"))


def _integral(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value
