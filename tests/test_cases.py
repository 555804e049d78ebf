"""The data-driven corpus: every `tests/cases/**/*.json` case, each resting on a cited AWS rule.

Decision cases are run through both the interpreter and the compiled evaluator; loader cases
check the exact diagnostics (code, line, column).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import rumpolicy as rp

CASES_DIR = Path(__file__).parent / "cases"


def _load_cases() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.rglob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        for number, case in enumerate(doc["cases"]):
            merged = {**{k: v for k, v in doc.items() if k != "cases"}, **case}
            assert merged.get("rule") and str(merged.get("source", "")).startswith("https://"), (
                f"{path}: case {number} must cite the AWS rule and its URL")
            name = f"{path.relative_to(CASES_DIR)}::{case.get('name', number)}"
            params.append(pytest.param(merged, id=name))
    return params


CASES = _load_cases()


def _policy(data: Any, kind: str = "resource") -> rp.Policy | None:
    if data is None:
        return None
    return rp.load_policy(data, kind=kind)  # type: ignore[arg-type]


@pytest.mark.parametrize("case", CASES)
def test_case(case: dict[str, Any]) -> None:
    if "expect" in case:
        policy = _policy(case.get("policy"))
        identities = [_policy(p, "identity") for p in case.get("identity_policies", [])]
        request = rp.Request.from_dict(case["request"])
        decision = rp.evaluate(policy, request, identity_policies=identities)  # type: ignore[arg-type]
        assert decision.effect == case["expect"], (
            f"rule: {case['rule']}\n{decision.explain()}")
        compiled = rp.compile_policy(policy).evaluate(request, identity_policies=identities)  # type: ignore[arg-type]
        assert compiled == decision
        return
    source = case["text"] if "text" in case else case["policy"]
    if case.get("valid"):
        policy = rp.load_policy(source)
        assert rp.load_policy(policy.to_json()) == policy
        return
    with pytest.raises(rp.PolicyError) as raised:
        rp.load_policy(source)
    found = [(d.code, d.line, d.column) for d in raised.value.diagnostics]
    expected = case["errors"]
    assert len(found) == len(expected), raised.value.format()
    for got, want in zip(found, expected, strict=True):
        assert got[0] == want["code"], raised.value.format()
        if "line" in want:
            assert (got[1], got[2]) == (want["line"], want["column"]), raised.value.format()


def test_corpus_is_substantial() -> None:
    assert len(CASES) >= 300
