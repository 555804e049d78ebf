"""The bench scripts' workloads, for tests that pin results on them (tests/ is on sys.path)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def audit_bench() -> ModuleType:
    """bench/audit.py, whose `corpus(count, seed)` generates the audit bench's policies."""
    spec = importlib.util.spec_from_file_location("_bench_audit", ROOT / "bench" / "audit.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
