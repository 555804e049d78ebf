"""Fixtures for the gate's tests: an in-memory gate, its HTTP app under Starlette's TestClient,
and the pytest plugin's fixtures (`rum_gate`, `rum_client`, `rum_signed_client`)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from rumpolicy.gate import Gate
from rumpolicy.gate.storage import Storage
from rumpolicy.testing.gate_fixture import (  # noqa: F401  (fixtures used by the tests)
    rum_client,
    rum_gate,
    rum_gate_config,
    rum_mock,
    rum_signed_client,
)

from ._helpers import make_gate, store_with_monitor

with warnings.catch_warnings():  # starlette 1.x asks for httpx2 but works with httpx
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


@pytest.fixture
def gate() -> Iterator[tuple[Gate, str]]:
    made = make_gate()
    yield made
    made[0].close()


@pytest.fixture
def http(gate: tuple[Gate, str]) -> Iterator[tuple[TestClient, Gate, str]]:
    from rumpolicy.gate.app import create_app

    with TestClient(create_app(gate[0])) as client:
        yield client, gate[0], gate[1]


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    """A store on disk that has the helpers' STORED_MONITOR."""
    return store_with_monitor(tmp_path)
