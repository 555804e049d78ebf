"""The catalogue, the registered checks and docs/audit.md say the same thing."""

from __future__ import annotations

from pathlib import Path

from rumpolicy.analysis.audit import CATALOGUE
from rumpolicy.analysis.audit.actions import coverage
from rumpolicy.analysis.audit.catalogue import markdown_table
from rumpolicy.analysis.audit.checks import registered

ROOT = Path(__file__).resolve().parents[2]


def test_docs_table_is_the_catalogue():
    text = (ROOT / "docs" / "audit.md").read_text(encoding="utf-8")
    start = text.index("<!-- catalogue:start -->\n") + len("<!-- catalogue:start -->\n")
    end = text.index("\n<!-- catalogue:end -->")
    assert text[start:end] == markdown_table(), "regenerate the table with markdown_table()"


def test_every_non_loader_check_is_registered_once():
    ids = [i for ids, _ in registered() for i in ids]
    assert len(ids) == len(set(ids))
    expected = {c.id for c in CATALOGUE.values() if c.basis not in ("loader", "source")}
    assert set(ids) == expected


def test_docs_have_a_semantics_choices_section():
    text = (ROOT / "docs" / "audit.md").read_text(encoding="utf-8")
    assert "\n## Semantics choices\n" in text


def test_action_coverage_from_policyuniverse():
    """rum:Put* covers PutRumEvents, PutRumMetricsDestination (policyuniverse) and
    PutResourcePolicy (Service Authorization Reference, added where policyuniverse lacks it)."""
    assert coverage("rum:Put*").actions == ("rum:PutResourcePolicy", "rum:PutRumEvents",
                                            "rum:PutRumMetricsDestination")
    assert coverage("RUM:putrumevents").actions == ("rum:PutRumEvents",)
    assert coverage("rum:PutRumEvent?").actions == ("rum:PutRumEvents",)
    assert coverage("rum:PutRumEvent").actions == ()
    assert not coverage("rums:PutRumEvents").service_known
    assert len(coverage("rum:*").actions) == 20
    assert "s3:GetObject" in coverage("*").actions
