"""The request models carry botocore's RUM model constraints, checked against the installed
botocore (and the team's reference extract when it is present), so a model change fails here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from rumpolicy.gate import models

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "wire" / \
    "putrumevents-model.json"

# shape -> (min, max, pattern) as models.py declares them
DECLARED: dict[str, tuple[int | None, int | None, str | None]] = {
    "PutRumEventsRequestIdString": (models.UUID_LENGTH, models.UUID_LENGTH, models.UUID_PATTERN),
    "PutRumEventsRequestBatchIdString": (models.UUID_LENGTH, models.UUID_LENGTH,
                                         models.UUID_PATTERN),
    "RumEventIdString": (models.UUID_LENGTH, models.UUID_LENGTH, models.UUID_PATTERN),
    "UserDetailsUserIdString": (models.UUID_LENGTH, models.UUID_LENGTH, models.UUID_PATTERN),
    "UserDetailsSessionIdString": (models.UUID_LENGTH, models.UUID_LENGTH, models.UUID_PATTERN),
    "Alias": (models.ALIAS_MIN, models.ALIAS_MAX, None),
}


@pytest.fixture(scope="module")
def service() -> Any:
    return botocore.session.get_session().get_service_model("rum")


@pytest.mark.parametrize("shape", sorted(DECLARED))
def test_constraints_equal_botocores(service: Any, shape: str) -> None:
    metadata = service.shape_for(shape).metadata
    assert (metadata.get("min"), metadata.get("max"), metadata.get("pattern")) == DECLARED[shape]


def test_required_members_equal_botocores(service: Any) -> None:
    put = service.operation_model("PutRumEvents").input_shape
    body_required = set(put.required_members) - {"Id"}  # Id travels in the URI
    assert models.PutRumEventsBody.__required_keys__ == body_required
    rum_event = service.shape_for("RumEvent")
    assert models.RumEventShape.__required_keys__ == set(rum_event.required_members)
    jsonvalues = {n for n, m in rum_event.members.items() if m.serialization.get("jsonvalue")}
    assert jsonvalues == {"metadata", "details"}


def test_every_put_member_is_modeled(service: Any) -> None:
    members = set(service.operation_model("PutRumEvents").input_shape.members) - {"Id"}
    assert members == set(models.PutRumEventsBody.__annotations__)


@pytest.mark.skipif(not REFERENCE.is_file(), reason="team reference extract not present")
def test_constraints_equal_the_reference_extract() -> None:
    shapes = json.loads(REFERENCE.read_text())["shapes"]
    for shape, declared in DECLARED.items():
        if shape in shapes:
            found = shapes[shape]
            assert (found.get("min"), found.get("max"), found.get("pattern")) == declared
