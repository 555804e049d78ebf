"""The metrics operations, in process and over HTTP: destinations (CloudWatch, Evidently) and
metric definitions (extended and custom), as the CloudWatch RUM API Reference and user guide
define them. Sources: API Reference PutRumMetricsDestination, BatchCreateRumMetricDefinitions,
MetricDefinitionRequest, MetricDefinition, MetricDestinationSummary, BatchDelete/BatchGet/
UpdateRumMetricDefinition(s); user guide "Custom metrics and extended metrics that you can send
to CloudWatch and CloudWatch Evidently"; choices where they are silent: docs/semantics.md."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rumpolicy.gate import Gate, GateError
from rumpolicy.testing.gate_fixture import GateServer, start_gate_server

from ._helpers import NOW

CW: dict[str, Any] = {"Destination": "CloudWatch"}
EXPERIMENT = "arn:aws:evidently:us-east-1:123456789012:project/shop/experiment/checkout"
ROLE = "arn:aws:iam::123456789012:role/rum-to-evidently"
EV: dict[str, Any] = {"Destination": "Evidently", "DestinationArn": EXPERIMENT}
RUM = "com.amazon.rum."


def pattern(**fields: Any) -> str:
    return json.dumps(fields)


def events(kind: str, **fields: Any) -> str:
    """An EventPattern on one built-in event type."""
    return pattern(event_type=[RUM + kind], **fields)


CUSTOM: dict[str, Any] = {
    "Name": "AmazonVisitsCount", "Namespace": "PageVisit",
    "ValueKey": "event_details.visit_count", "UnitLabel": "Count",
    "DimensionKeys": {"event_details.current_url": "URL"},
    "EventPattern": pattern(metadata={"browserName": ["Chrome"]},
                            event_type=["my_custom_event"],
                            event_details={"current_url": ["amazonaws.com"]})}
"""The user guide's custom metric ("Custom metrics")."""

# The API Reference's combinations (MetricDefinitionRequest), written out from its text; its
# NavigationToleratedTransaction misses a comma and its Http4xx/5xx have a stray brace.
NAVIGATION = "performance_navigation_event"
DOCUMENTED: dict[str, tuple[str | None, str]] = {
    "PerformanceNavigationDuration": ("event_details.duration", events(NAVIGATION)),
    "PerformanceResourceDuration": ("event_details.duration",
                                    events("performance_resource_event")),
    "NavigationSatisfiedTransaction": (None, events(
        NAVIGATION, event_details={"duration": [{"numeric": [">", 2000]}]})),
    "NavigationToleratedTransaction": (None, events(
        NAVIGATION, event_details={"duration": [{"numeric": [">=", 2000, "<", 8000]}]})),
    "NavigationFrustratedTransaction": (None, events(
        NAVIGATION, event_details={"duration": [{"numeric": [">=", 8000]}]})),
    "WebVitalsCumulativeLayoutShift": ("event_details.value",
                                       events("cumulative_layout_shift_event")),
    "WebVitalsFirstInputDelay": ("event_details.value", events("first_input_delay_event")),
    "WebVitalsLargestContentfulPaint": ("event_details.value",
                                        events("largest_contentful_paint_event")),
    "JsErrorCount": (None, events("js_error_event")),
    "HttpErrorCount": (None, events("http_event")),
    "SessionCount": (None, events("session_start_event")),
    "PageViewCount": (None, events("page_view_event")),
    "Http4xxCount": (None, events("http_event", event_details={
        "response": {"status": [{"numeric": [">=", 400, "<", 500]}]}})),
    "Http5xxCount": (None, events("http_event", event_details={
        "response": {"status": [{"numeric": [">=", 500, "<=", 599]}]}})),
}
TO_EVIDENTLY = {"PerformanceNavigationDuration", "PerformanceResourceDuration",
                "WebVitalsCumulativeLayoutShift", "WebVitalsFirstInputDelay",
                "WebVitalsLargestContentfulPaint"}
"""User guide, "Extended metrics": only these may be sent to Evidently."""


def extended(name: str, **changes: Any) -> dict[str, Any]:
    """The documented definition of an extended metric, with `changes` (None removes)."""
    value_key, event_pattern = DOCUMENTED[name]
    entry: dict[str, Any] = {"Name": name, "EventPattern": event_pattern}
    if value_key is not None:
        entry["ValueKey"] = value_key
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not None}


def by_country(countries: list[str]) -> dict[str, Any]:
    """SessionCount with a CountryCode dimension: weighs one per country."""
    return extended("SessionCount", DimensionKeys={"metadata.countryCode": "CountryCode"},
                    EventPattern=events("session_start_event",
                                        metadata={"countryCode": countries}))


def refused(call: Any, *args: Any, **members: Any) -> GateError:
    with pytest.raises(GateError) as caught:
        call(*args, **members)
    return caught.value


@pytest.fixture
def g() -> Iterator[Gate]:
    """An in-memory gate with the app monitor 'shop' and its CloudWatch destination."""
    gate = Gate(None, clock=lambda: NOW)
    gate.create_app_monitor(Name="shop", Domain="example.com")
    gate.put_rum_metrics_destination(AppMonitorName="shop", **CW)
    yield gate
    gate.close()


def create(gate: Gate, *entries: dict[str, Any], to: dict[str, Any] | None = None,
           monitor: str = "shop") -> dict[str, Any]:
    return gate.batch_create_rum_metric_definitions(
        AppMonitorName=monitor, MetricDefinitions=list(entries), **(to or CW))


def held(gate: Gate, to: dict[str, Any] | None = None, monitor: str = "shop"
         ) -> list[dict[str, Any]]:
    return gate.batch_get_rum_metric_definitions(AppMonitorName=monitor, MaxResults=100,
                                                 **(to or CW))["MetricDefinitions"]


def entry_errors(answer: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["ErrorCode"], e["ErrorMessage"]) for e in answer["Errors"]]


def store_rows(gate: Gate) -> list[Any]:
    """Everything the store holds for metrics."""
    return [gate.storage.query(f"SELECT * FROM {table} ORDER BY 1, 2")
            for table in ("metrics_destinations", "metric_definitions")]


# -- destinations ------------------------------------------------------------------------------

def test_a_cloudwatch_destination_takes_neither_arn_nor_role(g: Gate) -> None:
    for member, value in (("DestinationArn", EXPERIMENT), ("IamRoleArn", ROLE)):
        error = refused(g.put_rum_metrics_destination, AppMonitorName="shop",
                        Destination="CloudWatch", **{member: value})
        assert error.code == "ValidationException"
        assert f"at '{member}'" in error.message and "absent when Destination is CloudWatch" \
            in error.message
    assert g.list_rum_metrics_destinations(AppMonitorName="shop") == {
        "Destinations": [{"Destination": "CloudWatch"}]}


@pytest.mark.parametrize(("members", "member"), [
    ({"Destination": "Evidently", "IamRoleArn": ROLE}, "DestinationArn"),
    ({**EV}, "IamRoleArn"),
    ({**EV, "DestinationArn": "arn:aws:s3:::bucket", "IamRoleArn": ROLE}, "DestinationArn"),
    ({**EV, "DestinationArn": "xxarn:aws:evidently:us-east-1:123456789012:project/p",
      "IamRoleArn": ROLE}, "DestinationArn"),
    ({**EV, "IamRoleArn": "arn:aws:iam::123456789012:user/alice"}, "IamRoleArn"),
    ({**EV, "IamRoleArn": "arn:aws:iam::12345:role/short-account"}, "IamRoleArn"),
    ({**EV, "IamRoleArn": "arn:aws:iam::\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"
      "\u0660\u0661\u0662:role/arabic-indic-digits"}, "IamRoleArn"),
    ({**EV, "IamRoleArn": "arn:aws:iam:us-east-1:123456789012:role/regional"}, "IamRoleArn"),
    ({**EV, "DestinationArn": "arn:aws:evidently::123456789012:project/p",
      "IamRoleArn": ROLE}, "DestinationArn"),
])
def test_an_evidently_destination_needs_an_experiment_arn_and_a_role(
        g: Gate, members: dict[str, Any], member: str) -> None:
    error = refused(g.put_rum_metrics_destination, AppMonitorName="shop", **members)
    assert error.code == "ValidationException" and f"at '{member}'" in error.message
    assert len(g.list_rum_metrics_destinations(AppMonitorName="shop")["Destinations"]) == 1


def test_putting_an_evidently_destination_again_changes_its_role(g: Gate) -> None:
    g.put_rum_metrics_destination(AppMonitorName="shop", IamRoleArn=ROLE, **EV)
    other_role = "arn:aws:iam::123456789012:role/other"
    g.put_rum_metrics_destination(AppMonitorName="shop", IamRoleArn=other_role, **EV)
    assert g.list_rum_metrics_destinations(AppMonitorName="shop")["Destinations"] == [
        {"Destination": "CloudWatch"},
        {"Destination": "Evidently", "DestinationArn": EXPERIMENT, "IamRoleArn": other_role}]


def test_an_app_monitor_has_at_most_20_destinations(g: Gate) -> None:
    """The CloudFormation registry schema's maxItems: 20 (docs/semantics.md)."""
    arns = [f"{EXPERIMENT}-{n:02d}" for n in range(19)]
    for arn in arns:
        g.put_rum_metrics_destination(AppMonitorName="shop", Destination="Evidently",
                                      DestinationArn=arn, IamRoleArn=ROLE)
    error = refused(g.put_rum_metrics_destination, AppMonitorName="shop",
                    Destination="Evidently", DestinationArn=EXPERIMENT, IamRoleArn=ROLE)
    assert error.code == "ValidationException" and "at most 20 metrics destinations" \
        in error.message
    g.put_rum_metrics_destination(AppMonitorName="shop", Destination="Evidently",  # held one
                                  DestinationArn=arns[0], IamRoleArn=ROLE)
    g.put_rum_metrics_destination(AppMonitorName="shop", **CW)
    assert len(g.list_rum_metrics_destinations(AppMonitorName="shop",
                                               MaxResults=100)["Destinations"]) == 20


def test_destinations_page_cloudwatch_first_then_by_arn(g: Gate) -> None:
    arns = [f"{EXPERIMENT}-{n}" for n in (3, 1, 2, 0)]
    for arn in arns:
        g.put_rum_metrics_destination(AppMonitorName="shop", Destination="Evidently",
                                      DestinationArn=arn, IamRoleArn=ROLE)
    seen, token, pages = [], None, 0
    while True:
        answer = g.list_rum_metrics_destinations(
            AppMonitorName="shop", MaxResults=2, **({"NextToken": token} if token else {}))
        seen += [d.get("DestinationArn", d["Destination"]) for d in answer["Destinations"]]
        pages += 1
        token = answer.get("NextToken")
        if token is None:
            break
    assert pages == 3 and seen == ["CloudWatch", *sorted(arns)]
    error = refused(g.list_rum_metrics_destinations, AppMonitorName="shop", NextToken="%%")
    assert error.code == "ValidationException" and "at 'NextToken'" in error.message


def test_deleting_a_destination_deletes_its_definitions(g: Gate) -> None:
    create(g, extended("JsErrorCount"), extended("SessionCount"))
    g.delete_rum_metrics_destination(AppMonitorName="shop", **CW)
    assert g.list_rum_metrics_destinations(AppMonitorName="shop")["Destinations"] == []
    assert g.storage.query("SELECT count(*) FROM metric_definitions") == [(0,)]
    g.put_rum_metrics_destination(AppMonitorName="shop", **CW)
    assert held(g) == []


def test_an_unknown_destination_is_not_found_with_its_name(g: Gate) -> None:
    """Definitions need their destination first (BatchCreateRumMetricDefinitions: "You must
    have already created a destination for the metrics before you send them")."""
    g.delete_rum_metrics_destination(AppMonitorName="shop", **CW)
    calls: list[tuple[Any, dict[str, Any]]] = [
        (g.delete_rum_metrics_destination, {}),
        (g.batch_create_rum_metric_definitions,
         {"MetricDefinitions": [extended("JsErrorCount")]}),
        (g.batch_get_rum_metric_definitions, {}),
        (g.batch_delete_rum_metric_definitions, {"MetricDefinitionIds": ["x"]}),
        (g.update_rum_metric_definition, {
            "MetricDefinitionId": "x",
            "MetricDefinition": extended("PerformanceResourceDuration")}),
    ]
    for call, members in calls:
        for to, name in ((CW, "CloudWatch"), (EV, EXPERIMENT)):
            error = refused(call, AppMonitorName="shop", **to, **members)
            assert (error.code, error.members) == ("ResourceNotFoundException", {
                "resourceName": name, "resourceType": "MetricsDestination"})
            assert "create it with PutRumMetricsDestination first" in error.message
    assert store_rows(g) == [[], []]


@pytest.mark.parametrize(("operation", "members"), [
    ("PutRumMetricsDestination", CW),
    ("ListRumMetricsDestinations", {}),
    ("DeleteRumMetricsDestination", CW),
    ("BatchCreateRumMetricDefinitions", {**CW, "MetricDefinitions": []}),
    ("BatchGetRumMetricDefinitions", CW),
    ("BatchDeleteRumMetricDefinitions", {**CW, "MetricDefinitionIds": ["x"]}),
    ("UpdateRumMetricDefinition", {**CW, "MetricDefinitionId": "x",
                                   "MetricDefinition": extended("JsErrorCount")}),
])
def test_every_metrics_operation_needs_the_app_monitor(g: Gate, operation: str,
                                                       members: dict[str, Any]) -> None:
    error = refused(g.call, operation=operation,
                    members={"AppMonitorName": "nope", **members})
    assert (error.code, error.members) == ("ResourceNotFoundException", {
        "resourceName": "nope", "resourceType": "AppMonitor"})


@pytest.mark.parametrize("operation", [
    "DeleteRumMetricsDestination", "BatchGetRumMetricDefinitions",
    "BatchDeleteRumMetricDefinitions", "BatchCreateRumMetricDefinitions",
    "UpdateRumMetricDefinition"])
def test_every_definition_operation_applies_the_destination_arn_rule(
        g: Gate, operation: str) -> None:
    """DestinationArn: "required if Destination is Evidently. If Destination is CloudWatch,
    do not use this parameter" (each operation's API Reference page)."""
    extra = {"MetricDefinitions": [], "MetricDefinitionIds": ["x"], "MetricDefinitionId": "x",
             "MetricDefinition": extended("JsErrorCount")}
    for destination, arn, expected in (("CloudWatch", EXPERIMENT, "must be absent"),
                                       ("Evidently", None, "must not be null")):
        members = {"AppMonitorName": "shop", "Destination": destination, **extra}
        if arn is not None:
            members["DestinationArn"] = arn
        error = refused(g.call, operation=operation, members=members)
        assert error.code == "ValidationException"
        assert "at 'DestinationArn'" in error.message and expected in error.message


# -- extended metrics --------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_each_documented_extended_metric_is_accepted(g: Gate, name: str) -> None:
    answer = create(g, extended(name), extended(name, Namespace="AWS/RUM", UnitLabel="Count",
                                                DimensionKeys={"metadata.osName": "OSName"},
                                                EventPattern=_with_os(name)))
    assert answer["Errors"] == []
    assert [d["Name"] for d in held(g)] == [name, name]


def _with_os(name: str) -> str:
    """The documented pattern filtering on a dimension field too."""
    documented = json.loads(DOCUMENTED[name][1])
    return json.dumps({**documented, "metadata": {"osName": ["Android", "iOS"]}})


@pytest.mark.parametrize(("changes", "member", "expected"), [
    ({"ValueKey": "event_details.value"}, "ValueKey", "must be 'event_details.duration'"),
    ({"ValueKey": None}, "ValueKey", "must be 'event_details.duration'"),
    ({"EventPattern": None}, "EventPattern", "must not be null for the extended metric"),
    ({"EventPattern": events("performance_resource_event")}, "EventPattern",
     "must include {\"event_type\":[\"com.amazon.rum.performance_navigation_event\"]}"),
    ({"EventPattern": pattern(event_type=[RUM + NAVIGATION, RUM + "http_event"])},
     "EventPattern", "must include"),
    ({"EventPattern": events(NAVIGATION, metadata={"browserName": ["Chrome"]})},
     "EventPattern", "metadata.browserName is not one"),
    ({"EventPattern": events(NAVIGATION, metadata={"pageId": ["/"]}),
      "DimensionKeys": {"metadata.pageId": "Page"}}, "DimensionKeys.metadata.pageId",
     "must be one of the extended metric dimensions"),
    ({"DimensionKeys": {"metadata.countryCode": "CountryCode"}}, "DimensionKeys",
     "every dimension must also be in EventPattern"),
    ({"Namespace": "AWS/RUM", "Name": "Checkouts"}, "Name",
     "must be an extended metric name when Namespace is absent or AWS/RUM"),
])
def test_extended_metrics_allow_only_their_documented_combination(
        g: Gate, changes: dict[str, Any], member: str, expected: str) -> None:
    entry = extended("PerformanceNavigationDuration", **changes)
    answer = create(g, entry)
    assert answer["MetricDefinitions"] == []
    [(code, message)] = entry_errors(answer)
    assert code == "ValidationException"
    assert f"at 'MetricDefinitions[0].{member}'" in message and expected in message
    assert answer["Errors"][0]["MetricDefinition"] == entry


@pytest.mark.parametrize("name", ["NavigationSatisfiedTransaction", "JsErrorCount",
                                  "Http4xxCount"])
def test_counting_extended_metrics_take_no_value_key(g: Gate, name: str) -> None:
    [(_, message)] = entry_errors(create(g, extended(name, ValueKey="event_details.duration")))
    assert "Value 'event_details.duration' at 'MetricDefinitions[0].ValueKey'" in message
    assert f"Member must be absent for {name}" in message


def test_a_numeric_filter_must_be_the_documented_one(g: Gate) -> None:
    wider = events(NAVIGATION, event_details={"duration": [{"numeric": [">", 1000]}]})
    [(_, message)] = entry_errors(create(g, extended("NavigationSatisfiedTransaction",
                                                     EventPattern=wider)))
    assert "must include" in message and "[\">\",2000]" in message
    same = events(NAVIGATION, event_details={"duration": [{"numeric": [">", 2000.0]}]})
    assert create(g, extended("NavigationSatisfiedTransaction", EventPattern=same))[
        "Errors"] == []


# -- custom metrics ----------------------------------------------------------------------------

def test_the_user_guides_custom_metric_is_accepted_and_read_back_as_sent(g: Gate) -> None:
    answer = create(g, CUSTOM)
    [created] = answer["MetricDefinitions"]
    assert answer["Errors"] == []
    assert uuid.UUID(created.pop("MetricDefinitionId")).version == 4
    assert created == CUSTOM
    assert [{k: v for k, v in d.items() if k != "MetricDefinitionId"} for d in held(g)] == \
        [CUSTOM]


@pytest.mark.parametrize(("changes", "member", "expected"), [
    ({"Namespace": "AWS/EC2"}, "Namespace", "must not start with AWS/"),
    ({"ValueKey": "visit_count"}, "ValueKey", "Member must be a field of RUM events"),
    ({"DimensionKeys": {"details.url": "URL"}}, "DimensionKeys.details.url",
     "Member must be a field of RUM events"),
    ({"DimensionKeys": {"event_details.other": "URL"}}, "DimensionKeys",
     "every dimension must also be in EventPattern"),
    ({"EventPattern": pattern(event_type=["e"], detail={"a": ["b"]})}, "EventPattern",
     "Member must be a field of RUM events"),
    ({"EventPattern": pattern(event_details={"current_url": ["a"]}),
      "DimensionKeys": None}, "EventPattern", "must give event_type when it filters on "
                                              "event_details"),
    ({"EventPattern": pattern(event_type={"name": ["e"]}, event_details={"u": ["a"]}),
      "DimensionKeys": None}, "EventPattern", "event_type as an array"),
    ({"EventPattern": pattern(event_type=["a", "b"])}, "EventPattern",
     "one value in every JSON array"),
    ({"EventPattern": pattern(event_type=[{"prefix": RUM + "http"}], event_details={
        "duration": [{"exists": True}]}), "DimensionKeys": None}, "EventPattern",
     'name each event_type as a string when it filters on event_details; {"prefix":'),
    ({"EventPattern": pattern(event_type=[[RUM + "http_event"]], event_details={
        "duration": [{"exists": True}]}), "DimensionKeys": None}, "EventPattern",
     'name each event_type as a string when it filters on event_details; ["com.amazon'),
    ({"EventPattern": pattern(event_type=[7], event_details={"u": ["a"]}),
      "DimensionKeys": None}, "EventPattern", "event_details; 7 is not one"),
    ({"EventPattern": pattern(event_type=["a"], event_details={
        "duration": [{"numeric": [">", 1]}]}), "DimensionKeys": None}, "EventPattern",
     "event_details.duration.numeric holds more"),
    ({"EventPattern": events("http_event", event_details={"duration": [{"exists": True}]}),
      "DimensionKeys": None}, "EventPattern",
     "filter com.amazon.rum.http_event on its own event_details fields; duration is not one"),
    ({"EventPattern": "not json"}, "EventPattern", "Member is not valid JSON"),
    ({"EventPattern": ""}, "EventPattern", "Member is empty; it must be a JSON object"),
    ({"EventPattern": "[1]"}, "EventPattern", "Member must be a JSON object, not an array"),
    ({"EventPattern": '{"event_type": ["a"], "event_type": ["b"]}'}, "EventPattern",
     "duplicate member \"event_type\""),
    ({"EventPattern": pattern(event_type="my_custom_event")}, "EventPattern",
     "Member must be an event pattern, each field an object or an array of values: "
     "event_type is neither"),
    ({"EventPattern": pattern(event_type=["e"], metadata={})}, "EventPattern",
     "metadata is neither, or is empty"),
    ({"UnitLabel": "Furlongs"}, "UnitLabel", "Member must be a CloudWatch unit"),
    ({"DimensionKeys": {"event_details.current_url": "URL", "metadata.browserName": "URL"}},
     "DimensionKeys", "URL is given to more than one field"),
])
def test_custom_metrics_follow_the_documented_rules(g: Gate, changes: dict[str, Any],
                                                    member: str, expected: str) -> None:
    entry = {k: v for k, v in {**CUSTOM, **changes}.items() if v is not None}
    answer = create(g, entry)
    assert answer["MetricDefinitions"] == [] and held(g) == []
    [(code, message)] = entry_errors(answer)[:1]
    assert code == "ValidationException", message
    assert f"at 'MetricDefinitions[0].{member}'" in message and expected in message, message


_NOT_A_NAME = st.one_of(st.none(), st.booleans(), st.integers(),
                       st.floats(allow_nan=False, allow_infinity=False),
                       st.lists(st.text(max_size=3), min_size=1, max_size=1),
                       st.dictionaries(st.sampled_from(["prefix", "anything-but", "exists"]),
                                       st.text(max_size=3), min_size=1, max_size=1))


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=_NOT_A_NAME)
def test_event_details_are_never_taken_under_an_event_type_that_is_not_a_name(
        g: Gate, kind: Any) -> None:
    """Whatever an event_type value is besides a string, the details cannot be checked against
    it, so the definition is refused, never stored (docs/semantics.md)."""
    entry = {"Name": "Odd", "Namespace": "Shop", "EventPattern": pattern(
        event_type=[kind], event_details={"not_a_field": ["x"]})}
    [(code, message)] = entry_errors(create(g, entry))
    assert code == "ValidationException" and "name each event_type as a string" in message
    assert held(g) == []


def test_an_event_type_matcher_is_taken_where_no_event_details_need_checking(g: Gate) -> None:
    """Only event_details ties a custom metric's pattern to exact event types: without it, a
    matcher on event_type (EventBridge's prefix) leaves no documented rule unchecked."""
    entry = {"Name": "AllRumEvents", "Namespace": "Shop",
             "EventPattern": pattern(event_type=[{"prefix": RUM}])}
    assert create(g, entry)["Errors"] == []


def test_a_custom_metric_may_use_a_built_in_event_with_its_own_details(g: Gate) -> None:
    entry = {"Name": "SlowCheckoutCalls", "Namespace": "Shop",
             "EventPattern": events("http_event", event_details={"request": {"url": ["/c"]}})}
    assert create(g, entry)["Errors"] == []


def test_every_problem_of_an_entry_is_reported_at_once(g: Gate) -> None:
    entry = {**CUSTOM, "Namespace": "AWS/X", "ValueKey": "nope", "UnitLabel": "Parsecs"}
    [(_, message)] = entry_errors(create(g, entry))
    assert message.startswith("3 validation errors detected: ")
    for member in ("Namespace", "ValueKey", "UnitLabel"):
        assert f"at 'MetricDefinitions[0].{member}'" in message


# -- Evidently ---------------------------------------------------------------------------------

def test_evidently_receives_five_extended_metrics_and_custom_ones_without_dimensions(
        g: Gate) -> None:
    g.put_rum_metrics_destination(AppMonitorName="shop", IamRoleArn=ROLE, **EV)
    entries = [extended(name) for name in sorted(DOCUMENTED)]
    custom = {k: v for k, v in CUSTOM.items() if k not in ("DimensionKeys", "UnitLabel")}
    answer = create(g, *entries, custom, to=EV)
    assert sorted(d["Name"] for d in answer["MetricDefinitions"]) == \
        sorted(TO_EVIDENTLY | {custom["Name"]})
    assert {e["MetricDefinition"]["Name"] for e in answer["Errors"]} == \
        set(DOCUMENTED) - TO_EVIDENTLY
    assert all("one of the extended metrics Evidently receives" in e["ErrorMessage"]
               for e in answer["Errors"])
    assert held(g) == []  # the CloudWatch destination got nothing
    assert len(held(g, to=EV)) == 6


@pytest.mark.parametrize("member", ["DimensionKeys", "UnitLabel"])
def test_evidently_takes_no_dimension_keys_or_unit_label(g: Gate, member: str) -> None:
    """MetricDefinitionRequest.DimensionKeys: "Use this field only if you are sending the
    metric to CloudWatch"; MetricDefinition.UnitLabel says the same."""
    g.put_rum_metrics_destination(AppMonitorName="shop", IamRoleArn=ROLE, **EV)
    entry = {k: v for k, v in CUSTOM.items() if k in ("Name", "Namespace", "EventPattern",
                                                     member)}
    [(_, message)] = entry_errors(create(g, entry, to=EV))
    assert f"at 'MetricDefinitions[0].{member}'" in message
    assert "absent when Destination is Evidently" in message


# -- duplicates, limits, quota -----------------------------------------------------------------

def test_the_same_definition_twice_is_a_conflict(g: Gate) -> None:
    first = create(g, extended("JsErrorCount"), extended("JsErrorCount"))
    [created] = first["MetricDefinitions"]
    [(code, message)] = entry_errors(first)
    assert code == "ConflictException"
    assert message == f"MetricDefinitions[1] is the same metric definition as " \
                      f"{created['MetricDefinitionId']}."
    respaced = extended("JsErrorCount", Namespace="AWS/RUM",
                        EventPattern='{ "event_type" : [ "com.amazon.rum.js_error_event" ] }')
    later = create(g, respaced, extended("JsErrorCount", UnitLabel="Count"))
    assert [e["MetricDefinition"] for e in later["Errors"]] == [respaced]
    assert later["Errors"][0]["ErrorCode"] == "ConflictException"
    assert len(held(g)) == 2


def test_more_than_200_entries_is_refused_whole(g: Gate) -> None:
    entries = [by_country([f"C{n:03d}"]) for n in range(201)]
    error = refused(create, g, *entries)
    assert error.code == "ValidationException"
    assert "at 'MetricDefinitions' failed to satisfy constraint: Member must have length " \
           "less than or equal to 200" in error.message
    error = refused(g.batch_delete_rum_metric_definitions, AppMonitorName="shop",
                    MetricDefinitionIds=[str(n) for n in range(201)], **CW)
    assert "at 'MetricDefinitionIds'" in error.message
    assert held(g) == []


def _fill(gate: Gate, weight: int, count: int, start: int = 0) -> None:
    """`count` definitions of `weight` each."""
    entries = [by_country([f"C{start + n:03d}-{k}" for k in range(weight)])
               for n in range(count)]
    assert create(gate, *entries)["Errors"] == []


def test_a_destination_holds_2000_dimension_values_and_no_more(g: Gate) -> None:
    _fill(g, 10, 199)
    # Two browsers and one country are three dimension values ("each combination of dimension
    # name and dimension value counts toward this limit"): 1,993.
    three = extended("SessionCount", DimensionKeys={"metadata.browserName": "BrowserName",
                                                    "metadata.countryCode": "CountryCode"},
                     EventPattern=events("session_start_event", metadata={
                         "browserName": ["Chrome", "Safari"], "countryCode": ["US"]}))
    assert create(g, three)["Errors"] == []
    before = store_rows(g)
    error = refused(create, g, by_country([f"X{k}" for k in range(8)]), {"Name": "bad"})
    assert error.code == "ServiceQuotaExceededException"
    assert "would hold 2001 metrics, more than its quota of 2000" in error.message
    assert error.members == {}
    assert store_rows(g) == before
    assert create(g, by_country([f"X{k}" for k in range(7)]))["Errors"] == []
    assert len(held(g)) == 100 and len(g.batch_get_rum_metric_definitions(
        AppMonitorName="shop", **CW)["MetricDefinitions"]) == 50


def test_an_update_may_not_take_a_destination_past_its_quota(g: Gate) -> None:
    _fill(g, 10, 200)
    first = held(g)[0]
    error = refused(g.update_rum_metric_definition, AppMonitorName="shop",
                    MetricDefinitionId=first["MetricDefinitionId"],
                    MetricDefinition=by_country([f"Y{k}" for k in range(11)]), **CW)
    assert error.code == "ServiceQuotaExceededException"
    g.update_rum_metric_definition(AppMonitorName="shop",
                                   MetricDefinitionId=first["MetricDefinitionId"],
                                   MetricDefinition=by_country(["Y0"]), **CW)
    assert len(create(g, by_country([f"Z{k}" for k in range(9)]))["MetricDefinitions"]) == 1


# -- BatchGet, BatchDelete, Update -------------------------------------------------------------

def test_batch_get_pages_in_creation_order(g: Gate) -> None:
    names = ["JsErrorCount", "SessionCount", "PageViewCount", "HttpErrorCount",
             "Http4xxCount", "Http5xxCount", "PerformanceResourceDuration"]
    ids = [d["MetricDefinitionId"] for d in create(g, *map(extended, names))[
        "MetricDefinitions"]]
    got, token, pages = [], None, 0
    while True:
        answer = g.batch_get_rum_metric_definitions(
            AppMonitorName="shop", MaxResults=3, **({"NextToken": token} if token else {}),
            **CW)
        got += answer["MetricDefinitions"]
        pages += 1
        token = answer.get("NextToken")
        if token is None:
            break
    assert pages == 3
    assert [d["MetricDefinitionId"] for d in got] == ids
    assert [d["Name"] for d in got] == names


def test_batch_delete_deletes_what_it_finds_and_reports_the_rest(g: Gate) -> None:
    g.put_rum_metrics_destination(AppMonitorName="shop", IamRoleArn=ROLE, **EV)
    mine = [d["MetricDefinitionId"] for d in create(g, extended("JsErrorCount"),
                                                    extended("SessionCount"))[
        "MetricDefinitions"]]
    [elsewhere] = [d["MetricDefinitionId"] for d in create(
        g, extended("PerformanceResourceDuration"), to=EV)["MetricDefinitions"]]
    answer = g.batch_delete_rum_metric_definitions(
        AppMonitorName="shop", MetricDefinitionIds=[mine[0], "nope", elsewhere, mine[0]], **CW)
    assert answer["MetricDefinitionIds"] == [mine[0]]
    assert [(e["MetricDefinitionId"], e["ErrorCode"]) for e in answer["Errors"]] == [
        ("nope", "ResourceNotFoundException"), (elsewhere, "ResourceNotFoundException"),
        (mine[0], "ValidationException")]
    assert "MetricDefinitionIds[3] repeats an earlier id" in answer["Errors"][2]["ErrorMessage"]
    assert [d["MetricDefinitionId"] for d in held(g)] == [mine[1]]
    assert [d["MetricDefinitionId"] for d in held(g, to=EV)] == [elsewhere]


def test_update_replaces_a_definition_in_place(g: Gate) -> None:
    ids = [d["MetricDefinitionId"] for d in create(g, extended("JsErrorCount"), CUSTOM)[
        "MetricDefinitions"]]
    replacement = {**CUSTOM, "Name": "ChromeVisits"}
    assert g.update_rum_metric_definition(AppMonitorName="shop", MetricDefinitionId=ids[0],
                                          MetricDefinition=replacement, **CW) == {}
    assert held(g) == [{"MetricDefinitionId": ids[0], **replacement},
                       {"MetricDefinitionId": ids[1], **CUSTOM}]
    g.update_rum_metric_definition(AppMonitorName="shop", MetricDefinitionId=ids[0],
                                   MetricDefinition=replacement, **CW)  # itself: no conflict


def test_update_refuses_a_bad_definition_an_unknown_id_and_a_duplicate(g: Gate) -> None:
    ids = [d["MetricDefinitionId"] for d in create(g, extended("JsErrorCount"), CUSTOM)[
        "MetricDefinitions"]]
    before = store_rows(g)

    def update(definition_id: str, definition: dict[str, Any]) -> GateError:
        return refused(g.update_rum_metric_definition, AppMonitorName="shop",
                       MetricDefinitionId=definition_id, MetricDefinition=definition, **CW)

    invalid = update(ids[0], {**CUSTOM, "Namespace": "AWS/Mine"})
    assert invalid.code == "ValidationException"
    assert "at 'MetricDefinition.Namespace'" in invalid.message
    missing = update("f00d", CUSTOM)
    assert (missing.code, missing.members) == ("ResourceNotFoundException", {
        "resourceName": "f00d", "resourceType": "MetricDefinition"})
    conflict = update(ids[0], CUSTOM)
    assert (conflict.code, conflict.members) == ("ConflictException", {
        "resourceName": ids[1], "resourceType": "MetricDefinition"})
    assert store_rows(g) == before


def test_validation_comes_before_looking_things_up(g: Gate) -> None:
    error = refused(g.update_rum_metric_definition, AppMonitorName="nope",
                    MetricDefinitionId="x", MetricDefinition={"Name": "Nope"}, **CW)
    assert error.code == "ValidationException" and "at 'MetricDefinition.Name'" in error.message


def test_model_constraints_refuse_the_whole_call(g: Gate) -> None:
    """A member breaking botocore's model (here a DimensionKeys name that is blank) is a
    ValidationException for the call, as AWS's validator answers before the operation runs."""
    error = refused(create, g, extended("JsErrorCount"), {**CUSTOM, "DimensionKeys": {
        "event_details.current_url": " "}})
    assert error.code == "ValidationException"
    assert "MetricDefinitions[1].DimensionKeys.event_details.current_url" in error.message
    assert held(g) == []


def test_deleting_the_app_monitor_deletes_destinations_and_definitions(g: Gate) -> None:
    g.put_rum_metrics_destination(AppMonitorName="shop", IamRoleArn=ROLE, **EV)
    create(g, extended("JsErrorCount"))
    create(g, extended("PerformanceResourceDuration"), to=EV)
    g.delete_app_monitor(Name="shop")
    assert store_rows(g) == [[], []]
    g.create_app_monitor(Name="shop", Domain="example.com")
    assert g.list_rum_metrics_destinations(AppMonitorName="shop") == {"Destinations": []}


# -- properties --------------------------------------------------------------------------------

def _browsers(name: str, browsers: list[str]) -> dict[str, Any]:
    documented = json.loads(DOCUMENTED[name][1])
    return extended(name, DimensionKeys={"metadata.browserName": "BrowserName"},
                    EventPattern=json.dumps({**documented,
                                             "metadata": {"browserName": browsers}}))


_BROWSERS = st.lists(st.sampled_from(["Chrome", "Safari", "Firefox"]), min_size=1, max_size=2,
                     unique=True)
_VALID = st.one_of(
    st.sampled_from(sorted(DOCUMENTED)).map(extended),
    st.builds(_browsers, st.sampled_from(sorted(DOCUMENTED)), _BROWSERS),
    st.builds(lambda namespace, url: {**CUSTOM, "Namespace": namespace, "EventPattern": pattern(
        event_type=["my_custom_event"], event_details={"current_url": [url]})},
        st.sampled_from(["Shop", "Shop/Cart"]), st.sampled_from(["a.com", "b.com"])))
"""Definitions the rules accept (often the same one twice)."""
_PATTERNS = st.one_of(
    st.sampled_from(["", "not json", "[1]", '{"event_type": ["a"], "event_type": ["b"]}']),
    st.builds(
        lambda kind, browsers, details: json.dumps({
            "event_type": [kind], **({"metadata": {"browserName": browsers}} if browsers else {}),
            **({"event_details": details} if details else {})}),
        st.sampled_from([RUM + k for k in ("js_error_event", "session_start_event",
                                           "http_event", NAVIGATION, "page_view_event")]
                        + ["shop.checkout"]),
        st.lists(st.sampled_from(["Chrome", "Safari", "Firefox"]), max_size=2, unique=True),
        st.sampled_from([None, {"duration": [{"numeric": [">", 2000]}]}, {"url": ["/x"]},
                         {"response": {"status": [{"numeric": [">=", 400, "<", 500]}]}}])))
_ANY = st.fixed_dictionaries({"Name": st.sampled_from([*DOCUMENTED, "Checkouts", "Visits"])},
                             optional={
    "Namespace": st.sampled_from(["AWS/RUM", "AWS/EC2", "Shop", "Shop/Cart"]),
    "ValueKey": st.sampled_from(["event_details.duration", "event_details.value", "duration"]),
    "UnitLabel": st.sampled_from(["Count", "Milliseconds", "Furlongs"]),
    "DimensionKeys": st.sampled_from([{}, {"metadata.browserName": "BrowserName"},
                                      {"metadata.browserName": "Browser"},
                                      {"event_details.url": "Url"}]),
    "EventPattern": _PATTERNS})
"""MetricDefinitionRequest-shaped definitions, mostly refused by some rule."""
_ENTRIES = st.lists(st.one_of(_VALID, _ANY), max_size=12)


@settings(max_examples=60, deadline=None)
@given(entries=_ENTRIES)
def test_created_and_errors_partition_the_request_and_batch_get_returns_the_created(
        entries: list[dict[str, Any]]) -> None:
    with Gate(None, clock=lambda: NOW) as gate:
        gate.create_app_monitor(Name="shop", Domain="example.com")
        gate.put_rum_metrics_destination(AppMonitorName="shop", **CW)
        answer = create(gate, *entries)
        created, errors = list(answer["MetricDefinitions"]), list(answer["Errors"])
        for entry in entries:  # each entry, in order, is the next created or the next error
            if created and {k: v for k, v in created[0].items()
                            if k != "MetricDefinitionId"} == entry:
                created.pop(0)
            else:
                assert errors and errors[0]["MetricDefinition"] == entry
                assert errors.pop(0)["ErrorCode"] in ("ValidationException",
                                                      "ConflictException")
        assert created == [] and errors == []
        ids = [d["MetricDefinitionId"] for d in answer["MetricDefinitions"]]
        assert len(set(ids)) == len(ids)
        assert held(gate) == answer["MetricDefinitions"]
        again = create(gate, *entries)  # nothing is created twice
        assert again["MetricDefinitions"] == []
        assert [e["ErrorCode"] for e in again["Errors"]].count("ConflictException") >= len(ids)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=8)
_DEFINITION = st.fixed_dictionaries({}, optional={
    "Name": st.sampled_from([*DOCUMENTED, "Checkouts"]) | _JSON,
    "Namespace": st.sampled_from(["AWS/RUM", "AWS/", "Shop"]) | _JSON,
    "ValueKey": st.sampled_from(["event_details.value", "x.y", ""]) | _JSON,
    "UnitLabel": st.sampled_from(["Count", "None"]) | _JSON,
    "DimensionKeys": st.dictionaries(st.sampled_from(["metadata.osName", "a.b", ""]),
                                     st.sampled_from(["OSName", " ", ":x"]), max_size=2) | _JSON,
    "EventPattern": st.text(max_size=40) | _JSON.map(json.dumps) | _PATTERNS})
_MEMBERS = st.fixed_dictionaries({}, optional={
    "AppMonitorName": st.sampled_from(["shop", "nope"]) | _JSON,
    "Destination": st.sampled_from(["CloudWatch", "Evidently"]) | _JSON,
    "DestinationArn": st.sampled_from([EXPERIMENT, "arn:a:b:c:d:e"]) | _JSON,
    "IamRoleArn": st.sampled_from([ROLE, "arn:aws:iam::1:role/"]) | _JSON,
    "MetricDefinitions": st.lists(_DEFINITION, max_size=4) | _JSON,
    "MetricDefinition": _DEFINITION | _JSON,
    "MetricDefinitionIds": st.lists(st.text(max_size=4), max_size=3) | _JSON,
    "MetricDefinitionId": st.text(max_size=4) | _JSON,
    "MaxResults": st.integers(-1, 101) | _JSON,
    "NextToken": st.text(max_size=12) | _JSON})


@settings(max_examples=300, deadline=None)
@given(operation=st.sampled_from([
    "PutRumMetricsDestination", "ListRumMetricsDestinations", "DeleteRumMetricsDestination",
    "BatchCreateRumMetricDefinitions", "BatchGetRumMetricDefinitions",
    "BatchDeleteRumMetricDefinitions", "UpdateRumMetricDefinition"]), members=_MEMBERS)
def test_any_members_are_answered_or_refused_never_a_5xx(operation: str,
                                                         members: dict[str, Any]) -> None:
    with Gate(None, clock=lambda: NOW) as gate:
        gate.create_app_monitor(Name="shop", Domain="example.com")
        gate.put_rum_metrics_destination(AppMonitorName="shop", **CW)
        gate.put_rum_metrics_destination(AppMonitorName="shop", IamRoleArn=ROLE, **EV)
        try:
            gate.call(operation, members)
        except GateError as err:
            assert err.status < 500, err


# -- over HTTP ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GateServer]:
    """A `rumpolicy serve` of this module's own, without the app monitor quota: each test
    makes monitors of its own."""
    running = start_gate_server(tmp_path_factory.mktemp("metrics"), {"max_app_monitors": None})
    yield running
    running.stop()


@pytest.fixture
def rum_client(server: GateServer) -> Any:
    return server.client()


def _monitor(client: Any) -> str:
    name = f"metrics-{uuid.uuid4().hex[:12]}"
    client.create_app_monitor(Name=name, Domain="example.com")
    return name


def test_the_operations_over_http_through_boto3(rum_client: Any) -> None:
    name = _monitor(rum_client)
    rum_client.put_rum_metrics_destination(AppMonitorName=name, **CW)
    for n in range(3):
        rum_client.put_rum_metrics_destination(AppMonitorName=name, IamRoleArn=ROLE,
                                               Destination="Evidently",
                                               DestinationArn=f"{EXPERIMENT}-{n}")
    pages = rum_client.get_paginator("list_rum_metrics_destinations").paginate(
        AppMonitorName=name, PaginationConfig={"PageSize": 2})
    assert [[d["Destination"] for d in p["Destinations"]] for p in pages] == [
        ["CloudWatch", "Evidently"], ["Evidently", "Evidently"]]

    answer = rum_client.batch_create_rum_metric_definitions(
        AppMonitorName=name, MetricDefinitions=[
            extended(n) for n in sorted(DOCUMENTED)] + [CUSTOM, {"Name": "Nope"}], **CW)
    assert len(answer["MetricDefinitions"]) == 15
    assert [(e["MetricDefinition"], e["ErrorCode"]) for e in answer["Errors"]] == [
        ({"Name": "Nope"}, "ValidationException")]
    pages = rum_client.get_paginator("batch_get_rum_metric_definitions").paginate(
        AppMonitorName=name, PaginationConfig={"PageSize": 4}, **CW)
    listed = [d for p in pages for d in p["MetricDefinitions"]]
    assert listed == answer["MetricDefinitions"]

    ids = [d["MetricDefinitionId"] for d in listed]
    rum_client.update_rum_metric_definition(
        AppMonitorName=name, MetricDefinitionId=ids[0],
        MetricDefinition={**CUSTOM, "Namespace": "Other"}, **CW)
    updated = rum_client.batch_get_rum_metric_definitions(AppMonitorName=name,
                                                          MaxResults=100, **CW)
    [first] = [d for d in updated["MetricDefinitions"] if d["MetricDefinitionId"] == ids[0]]
    assert (first["Name"], first["Namespace"]) == (CUSTOM["Name"], "Other")
    deleted = rum_client.batch_delete_rum_metric_definitions(
        AppMonitorName=name, MetricDefinitionIds=[ids[0], ids[1], "gone"], **CW)
    assert deleted["MetricDefinitionIds"] == ids[:2]
    assert [e["MetricDefinitionId"] for e in deleted["Errors"]] == ["gone"]
    remaining = rum_client.batch_get_rum_metric_definitions(AppMonitorName=name,
                                                            MaxResults=100, **CW)
    assert [d["MetricDefinitionId"] for d in remaining["MetricDefinitions"]] == ids[2:]
    rum_client.delete_rum_metrics_destination(AppMonitorName=name, **CW)
    rum_client.delete_app_monitor(Name=name)


def test_modeled_errors_over_http_carry_their_members(rum_client: Any) -> None:
    name = _monitor(rum_client)
    with pytest.raises(rum_client.exceptions.ResourceNotFoundException) as missing:
        rum_client.batch_get_rum_metric_definitions(AppMonitorName=name, **EV)
    assert missing.value.response["resourceName"] == EXPERIMENT
    assert missing.value.response["resourceType"] == "MetricsDestination"
    with pytest.raises(rum_client.exceptions.ValidationException) as invalid:
        rum_client.put_rum_metrics_destination(AppMonitorName=name, DestinationArn=EXPERIMENT,
                                               **CW)
    assert "at 'DestinationArn'" in invalid.value.response["Error"]["Message"]

    rum_client.put_rum_metrics_destination(AppMonitorName=name, **CW)
    entries = [by_country([f"C{n:03d}-{k}" for k in range(10)]) for n in range(200)]
    ids = [d["MetricDefinitionId"] for d in rum_client.batch_create_rum_metric_definitions(
        AppMonitorName=name, MetricDefinitions=entries, **CW)["MetricDefinitions"]]
    with pytest.raises(rum_client.exceptions.ServiceQuotaExceededException) as quota:
        rum_client.batch_create_rum_metric_definitions(
            AppMonitorName=name, MetricDefinitions=[extended("JsErrorCount")], **CW)
    assert quota.value.response["ResponseMetadata"]["HTTPStatusCode"] == 402
    with pytest.raises(rum_client.exceptions.ConflictException) as conflict:
        rum_client.update_rum_metric_definition(AppMonitorName=name, MetricDefinitionId=ids[0],
                                                MetricDefinition=entries[1], **CW)
    assert conflict.value.response["resourceName"] == ids[1]
    assert conflict.value.response["resourceType"] == "MetricDefinition"
    with pytest.raises(rum_client.exceptions.ResourceNotFoundException) as unknown:
        rum_client.update_rum_metric_definition(AppMonitorName=name, MetricDefinitionId="x",
                                                MetricDefinition=entries[0], **CW)
    assert unknown.value.response["resourceName"] == "x"
    rum_client.delete_app_monitor(Name=name)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=_ENTRIES)
def test_http_answers_as_the_gate_does(rum_client: Any, entries: list[dict[str, Any]]) -> None:
    """The same batch in process and through boto3 over HTTP: the same outcome per entry."""
    def outcome(answer: dict[str, Any]) -> Any:
        return ([{k: v for k, v in d.items() if k != "MetricDefinitionId"}
                 for d in answer["MetricDefinitions"]],
                [(e["MetricDefinition"], e["ErrorCode"]) for e in answer["Errors"]])

    name = _monitor(rum_client)
    rum_client.put_rum_metrics_destination(AppMonitorName=name, **CW)
    over_http = rum_client.batch_create_rum_metric_definitions(
        AppMonitorName=name, MetricDefinitions=entries, **CW)
    with Gate(None, clock=lambda: NOW) as gate:
        gate.create_app_monitor(Name="shop", Domain="example.com")
        gate.put_rum_metrics_destination(AppMonitorName="shop", **CW)
        assert outcome(over_http) == outcome(create(gate, *entries))
    rum_client.delete_app_monitor(Name=name)


def test_metrics_survive_a_restart_and_go_with_their_monitor(tmp_path: Path) -> None:
    def serve() -> GateServer:
        return start_gate_server(tmp_path)

    server = serve()
    try:
        client = server.client()
        client.create_app_monitor(Name="shop", Domain="example.com")
        client.put_rum_metrics_destination(AppMonitorName="shop", **CW)
        client.put_rum_metrics_destination(AppMonitorName="shop", IamRoleArn=ROLE, **EV)
        created = client.batch_create_rum_metric_definitions(
            AppMonitorName="shop", MetricDefinitions=[CUSTOM, extended("JsErrorCount")],
            **CW)["MetricDefinitions"]
        destinations = client.list_rum_metrics_destinations(AppMonitorName="shop")[
            "Destinations"]
    finally:
        server.stop()
    server = serve()
    try:
        client = server.client()
        assert client.list_rum_metrics_destinations(AppMonitorName="shop")[
            "Destinations"] == destinations
        assert client.batch_get_rum_metric_definitions(AppMonitorName="shop", **CW)[
            "MetricDefinitions"] == created
        again = client.batch_create_rum_metric_definitions(
            AppMonitorName="shop", MetricDefinitions=[CUSTOM], **CW)
        assert again["Errors"][0]["ErrorCode"] == "ConflictException"
        client.delete_app_monitor(Name="shop")
        client.create_app_monitor(Name="shop", Domain="example.com")
        assert client.list_rum_metrics_destinations(AppMonitorName="shop")[
            "Destinations"] == []
    finally:
        server.stop()
