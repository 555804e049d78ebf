"""GetAppMonitorData and what the app monitor's settings do to PutRumEvents, in process and over
HTTP with boto3.

Sources (docs/semantics.md, "The gate"): the API Reference's GetAppMonitorData, TimeRange and
QueryFilter pages; the user guide's "Send custom events" ("Custom events are ingested only if
the app monitor has custom events enabled"; type of 1-256 alphanumerics, `_`, `-`, `.`; up to
6 KB); the metric-definition docs for the document paths (`event_type`, `metadata.*`,
`event_details.*`).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rumpolicy.gate import Gate, GateError, Origin
from rumpolicy.gate.event_index import EventIndex
from rumpolicy.gate.ingest_rules import MAX_CUSTOM_DETAILS
from rumpolicy.gate.paging import encode_token
from rumpolicy.testing.gate_fixture import GateServer

from ._helpers import NOW, alias_policy, batch, delete_after, encoded, event, make_gate

NOW_MS = int(NOW * 1000)
FAR = 253402300799000
"""The last millisecond a stored event can have: a Before that includes every event."""


def put(gate: Gate, monitor_id: str, events: Sequence[Mapping[str, Any]], **changes: Any
        ) -> dict[str, Any]:
    body = batch(monitor_id, "v1", RumEvents=list(events), **changes)
    result = gate.put_rum_events(monitor_id, encoded(body))
    assert result.stored, result.error
    return body


def data(gate: Gate, after: int = 0, before: int | None = FAR, **members: Any
         ) -> list[dict[str, Any]]:
    """Every page of GetAppMonitorData for 'shop', each document parsed."""
    time_range = {"After": after} if before is None else {"After": after, "Before": before}
    found: list[dict[str, Any]] = []
    tokens: list[str] = []
    while True:
        resume = {"NextToken": tokens[-1]} if tokens else {}
        page = gate.get_app_monitor_data(Name="shop", TimeRange=time_range, **members, **resume)
        found += [json.loads(document) for document in page["Events"]]
        if "NextToken" not in page:
            return found
        assert page["NextToken"] not in tokens, "a token that does not move on"
        tokens.append(page["NextToken"])


def ids(documents: Sequence[Mapping[str, Any]]) -> list[str]:
    return [d["event_id"] for d in documents]


def error_of(call: Any, **members: Any) -> GateError:
    with pytest.raises(GateError) as caught:
        call(**members)
    return caught.value


def custom(n: int = 0, kind: str = "my_custom_event", **details: Any) -> dict[str, Any]:
    return event(n, type=kind, details=json.dumps({"visit_count": n, **details}))


# -- TimeRange ---------------------------------------------------------------------------------

def test_the_time_range_is_event_time_in_milliseconds_both_ends_included(
        gate: tuple[Gate, str]) -> None:
    g, monitor_id = gate
    early, mid, late = (event(timestamp=t) for t in (1_700_000_000.122, 1_700_000_000.123,
                                                     1_700_000_000.124))
    put(g, monitor_id, [late, early, mid])
    at = 1_700_000_000_123
    assert ids(data(g, at, at)) == [mid["id"]]
    assert ids(data(g, at, at + 1)) == [mid["id"], late["id"]]
    assert ids(data(g, at + 1, FAR)) == [late["id"]]
    assert ids(data(g, 0, at - 1)) == [early["id"]]
    assert ids(data(g, at + 2, FAR)) == []


def test_before_defaults_to_the_gates_clock(gate: tuple[Gate, str]) -> None:
    """"If you omit this, the time range extends to the time that this operation is
    performed": an event stamped after the gate's clock is not returned yet."""
    g, monitor_id = gate
    past, now, future = event(timestamp=NOW - 60), event(timestamp=NOW), event(timestamp=NOW + 1)
    put(g, monitor_id, [past, now, future])
    assert ids(data(g, 0, None)) == [past["id"], now["id"]]


@pytest.mark.parametrize(("time_range", "where"), [
    ({"After": 10, "Before": 9}, "'TimeRange.Before'"),
    ({"After": NOW_MS + 1}, "'TimeRange.After'"),
    ({"Before": 10}, "Value null at 'TimeRange.After'"),
    ({"After": 1.5}, "at 'TimeRange.After' failed to satisfy constraint: Member must be an "
                     "integer"),
])
def test_a_time_range_that_selects_nothing_by_construction_is_refused(
        gate: tuple[Gate, str], time_range: dict[str, Any], where: str) -> None:
    error = error_of(gate[0].get_app_monitor_data, Name="shop", TimeRange=time_range)
    assert error.code == "ValidationException" and where in error.message


# -- Filters -----------------------------------------------------------------------------------

def _visit(n: int, kind: str = "com.amazon.rum.page_view_event", **metadata: Any
           ) -> dict[str, Any]:
    return event(n, type=kind, metadata=json.dumps(metadata))


@pytest.fixture
def visits(gate: tuple[Gate, str]) -> tuple[Gate, dict[str, dict[str, Any]]]:
    """Events of two sessions whose metadata differ in every filtered member."""
    g, monitor_id = gate
    chrome = _visit(0, pageId="/home", countryCode="US")
    firefox_mobile = _visit(1, browserName="Firefox", deviceType="mobile", pageId="/cart",
                            osName="Android")
    error = _visit(2, "com.amazon.rum.js_error_event", pageId="/cart", countryCode="DE")
    put(g, monitor_id, [chrome, firefox_mobile, error],
        SessionMetadata=json.dumps({"browserName": "Chrome", "deviceType": "desktop",
                                    "osName": "Linux"}))
    safari = _visit(3, browserName="Safari", deviceType="tablet", osName="iOS", pageId="/home")
    put(g, monitor_id, [safari], SessionMetadata=None)
    return g, {"chrome": chrome, "firefox": firefox_mobile, "error": error, "safari": safari}


@pytest.mark.parametrize(("name", "values", "expected"), [
    ("Browser", ["Chrome"], ["chrome", "error"]),           # from SessionMetadata
    ("Browser", ["Firefox"], ["firefox"]),                  # the event's own wins
    ("Device", ["mobile", "tablet"], ["firefox", "safari"]),
    ("Country", ["DE"], ["error"]),
    ("Page", ["/home"], ["chrome", "safari"]),
    ("OS", ["Linux"], ["chrome", "error"]),
    ("EventType", ["com.amazon.rum.js_error_event"], ["error"]),
    ("Browser", ["chrome"], []),                            # exact, case-sensitive
])
def test_each_filter_matches_its_member_exactly(
        visits: tuple[Gate, dict[str, dict[str, Any]]], name: str, values: list[str],
        expected: list[str]) -> None:
    g, events = visits
    found = data(g, Filters=[{"Name": name, "Values": values}])
    assert ids(found) == [events[label]["id"] for label in expected]


@pytest.mark.parametrize(("filters", "expected"), [
    # "values matching the ones that you specify in one of your QueryFilter structures"
    ([{"Name": "Country", "Values": ["DE"]}, {"Name": "OS", "Values": ["iOS"]}],
     ["error", "safari"]),
    # Invert is "not equal to": any of the event's six values
    ([{"Name": "Invert", "Values": ["Chrome"]}], ["firefox", "safari"]),
    ([{"Name": "Invert", "Values": ["/cart", "iOS"]}], ["chrome"]),
    ([{"Name": "Page", "Values": ["/cart", "/home"]}, {"Name": "Invert", "Values": ["Firefox"]}],
     ["chrome", "error", "safari"]),
    ([{"Name": "Invert", "Values": ["com.amazon.rum.page_view_event"]}], ["error"]),
    ([], ["chrome", "firefox", "error", "safari"]),
])
def test_filters_are_alternatives_and_invert_excludes(
        visits: tuple[Gate, dict[str, dict[str, Any]]], filters: list[dict[str, Any]],
        expected: list[str]) -> None:
    g, events = visits
    assert ids(data(g, Filters=filters)) == [events[label]["id"] for label in expected]


@pytest.mark.parametrize(("filters", "message"), [
    ([{"Name": "Browsers", "Values": ["Chrome"]}],
     "Value 'Browsers' at 'Filters[0].Name' failed to satisfy constraint: Member must satisfy "
     "enum value set: [Browser, Device, Country, Page, OS, EventType, Invert]"),
    ([{"Name": "OS", "Values": ["Linux"]}, {"Values": ["Linux"]}],
     "Value null at 'Filters[1].Name'"),
    ([{"Name": "OS", "Values": []}], "at 'Filters[0].Values' failed to satisfy constraint: "
                                     "Member must have length greater than or equal to 1"),
    ([{"Name": "OS"}], "Value null at 'Filters[0].Values'"),
    ([{"Name": "OS", "Values": [3]}], "at 'Filters[0].Values[0]'"),
])
def test_malformed_filters_are_refused_naming_the_member(
        gate: tuple[Gate, str], filters: list[dict[str, Any]], message: str) -> None:
    error = error_of(gate[0].get_app_monitor_data, Name="shop", TimeRange={"After": 0},
                     Filters=filters)
    assert error.code == "ValidationException" and message in error.message


# -- pages -------------------------------------------------------------------------------------

BROWSERS = ("Chrome", "Firefox", "Safari")
TYPES = ("com.amazon.rum.page_view_event", "com.amazon.rum.http_event")
FILTERS = st.lists(st.tuples(st.sampled_from(["Browser", "EventType", "Invert"]),
                             st.lists(st.sampled_from(BROWSERS + TYPES), min_size=1,
                                      max_size=2)), max_size=2)


def _expected(ordered: list[tuple[dict[str, Any], str]],
              filters: list[tuple[str, list[str]]]) -> list[str]:
    """The oracle: the QueryFilter rules read plainly, over (event, its browser) in order."""
    inverted = {v for name, values in filters if name == "Invert" for v in values}
    positive = [(name, values) for name, values in filters if name != "Invert"]
    chosen = []
    for item, browser in ordered:
        own = {"Browser": browser, "EventType": item["type"]}
        if inverted & set(own.values()):
            continue
        if positive and not any(own[name] in values for name, values in positive):
            continue
        chosen.append(item["id"])
    return chosen


@settings(max_examples=40, deadline=None)
@given(batches=st.lists(st.lists(st.tuples(st.integers(0, 4), st.sampled_from(TYPES),
                                           st.sampled_from(BROWSERS)), max_size=6),
                        min_size=1, max_size=5),
       page_size=st.integers(1, 7), filters=FILTERS, window=st.tuples(st.integers(0, 4),
                                                                       st.integers(0, 4)))
def test_every_matching_event_is_returned_once_in_order_across_pages(
        batches: list[list[tuple[int, str, str]]], page_size: int,
        filters: list[tuple[str, list[str]]], window: tuple[int, int]) -> None:
    g, monitor_id = make_gate()
    base = 1_700_000_000
    stamped = []  # (the put order, the event, its browser)
    for events in batches:
        made = [_visit(0, kind, browserName=browser) | {"timestamp": base + second}
                for second, kind, browser in events]
        put(g, monitor_id, made)
        stamped += [(len(stamped) + n, item, events[n][2]) for n, item in enumerate(made)]
    after, before = (base + min(window)) * 1000, (base + max(window)) * 1000
    in_window = [s for s in stamped if after <= s[1]["timestamp"] * 1000 <= before]
    query = [{"Name": name, "Values": values} for name, values in filters]
    found = data(g, after, before, MaxResults=page_size, Filters=query)
    order = sorted(in_window, key=lambda s: (s[1]["timestamp"], s[0]))
    assert ids(found) == _expected([(s[1], s[2]) for s in order], filters)
    g.close()


def test_max_results_bounds_each_page_and_a_token_resumes_after_it(
        gate: tuple[Gate, str]) -> None:
    g, monitor_id = gate
    events = [event(n) for n in range(5)]
    put(g, monitor_id, events)
    first = g.get_app_monitor_data(Name="shop", TimeRange={"After": 0, "Before": FAR},
                                   MaxResults=2)
    assert len(first["Events"]) == 2 and "NextToken" in first
    put(g, monitor_id, [event(-10)])  # earlier than the page: not repeated, not returned later
    rest = g.get_app_monitor_data(Name="shop", TimeRange={"After": 0, "Before": FAR},
                                  NextToken=first["NextToken"])
    assert ids([json.loads(d) for d in rest["Events"]]) == [e["id"] for e in events[2:]]
    assert "NextToken" not in rest
    empty = g.get_app_monitor_data(Name="shop", TimeRange={"After": 0, "Before": FAR},
                                   MaxResults=0)
    assert empty == {"Events": []}


@pytest.mark.parametrize(("members", "where"), [
    ({"MaxResults": 101}, "'MaxResults' failed to satisfy constraint: Member must have value "
                          "less than or equal to 100"),
    ({"MaxResults": -1}, "'MaxResults'"),
    ({"NextToken": "not a token"}, "'NextToken' failed to satisfy constraint: Member must be a "
                                   "token returned by a previous call"),
    ({"NextToken": "YWJj"}, "'NextToken'"),  # base64 of "abc": decodes, but is no position
])
def test_bad_paging_members_are_refused(gate: tuple[Gate, str], members: dict[str, Any],
                                        where: str) -> None:
    error = error_of(gate[0].get_app_monitor_data, Name="shop", TimeRange={"After": 0},
                     **members)
    assert error.code == "ValidationException" and where in error.message


def test_an_unknown_monitor_is_not_found_with_the_modeled_members(gate: tuple[Gate, str]
                                                                   ) -> None:
    error = error_of(gate[0].get_app_monitor_data, Name="nope", TimeRange={"After": 0})
    assert (error.code, error.status) == ("ResourceNotFoundException", 404)
    assert error.members == {"resourceName": "nope", "resourceType": "AppMonitor"}


def test_a_monitor_deleted_and_created_again_starts_empty(gate: tuple[Gate, str]) -> None:
    g, monitor_id = gate
    put(g, monitor_id, [event(0)])
    assert len(data(g)) == 1
    g.delete_app_monitor(Name="shop")
    new_id = g.create_app_monitor(Name="shop", Domain="example.com")["Id"]
    g.put_resource_policy(Name="shop", PolicyDocument=alias_policy())
    assert data(g) == []
    put(g, new_id, [event(1)])
    assert [d["application_id"] for d in data(g)] == [new_id]


def test_a_monitor_deleted_while_its_data_is_read_is_not_found(
        gate: tuple[Gate, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """GetAppMonitorData takes no lock while it reads: a DeleteAppMonitor between choosing the
    events and reading their batches is the answer a later call would get, never a 500.
    (docs/semantics.md, The gate: GetAppMonitorData)"""
    g, monitor_id = gate
    put(g, monitor_id, [event(0), event(1)])
    delete_after(monkeypatch, EventIndex, "page", g)
    error = error_of(g.get_app_monitor_data, Name="shop", TimeRange={"After": 0, "Before": FAR})
    assert (error.code, error.status) == ("ResourceNotFoundException", 404)
    assert error.members == {"resourceName": "shop", "resourceType": "AppMonitor"}


def test_events_stored_by_the_writer_process_are_read(tmp_path: Any) -> None:
    """On disk, the HTTP app's batches are committed by another connection (another process):
    a later call sees them."""
    import asyncio

    g = Gate(tmp_path, clock=lambda: NOW)
    monitor_id = g.create_app_monitor(Name="shop", Domain="example.com")["Id"]
    g.put_resource_policy(Name="shop", PolicyDocument=alias_policy())
    first = batch(monitor_id, "v1")
    assert g.put_rum_events(monitor_id, encoded(first)).stored
    assert len(data(g)) == 2

    async def put_async() -> None:
        later = await g.put_rum_events_async(monitor_id, encoded(batch(monitor_id, "v1")))
        assert later.stored, later.error

    asyncio.run(put_async())
    assert len(data(g)) == 4
    g.close()


# -- the documents -----------------------------------------------------------------------------

def test_each_document_is_the_rum_event_json_built_from_what_was_put(
        gate: tuple[Gate, str]) -> None:
    g, monitor_id = gate
    page = {"version": "1.0.0", "pageId": "/checkout", "browserName": "HeadlessChrome",
            "tags": ["a"]}
    details = {"version": "1.0.0", "duration": 403.1, "navigationType": "navigate"}
    sent = event(0, type="com.amazon.rum.performance_navigation_event", timestamp=NOW - 0.25,
                 metadata=json.dumps(page), details=json.dumps(details))
    body = put(g, monitor_id, [sent], AppMonitorDetails={"id": monitor_id, "version": "2.4.1"},
               SessionMetadata=json.dumps({"browserName": "Chrome", "domain": "shop.example",
                                           "osName": "Linux"}))
    [document] = data(g)
    assert document == {
        "event_timestamp": NOW_MS - 250,
        "event_type": "com.amazon.rum.performance_navigation_event",
        "event_id": sent["id"],
        "event_version": "1.0.0",
        "log_stream": time.strftime("%Y-%m-%dT%H", time.gmtime(NOW)),
        "application_id": monitor_id,
        "application_version": "2.4.1",
        "metadata": {"browserName": "HeadlessChrome", "domain": "shop.example",
                     "osName": "Linux", "version": "1.0.0", "pageId": "/checkout",
                     "tags": ["a"]},
        "user_details": body["UserDetails"],
        "event_details": details,
    }
    assert list(document)[:3] == ["event_timestamp", "event_type", "event_id"]


def test_members_whose_source_was_not_sent_are_left_out(gate: tuple[Gate, str]) -> None:
    g, monitor_id = gate
    bare = {"id": str(uuid.uuid4()), "timestamp": 1_700_000_000,
            "type": "com.amazon.rum.dom_event", "details": "[1, 2]"}
    put(g, monitor_id, [bare], AppMonitorDetails={}, UserDetails={}, SessionMetadata=None)
    [document] = data(g)
    assert set(document) == {"event_timestamp", "event_type", "event_id", "event_version",
                             "log_stream", "application_id", "event_details"}
    assert document["event_details"] == [1, 2]


def test_metadata_that_is_not_an_object_is_returned_as_sent(gate: tuple[Gate, str]) -> None:
    """Nothing to merge: the event's own metadata wins whole, else the session's."""
    g, monitor_id = gate
    own, session_only = event(0, metadata='"just text"'), event(1)
    del session_only["metadata"]
    put(g, monitor_id, [own, session_only], SessionMetadata=json.dumps({"browserName": "X"}))
    assert [d["metadata"] for d in data(g)] == ["just text", {"browserName": "X"}]


# -- CustomEvents on ingestion -----------------------------------------------------------------

def _stored_types(g: Gate) -> list[list[str]]:
    return [[e.type for e in stored.events] for stored in g.events("shop")]


def test_custom_events_are_dropped_while_custom_events_are_disabled(
        gate: tuple[Gate, str]) -> None:
    """The default. The batch is still accepted (200) and stored with its built-in events."""
    g, monitor_id = gate
    assert g.get_app_monitor(Name="shop")["AppMonitor"]["CustomEvents"] == {"Status": "DISABLED"}
    built_in = event(0)
    body = batch(monitor_id, "v1", RumEvents=[custom(1), built_in, custom(2, "com.amazon.rum.x")])
    result = g.put_rum_events(monitor_id, encoded(body))
    assert result.status == 200 and result.stored
    [stored] = g.events("shop")
    assert stored.event_count == 1 and [e.id for e in stored.events] == [built_in["id"]]
    assert ids(data(g)) == [built_in["id"]]
    only_custom = batch(monitor_id, "v1", RumEvents=[custom(3)])
    assert g.put_rum_events(monitor_id, encoded(only_custom)).stored
    assert _stored_types(g)[1] == [] and g.events("shop")[1].event_count == 0


def test_the_setting_applies_to_the_next_request_after_update_app_monitor(
        gate: tuple[Gate, str]) -> None:
    g, monitor_id = gate
    for status, kept in (("ENABLED", True), ("DISABLED", False), ("ENABLED", True)):
        g.update_app_monitor(Name="shop", CustomEvents={"Status": status})
        put(g, monitor_id, [event(0), custom(1)])
        assert _stored_types(g)[-1] == (["com.amazon.rum.page_view_event", "my_custom_event"]
                                        if kept else ["com.amazon.rum.page_view_event"])
    assert [d["event_details"] for d in data(g, Filters=[
        {"Name": "EventType", "Values": ["my_custom_event"]}])] == [{"visit_count": 1}] * 2


def test_custom_events_without_a_status_are_disabled(gate: tuple[Gate, str]) -> None:
    """`CustomEvents: {}` is valid (Status is optional in the model); it is not ENABLED."""
    g, monitor_id = gate
    g.update_app_monitor(Name="shop", CustomEvents={})
    put(g, monitor_id, [event(0), custom(1)])
    assert _stored_types(g) == [["com.amazon.rum.page_view_event"]]


def test_custom_events_enabled_at_creation_are_kept() -> None:
    g = Gate(None, clock=lambda: NOW)
    monitor_id = g.create_app_monitor(Name="shop", Domain="example.com",
                                      CustomEvents={"Status": "ENABLED"})["Id"]
    g.put_resource_policy(Name="shop", PolicyDocument=alias_policy())
    put(g, monitor_id, [custom(0, "a"), custom(1, "x" * 256)])
    assert _stored_types(g) == [["a", "x" * 256]]


def _details_of(size: int) -> str:
    """Details of exactly `size` bytes of UTF-8 (an even size), two bytes a character."""
    text = json.dumps({"note": "é" * ((size - len('{"note": ""}')) // 2)}, ensure_ascii=False)
    assert len(text.encode()) == size
    return text


@pytest.mark.parametrize(("sent", "kept"), [
    (custom(0, "my event"), False),            # a space: not alphanumeric, _, - or .
    (custom(0, "x" * 257), False),             # "between 1 and 256 characters"
    (custom(0, "événement"), False),
    (event(0, type="ok", details="[1]"), False),             # "Must be an object"
    (event(0, type="ok", details=" \n{\"a\": 1}"), True),
    (event(0, type="ok", details=_details_of(MAX_CUSTOM_DETAILS)), True),      # 6 KB of UTF-8
    (event(0, type="ok", details=_details_of(MAX_CUSTOM_DETAILS + 2)), False),
])
def test_enabled_custom_events_must_meet_the_documented_requirements(
        gate: tuple[Gate, str], sent: dict[str, Any], kept: bool) -> None:
    g, monitor_id = gate
    g.update_app_monitor(Name="shop", CustomEvents={"Status": "ENABLED"})
    built_in = event(1)
    put(g, monitor_id, [sent, built_in])
    [stored] = g.events("shop")
    assert [e.id for e in stored.events] == [sent["id"]] * kept + [built_in["id"]]


def test_dropping_keeps_the_rest_of_the_body_and_its_store_rules(gate: tuple[Gate, str]) -> None:
    g, monitor_id = gate
    body = batch(monitor_id, "v1", RumEvents=[event(0, extra={"kept": True}), custom(1)],
                 Unmodeled={"also": "kept"})
    assert g.put_rum_events(monitor_id, encoded(body)).stored
    stored = json.loads(g.events("shop")[0].body)
    assert stored["Unmodeled"] == {"also": "kept"}
    assert stored["RumEvents"] == [body["RumEvents"][0]]
    # A duplicate member is refused as the store refuses it, even where events are dropped.
    text = encoded(batch(monitor_id, "v1", RumEvents=[custom(2)])).decode()
    forged = text.replace('"BatchId":', '"BatchId":"x","BatchId":', 1)
    result = g.put_rum_events(monitor_id, forged)
    assert result.error is not None and result.status == 400
    assert 'duplicate member "BatchId"' in result.error.message
    assert len(g.events("shop")) == 1


def test_dropping_parses_the_body_once(gate: tuple[Gate, str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The cut is made from the gate's own parse, and the store does not parse the text written
    from it again: on an in-memory store all of that ran on the event loop (three parses)."""
    g, monitor_id = gate
    body = encoded(batch(monitor_id, "v1", RumEvents=[event(0), custom(1), event(2)]))
    parses: list[bytes] = []  # of a whole body, not of a member's JSON text
    parse = orjson.loads

    def counted(text: bytes | str) -> Any:
        if isinstance(text, bytes) and b'"RumEvents"' in text:
            parses.append(text)
        return parse(text)

    monkeypatch.setattr(orjson, "loads", counted)
    assert g.put_rum_events(monitor_id, body).stored
    monkeypatch.undo()
    assert parses == [body]
    assert [e.type for e in g.events("shop")[0].events] == ["com.amazon.rum.page_view_event"] * 2


_KINDS = st.sampled_from(["com.amazon.rum.page_view_event", "com.amazon.rum.http_event",
                          "my_custom_event", "bad type", "x" * 257])


@settings(max_examples=60, deadline=None)
@given(kinds=st.lists(_KINDS, max_size=6), enabled=st.booleans(), indent=st.booleans(),
       object_details=st.lists(st.booleans(), min_size=6, max_size=6))
def test_a_cut_batch_is_stored_as_orjson_writes_the_parsed_body_less_its_dropped_events(
        kinds: list[str], enabled: bool, indent: bool, object_details: list[bool]) -> None:
    """Byte for byte, for any mix of kept and dropped events and any layout of the text sent:
    what is stored and what is answered are what they were before the cut reused the parse."""
    g, monitor_id = make_gate()
    if enabled:
        g.update_app_monitor(Name="shop", CustomEvents={"Status": "ENABLED"})
    events = [event(n, type=kind, details=json.dumps({"n": n}) if whole else "[1]")
              for n, (kind, whole) in enumerate(zip(kinds, object_details, strict=False))]
    sent = batch(monitor_id, "v1", RumEvents=events, Unmodeled={"kept": [1, {"a": None}]})
    text = json.dumps(sent, indent=1 if indent else None).encode()
    result = g.put_rum_events(monitor_id, text)
    assert (result.status, result.response(), result.stored) == (200, {}, True)
    kept = [e for e in events if e["type"].startswith("com.amazon.rum.")
            or (enabled and e["type"] == "my_custom_event" and e["details"] != "[1]")]
    [stored] = g.events("shop")
    expected = text if kept == events else orjson.dumps(
        {**orjson.loads(text), "RumEvents": kept})
    assert stored.body == expected and stored.event_count == len(kept)


def test_the_web_clients_settings_filter_nothing_on_the_server() -> None:
    """Sampling, telemetries, page lists, cookies and X-Ray are aws-rum-web's configuration
    (its docs/configuration.md: "recorded by the web client"), and Domain is the snippet's: an
    event the settings would not have let the client record, from another site's page, is
    ingested all the same."""
    g = Gate(None, clock=lambda: NOW)
    monitor_id = g.create_app_monitor(Name="shop", Domain="example.com", AppMonitorConfiguration={
        "SessionSampleRate": 0, "Telemetries": ["performance"], "ExcludedPages": ["https://example.com/cart"],
        "AllowCookies": False, "EnableXRay": False})["Id"]
    g.put_resource_policy(Name="shop", PolicyDocument=alias_policy())
    error = event(0, type="com.amazon.rum.js_error_event",
                  metadata=json.dumps({"pageId": "/cart", "domain": "elsewhere.example"}))
    body = batch(monitor_id, "v1", RumEvents=[error])
    result = g.put_rum_events(monitor_id, encoded(body),
                              Origin(referer="https://elsewhere.example/cart"))
    assert result.stored and ids(data(g)) == [error["id"]]


def test_a_batch_of_built_in_events_is_stored_exactly_as_sent(gate: tuple[Gate, str]) -> None:
    g, monitor_id = gate
    text = json.dumps(batch(monitor_id, "v1", events=4), indent=1).encode()
    assert g.put_rum_events(monitor_id, text).stored
    assert g.events("shop")[0].body == text


# -- over HTTP, with boto3 ---------------------------------------------------------------------

def _served_monitor(client: Any) -> tuple[str, str]:
    """A monitor under the alias policy, with a name of its own on the shared server."""
    name = f"data-{uuid.uuid4().hex[:12]}"
    monitor_id = client.create_app_monitor(Name=name, Domain="example.com")["Id"]
    client.put_resource_policy(Name=name, PolicyDocument=alias_policy(name))
    return name, monitor_id


def test_boto3_reads_pages_filters_and_errors_from_a_live_server(
        rum_gate: GateServer, rum_client: Any) -> None:
    name, monitor_id = _served_monitor(rum_client)
    now = int(time.time())
    sent = [event(n, timestamp=now - 100 + n) for n in range(7)]
    sent.append(event(7, type="com.amazon.rum.http_event", timestamp=now - 50))
    rum_client.put_rum_events(Id=monitor_id, **batch(monitor_id, "v1", RumEvents=sent[:4]))
    rum_client.put_rum_events(Id=monitor_id, **batch(monitor_id, "v1", RumEvents=sent[4:]))
    pages = list(rum_client.get_paginator("get_app_monitor_data").paginate(
        Name=name, TimeRange={"After": (now - 200) * 1000}, PaginationConfig={"PageSize": 3}))
    assert [len(p["Events"]) for p in pages] == [3, 3, 2]
    documents = [json.loads(d) for p in pages for d in p["Events"]]
    assert ids(documents) == [e["id"] for e in sent]
    assert all(d["application_id"] == monitor_id for d in documents)
    http = rum_client.get_app_monitor_data(
        Name=name, TimeRange={"After": 0, "Before": (now - 60) * 1000},
        Filters=[{"Name": "EventType", "Values": ["com.amazon.rum.http_event"]}])
    assert http["Events"] == []  # the http event is later than Before
    with pytest.raises(rum_client.exceptions.ResourceNotFoundException) as missing:
        rum_client.get_app_monitor_data(Name=f"{name}-no", TimeRange={"After": 0})
    assert missing.value.response["resourceName"] == f"{name}-no"
    assert missing.value.response["resourceType"] == "AppMonitor"
    with pytest.raises(rum_client.exceptions.ValidationException) as bad:
        rum_client.get_app_monitor_data(Name=name, TimeRange={"After": 0}, MaxResults=101)
    assert "at 'MaxResults'" in bad.value.response["Error"]["Message"]
    with pytest.raises(rum_client.exceptions.ValidationException) as unknown:
        rum_client.get_app_monitor_data(Name=name, TimeRange={"After": 0},
                                        Filters=[{"Name": "Region", "Values": ["x"]}])
    assert "at 'Filters[0].Name'" in unknown.value.response["Error"]["Message"]


def test_boto3_custom_events_follow_update_app_monitor_on_a_live_server(
        rum_gate: GateServer, rum_client: Any) -> None:
    name, monitor_id = _served_monitor(rum_client)
    now = int(time.time())

    def put_pair() -> None:
        events = [event(0, timestamp=now - 10), custom(1) | {"timestamp": now - 10}]
        response = rum_client.put_rum_events(Id=monitor_id,
                                             **batch(monitor_id, "v1", RumEvents=events))
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 200

    def custom_kept() -> int:
        return len(rum_client.get_app_monitor_data(
            Name=name, TimeRange={"After": 0},
            Filters=[{"Name": "EventType", "Values": ["my_custom_event"]}])["Events"])

    put_pair()
    assert custom_kept() == 0
    rum_client.update_app_monitor(Name=name, CustomEvents={"Status": "ENABLED"})
    put_pair()
    assert custom_kept() == 1
    assert [len(b.events) for b in rum_gate.events(name)] == [1, 2]


@pytest.mark.parametrize("position", ["\u0661.\u0662.\u0663", "1.2", "1.2.x", "-.1.2"])
def test_a_token_that_no_call_returned_is_refused(position: str) -> None:
    """Tokens hold three ASCII integers; other digits are not a position (review)."""
    gate = Gate()
    gate.create_app_monitor(Name="shop", Domain="example.com")
    with pytest.raises(GateError) as refused:
        gate.get_app_monitor_data(Name="shop", TimeRange={"After": 0},
                                  NextToken=encode_token(position))
    assert refused.value.code == "ValidationException"
    assert "Member must be a token returned by a previous call" in refused.value.message
