"""The metrics operations: destinations (PutRumMetricsDestination, ListRumMetricsDestinations,
DeleteRumMetricsDestination) and the metric definitions sent to them
(BatchCreateRumMetricDefinitions, BatchGetRumMetricDefinitions, BatchDeleteRumMetricDefinitions,
UpdateRumMetricDefinition).

The gate keeps destinations and definitions as RUM would and answers for them as the API
Reference says; it publishes no metric to CloudWatch or Evidently. A destination is CloudWatch
(one per monitor, no ARN) or an Evidently experiment (by its ARN, with the IAM role RUM would
assume). Definitions are checked one by one (`metric_rules.py`): the batch operations report a
bad entry in `Errors` and carry out the rest, all in one transaction. Failing calls change
nothing. Each rule the documents leave open is listed in docs/semantics.md ("The gate").
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from rumpolicy.gate import metric_rules
from rumpolicy.gate.api import describe
from rumpolicy.gate.errors import GateError
from rumpolicy.gate.metric_rules import CLOUDWATCH, EVIDENTLY
from rumpolicy.gate.paging import page
from rumpolicy.gate.registry import Registry
from rumpolicy.gate.validation import member_error
from rumpolicy.policy.arns import split_arn

MAX_DEFINITIONS = 2000
"""Per destination, each dimension value counting as one (BatchCreateRumMetricDefinitions; the
user guide: "each combination of dimension name and dimension value counts toward this
limit")."""
MAX_PER_CALL = 200
"""Definitions in one BatchCreate or BatchDelete call (API Reference)."""
MAX_DESTINATIONS = 20
"""Per app monitor: the `maxItems` of AWS::RUM::AppMonitor's MetricDestinations in its
CloudFormation registry schema, the only figure AWS publishes."""
PAGE_SIZE = 50
"""MaxResults' default for ListRumMetricsDestinations and BatchGetRumMetricDefinitions."""

Destination = tuple[str, str]
"""(CloudWatch or Evidently, the DestinationArn: '' for CloudWatch)."""
_WHERE = "monitor_id = ? AND destination = ? AND destination_arn = ?"
"""The rows of one destination: (monitor id, kind, ARN)."""


# -- destinations ----------------------------------------------------------------------------

def put_rum_metrics_destination(registry: Registry, members: Mapping[str, Any]
                                ) -> dict[str, Any]:
    """Creates the destination, or gives an existing one the new IamRoleArn."""
    kind, arn = _destination(members)
    role = members.get("IamRoleArn")
    if kind == CLOUDWATCH and role is not None:
        raise member_error("IamRoleArn", role, "Member must be absent when Destination is "
                                               "CloudWatch")
    if kind == EVIDENTLY:
        _check_arn("DestinationArn", arn, "evidently", "project/",
                   "the ARN of an Evidently experiment (arn:aws:evidently:REGION:ACCOUNT:"
                   "project/...)")
        if role is None:
            raise member_error("IamRoleArn", None, "Member must not be null when Destination "
                                                   "is Evidently")
        _check_arn("IamRoleArn", role, "iam", "role/",
                   "the ARN of an IAM role (arn:aws:iam::ACCOUNT:role/NAME)")
    with registry.lock:
        monitor_id = registry.monitor(members["AppMonitorName"]).id
        held = _destinations(registry, monitor_id)
        if (kind, arn) not in {(row[0], row[1]) for row in held} \
                and len(held) >= MAX_DESTINATIONS:
            raise member_error("Destination", kind, f"An app monitor may have at most "
                                                    f"{MAX_DESTINATIONS} metrics destinations")
        registry.storage.execute((
            "INSERT INTO metrics_destinations (monitor_id, destination, destination_arn,"
            " iam_role_arn) VALUES (?, ?, ?, ?) ON CONFLICT (monitor_id, destination,"
            " destination_arn) DO UPDATE SET iam_role_arn = excluded.iam_role_arn",
            (monitor_id, kind, arn, role)))
    return {}


def list_rum_metrics_destinations(registry: Registry, members: Mapping[str, Any]
                                  ) -> dict[str, Any]:
    """CloudWatch first, then Evidently destinations by ARN."""
    held = _destinations(registry, registry.monitor(members["AppMonitorName"]).id)
    chosen, token = page(held, lambda row: f"{row[0]}\n{row[1]}", members.get("MaxResults"),
                         members.get("NextToken"), default=PAGE_SIZE)
    answer: dict[str, Any] = {"Destinations": [_summary(*row) for row in chosen]}
    if token is not None:
        answer["NextToken"] = token
    return answer


def delete_rum_metrics_destination(registry: Registry, members: Mapping[str, Any]
                                   ) -> dict[str, Any]:
    """Deletes the destination with every definition sent to it."""
    destination = _destination(members)
    with registry.lock:
        monitor_id = _held_destination(registry, members["AppMonitorName"], destination)
        registry.storage.execute((f"DELETE FROM metrics_destinations WHERE {_WHERE}",
                                  (monitor_id, *destination)))
    return {}


def _destination(members: Mapping[str, Any]) -> Destination:
    """The destination a call names: DestinationArn is required for Evidently and forbidden
    for CloudWatch (API Reference, every metrics operation)."""
    kind, arn = members["Destination"], members.get("DestinationArn")
    if kind == CLOUDWATCH and arn is not None:
        raise member_error("DestinationArn", arn, "Member must be absent when Destination is "
                                                  "CloudWatch")
    if kind == EVIDENTLY and arn is None:
        raise member_error("DestinationArn", None, "Member must not be null when Destination "
                                                   "is Evidently")
    return kind, arn or ""


def _check_arn(member: str, arn: str, service: str, resource: str, what: str) -> None:
    """The model only asks for `arn:` somewhere in the text; the gate wants the ARN of the
    resource the member names (docs/semantics.md)."""
    parts = split_arn(arn)
    if parts is None or not parts.partition or parts.service != service \
            or bool(parts.region) != (service != "iam") \
            or not _ACCOUNT.fullmatch(parts.account) \
            or not parts.resource.startswith(resource) or parts.resource == resource:
        raise member_error(member, arn, f"Member must be {what}")


_ACCOUNT = re.compile(r"\d{12}", re.ASCII)


def _destinations(registry: Registry, monitor_id: str) -> list[tuple[str, str, str | None]]:
    return [(row[0], row[1], row[2]) for row in registry.storage.query(
        "SELECT destination, destination_arn, iam_role_arn FROM metrics_destinations"
        " WHERE monitor_id = ?", (monitor_id,))]


def _summary(kind: str, arn: str, role: str | None) -> dict[str, str]:
    """MetricDestinationSummary: DestinationArn and IamRoleArn only for Evidently."""
    if kind == CLOUDWATCH:
        return {"Destination": kind}
    return {"Destination": kind, "DestinationArn": arn, "IamRoleArn": str(role)}


def _held_destination(registry: Registry, name: str, destination: Destination) -> str:
    """The id of the monitor called `name` if it has `destination`; else
    ResourceNotFoundException (definitions need their destination first)."""
    monitor_id = registry.monitor(name).id
    if not registry.storage.query(f"SELECT 1 FROM metrics_destinations WHERE {_WHERE}",
                                  (monitor_id, *destination)):
        kind, arn = destination
        raise GateError("ResourceNotFoundException",
                        f"App monitor {name} has no {kind} metrics destination"
                        f"{' ' + arn if arn else ''}; create it with PutRumMetricsDestination "
                        "first.", resourceName=arn or kind, resourceType="MetricsDestination")
    return monitor_id


# -- metric definitions ----------------------------------------------------------------------


def batch_create_rum_metric_definitions(registry: Registry, members: Mapping[str, Any]
                                        ) -> dict[str, Any]:
    """Creates the good entries, reports the others in `Errors` (ValidationException, or
    ConflictException for a definition the destination has or an earlier entry repeats). If
    the good ones would take the destination past its quota, nothing is created."""
    kind, arn = destination = _destination(members)
    entries: list[dict[str, Any]] = members["MetricDefinitions"]
    _check_count("MetricDefinitions", entries)
    checked = [metric_rules.check(entry, kind, ("MetricDefinitions", n))
               for n, entry in enumerate(entries)]
    with registry.lock:
        monitor_id = _held_destination(registry, members["AppMonitorName"], destination)
        where = (monitor_id, kind, arn)
        held = _same_as(registry, where, [c.canonical for c in checked if not c.problems])
        created, errors, rows = [], [], []
        for n, (entry, result) in enumerate(zip(entries, checked, strict=True)):
            if result.problems:
                errors.append(_failed(entry, "ValidationException", describe(result.problems)))
            elif result.canonical in held:
                errors.append(_failed(entry, "ConflictException", _repeats(
                    n, held[result.canonical])))
            else:
                definition_id = str(uuid.uuid4())
                held[result.canonical] = definition_id
                created.append({"MetricDefinitionId": definition_id, **entry})
                rows.append((definition_id, *where, json.dumps(entry), result.canonical,
                             result.weight))
        weight = sum(row[-1] for row in rows)
        _check_quota(registry, where, weight)
        registry.storage.execute(*(
            ("INSERT INTO metric_definitions (id, monitor_id, destination, destination_arn,"
             " definition, canonical, weight) VALUES (?, ?, ?, ?, ?, ?, ?)", row)
            for row in rows))
    return {"Errors": errors, "MetricDefinitions": created}


def batch_get_rum_metric_definitions(registry: Registry, members: Mapping[str, Any]
                                     ) -> dict[str, Any]:
    """The destination's definitions in the order they were created."""
    destination = _destination(members)
    monitor_id = _held_destination(registry, members["AppMonitorName"], destination)
    rows = registry.storage.query(
        f"SELECT seq, id, definition FROM metric_definitions WHERE {_WHERE}",
        (monitor_id, *destination))
    chosen, token = page(rows, lambda row: f"{row[0]:020d}", members.get("MaxResults"),
                         members.get("NextToken"), default=PAGE_SIZE)
    answer: dict[str, Any] = {"MetricDefinitions": [
        {"MetricDefinitionId": row[1], **json.loads(row[2])} for row in chosen]}
    if token is not None:
        answer["NextToken"] = token
    return answer


def batch_delete_rum_metric_definitions(registry: Registry, members: Mapping[str, Any]
                                        ) -> dict[str, Any]:
    """Deletes the ids the destination has; reports the others in `Errors`
    (ResourceNotFoundException, or ValidationException for an id given twice)."""
    destination = _destination(members)
    ids: list[str] = members["MetricDefinitionIds"]
    _check_count("MetricDefinitionIds", ids)
    with registry.lock:
        monitor_id = _held_destination(registry, members["AppMonitorName"], destination)
        marks = ", ".join("?" * len(ids))
        held = {row[0] for row in registry.storage.query(
            f"SELECT id FROM metric_definitions WHERE {_WHERE} AND id IN ({marks})",
            (monitor_id, *destination, *ids))}
        deleted: list[str] = []
        errors = []
        for n, definition_id in enumerate(ids):
            if definition_id in ids[:n]:
                errors.append(_not_deleted(definition_id, "ValidationException",
                                           f"MetricDefinitionIds[{n}] repeats an earlier id"))
            elif definition_id not in held:
                errors.append(_not_deleted(definition_id, "ResourceNotFoundException",
                                           f"This destination has no metric definition "
                                           f"{definition_id}."))
            else:
                deleted.append(definition_id)
        if deleted:
            registry.storage.execute((
                f"DELETE FROM metric_definitions WHERE id IN ({', '.join('?' * len(deleted))})",
                deleted))
    return {"Errors": errors, "MetricDefinitionIds": deleted}


def update_rum_metric_definition(registry: Registry, members: Mapping[str, Any]
                                 ) -> dict[str, Any]:
    """Replaces one definition, keeping its id and its place in BatchGet's order."""
    kind, arn = destination = _destination(members)
    entry, definition_id = members["MetricDefinition"], members["MetricDefinitionId"]
    result = metric_rules.check(entry, kind, ("MetricDefinition",))
    if result.problems:
        raise GateError("ValidationException", describe(result.problems))
    with registry.lock:
        monitor_id = _held_destination(registry, members["AppMonitorName"], destination)
        where = (monitor_id, kind, arn)
        old = registry.storage.query(
            f"SELECT weight FROM metric_definitions WHERE {_WHERE} AND id = ?",
            (*where, definition_id))
        if not old:
            raise GateError("ResourceNotFoundException",
                            f"This destination has no metric definition {definition_id}.",
                            resourceName=definition_id, resourceType="MetricDefinition")
        other = _same_as(registry, where, [result.canonical]).get(result.canonical)
        if other is not None and other != definition_id:
            raise GateError("ConflictException", f"The destination already has this metric "
                                                 f"definition: {other}.",
                            resourceName=other, resourceType="MetricDefinition")
        _check_quota(registry, where, result.weight - old[0][0])
        registry.storage.execute((
            "UPDATE metric_definitions SET definition = ?, canonical = ?, weight = ?"
            " WHERE id = ?", (json.dumps(entry), result.canonical, result.weight,
                              definition_id)))
    return {}


def _check_count(member: str, items: Sequence[Any]) -> None:
    if len(items) > MAX_PER_CALL:
        raise member_error(member, f"<{len(items)} items>", f"Member must have length less "
                                                            f"than or equal to {MAX_PER_CALL}")


def _same_as(registry: Registry, where: tuple[str, str, str], canonical: Sequence[str]
             ) -> dict[str, str]:
    """{canonical form: id} of the destination's definitions that are among `canonical`."""
    if not canonical:
        return {}
    return {row[0]: row[1] for row in registry.storage.query(
        f"SELECT canonical, id FROM metric_definitions WHERE {_WHERE}"
        f" AND canonical IN ({', '.join('?' * len(canonical))})", (*where, *canonical))}


def _check_quota(registry: Registry, where: tuple[str, str, str], added: int) -> None:
    held = registry.storage.query(
        f"SELECT coalesce(sum(weight), 0) FROM metric_definitions WHERE {_WHERE}", where)[0][0]
    if added > 0 and held + added > MAX_DEFINITIONS:
        raise GateError("ServiceQuotaExceededException",
                        f"The destination would hold {held + added} metrics, more than its "
                        f"quota of {MAX_DEFINITIONS} (each dimension value a definition names "
                        f"counts as one); nothing was changed.")


def _repeats(n: int, existing: str) -> str:
    return f"MetricDefinitions[{n}] is the same metric definition as {existing}."


def _failed(entry: Mapping[str, Any], code: str, message: str) -> dict[str, Any]:
    return {"MetricDefinition": dict(entry), "ErrorCode": code, "ErrorMessage": message}


def _not_deleted(definition_id: str, code: str, message: str) -> dict[str, str]:
    return {"MetricDefinitionId": definition_id, "ErrorCode": code, "ErrorMessage": message}

