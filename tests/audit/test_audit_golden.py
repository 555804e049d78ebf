"""The audit's findings on a seeded slice of the benchmark corpus, pinned.

The engine-backed checks are tuned for speed (shared probes, skipped evaluations, memoized
decisions); an optimisation that drops, moves or rewords a finding must fail here, not pass
quietly. `golden_bench_findings.json` was computed before the audit was optimised; regenerate
it only for a deliberate change in what the audit reports:

    .venv/bin/python -m tests.audit.test_audit_golden --write
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from _bench import audit_bench  # tests/_bench.py

GOLDEN = Path(__file__).resolve().parent / "golden_bench_findings.json"
SEED = 20261126
COUNT = 200
MONITORED = 60
"""The first policies are audited a second time with `--monitor` (a monitor most of them do not
name), which exercises resource-not-monitor and the cross-account probes on a fixed monitor."""
MONITOR = "arn:aws:rum:us-east-1:123456789012:appmonitor/shop"


def _texts() -> list[str]:
    texts: list[str] = audit_bench().corpus(COUNT, SEED)
    return texts


def _digest(texts: list[str]) -> str:
    return hashlib.sha256("\x00".join(texts).encode()).hexdigest()


def _current(texts: list[str]) -> list[dict[str, Any]]:
    from rumpolicy.analysis.audit import audit_text

    runs: list[dict[str, Any]] = []
    for monitor, count in ((None, COUNT), (MONITOR, MONITORED)):
        for index, text in enumerate(texts[:count]):
            findings = audit_text(text, "p.json", monitor)
            runs.append({"policy": index, "monitor": monitor,
                         "findings": [[f.id, f.line, f.column, f.message] for f in findings]})
    return runs


def test_bench_slice_findings_are_pinned() -> None:
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    texts = _texts()
    assert _digest(texts) == golden["corpus_sha256"], (
        "bench/audit.py's corpus generator changed: the pinned findings no longer describe it; "
        "regenerate with `python -m tests.audit.test_audit_golden --write` (before changing "
        "the audit)")
    got = _current(texts)
    assert len(got) == len(golden["runs"])
    for expected, actual in zip(golden["runs"], got, strict=True):
        where = f"policy {expected['policy']} (monitor {expected['monitor']})"
        assert actual["findings"] == expected["findings"], where


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        raise SystemExit("usage: python -m tests.audit.test_audit_golden --write")
    corpus = _texts()
    head = json.dumps({"seed": SEED, "count": COUNT, "monitor": MONITOR,
                       "corpus_sha256": _digest(corpus)})[:-1]
    rows = ",\n".join(json.dumps(run) for run in _current(corpus))  # one run a line: clear diffs
    GOLDEN.write_text(f"{head}, \"runs\": [\n{rows}\n]}}\n", encoding="utf-8")
    print(f"wrote {GOLDEN}")
