"""Decisions per second: rumpolicy (interpreted and compiled) against principalmapper 1.1.5.

Install and run, from the repository root::

    python3.11 -m venv .venv
    .venv/bin/pip install -e '.[dev,bench]'     # the bench extra pins principalmapper==1.1.5
    .venv/bin/python bench/decisions.py         # 100,000 requests, about 2 minutes on 2 cores
    .venv/bin/python bench/decisions.py --requests 20000 --repeat 2 --json /tmp/decisions.json

or keep the baseline out of the project venv (principalmapper pulls in botocore and pydot)::

    python3.11 -m venv .bench/venv
    .bench/venv/bin/pip install -e '.[bench]'
    .bench/venv/bin/python bench/decisions.py

What one run does:

1. Reads every policy in ``fixtures/policies/*.json`` and generates a seeded, deterministic
   workload (``bench/_workload.py``): anonymous and signed callers (same-account users, roles,
   assumed-role sessions, the role a policy names, other accounts), the policy's app monitor and
   other monitors, ``rum:alias`` matching / non-matching / wrong-case / absent, ``aws:SourceIp``
   inside and outside the policy's ranges (IPv4 and IPv6), and ``aws:CurrentTime``,
   ``aws:SecureTransport``, ``aws:referer`` where the policy reads them.
2. Builds every evaluator's inputs before any clock starts: ``rumpolicy.Request`` objects,
   compiled evaluators, principalmapper nodes and case-insensitive context dicts.
3. Decides every request once with each evaluator (untimed; warms caches, collects the
   decisions), checks that compiled == interpreted on every request and counts how often
   principalmapper agrees with rumpolicy (informational: its semantics differ, see below).
4. Times only the decision calls (``time.perf_counter_ns``, gc off, best of ``--repeat``),
   over the whole interleaved workload and per policy. The compiled evaluator memoizes
   decisions, so it is timed twice: "compiled" reuses one evaluator per policy (after the
   untimed pass every request is a memo hit: repeat traffic), "compiled, cold" gets new
   evaluators before each timed run (each distinct request is decided once: first-seen traffic).
5. Times the ``rumpolicy eval`` command line (start, decide, exit) against ``python -c pass``.

Targets printed next to the figures: compiled <= 1 us/decision and >= 30x principalmapper
(shown for both compiled rows); CLI median < 150 ms. Exit status 1 when compiled and
interpreted disagree anywhere (or rumpolicy cannot be imported); missed targets are reported,
not fatal.

How principalmapper is called (``principalmapper.querying.local_policy_simulation``):
``resource_policy_authorization(node_or_service, resource_owner, resource_policy, action,
resource, condition_keys)`` - the resource-policy half of its local simulator - with the same
policy dict, action, resource ARN and condition context as rumpolicy gets.

* Signed callers become ``principalmapper.common.Node`` objects. It only models IAM users and
  roles, so an STS assumed-role session ``arn:aws:sts::A:assumed-role/R/S`` is passed as the
  node of its role ``arn:aws:iam::A:role/R`` (a policy naming the role matches its sessions).
* Anonymous callers: principalmapper has no anonymous principal. Its other branch takes a
  *service* name as a string and then matches only ``"Principal": "*"`` (the bare string) or a
  ``{"Service": [...]}`` that lists the name. We pass the string ``"anonymous"`` - a name no
  policy lists - so anonymous callers match exactly the ``"Principal": "*"`` statements. IAM
  treats ``{"AWS": "*"}`` like ``"*"``; principalmapper does not, which is one known source of
  disagreement (``alias-referer-signed.json``).
* Its result is mapped to rumpolicy's effects (no identity policies are involved): DENY_MATCH ->
  explicit_deny; NODE_MATCH (same-account caller matched) and SERVICE_MATCH (our anonymous
  caller matched) -> allow; NO_MATCH -> implicit_deny; DIFF_ACCOUNT_MATCH -> implicit_deny
  (another account still needs its own identity policy, and RUM grants no cross-account
  access anyway); ROOT_MATCH (only the account is trusted, and principalmapper also returns it
  for ``{"AWS": "*"}`` with a same-account caller) -> implicit_deny.
* The context is handed over as principalmapper's own ``CaseInsensitiveDict``, built before
  timing, just as the ``rumpolicy.Request`` objects are.
* principalmapper 1.1.5 imports ``collections.Mapping``/``MutableMapping``, removed in Python
  3.10; the aliases are restored from ``collections.abc`` before it is imported.
"""

from __future__ import annotations

import argparse
import collections
import collections.abc
import functools
import gc
import importlib
import importlib.metadata
import json
import platform
import statistics
import subprocess
import sys
import time
import types
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import _workload as wl

ROOT = Path(__file__).resolve().parent.parent
POLICY_DIR = ROOT / "fixtures" / "policies"
SEED = 20240611
MICRO = "\u00b5"  # the micro sign, spelled out for the linter
TIMES = "\u00d7"  # the multiplication sign

TARGET_COMPILED_US = 1.0
TARGET_SPEEDUP = 30.0
TARGET_CLI_MS = 150.0
TARGET_BUILD_RATIO = 2.0
REQUEST_BUILD = "rumpolicy.Request"
BARE_BUILD = "bare frozen dataclass"
COPYING_BUILD = "bare frozen dataclass + read-only copy of its context"
CLI_COMMAND = [
    sys.executable,
    "-m",
    "rumpolicy",
    "eval",
    "fixtures/policies/aws-sample-alias.json",
    "--monitor",
    "arn:aws:rum:us-east-1:123456789012:appmonitor/MyApplication",
    "--alias",
    "alias1",
]
FLOOR_COMMAND = [sys.executable, "-c", "pass"]

PM_ANONYMOUS = "anonymous"  # see the module docstring: principalmapper's stand-in for no principal
PM_EFFECTS = {
    "DENY_MATCH": "explicit_deny",
    "NODE_MATCH": "allow",
    "SERVICE_MATCH": "allow",
    "NO_MATCH": "implicit_deny",
    "DIFF_ACCOUNT_MATCH": "implicit_deny",
    "ROOT_MATCH": "implicit_deny",
}

COMPILED = "rumpolicy compiled"
COMPILED_COLD = "rumpolicy compiled, cold"
INTERPRETED = "rumpolicy interpreted"
BASELINE = "principalmapper"


# --------------------------------------------------------------------------- imports


def import_rumpolicy() -> tuple[ModuleType | None, str]:
    """The rumpolicy package of this checkout, or None and why not."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    try:
        module = importlib.import_module("rumpolicy")
    except Exception as exc:  # any failure to import is reported, not raised
        return None, f"{type(exc).__name__}: {exc}"
    missing = [
        n
        for n in ("load_policy", "Request", "evaluate", "compile_policy")
        if not hasattr(module, n)
    ]
    if missing:
        return None, f"rumpolicy has no {', '.join(missing)} yet"
    return module, ""


@dataclass(frozen=True)
class PrincipalMapper:
    version: str
    authorize: Callable[..., Any]  # resource_policy_authorization
    node: Callable[..., Any]  # principalmapper.common.Node
    context: Callable[[dict[str, Any]], Any]  # CaseInsensitiveDict


def import_principalmapper() -> tuple[PrincipalMapper | None, str]:
    """principalmapper's local simulator, or None and why not."""
    for name in ("Mapping", "MutableMapping"):  # removed from `collections` in Python 3.10
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
    try:
        lps = importlib.import_module("principalmapper.querying.local_policy_simulation")
        common = importlib.import_module("principalmapper.common")
        cid = importlib.import_module("principalmapper.util.case_insensitive_dict")
        version = importlib.metadata.version("principalmapper")
    except Exception as exc:  # any failure to import is reported, not raised
        return None, f"{type(exc).__name__}: {exc}"
    return PrincipalMapper(
        version, lps.resource_policy_authorization, common.Node, cid.CaseInsensitiveDict
    ), ""


# --------------------------------------------------------------------------- inputs


def pm_caller(pm: PrincipalMapper, principal: str | None, cache: dict[str, Any]) -> Any:
    """principalmapper's view of a caller: a Node, or PM_ANONYMOUS for an unsigned request."""
    if principal is None:
        return PM_ANONYMOUS
    parts = principal.split(":", 5)
    arn = principal
    if parts[2] == "sts" and parts[5].startswith("assumed-role/"):
        role = parts[5].split("/")[1]
        arn = f"arn:{parts[1]}:iam::{parts[4]}:role/{role}"
    node = cache.get(arn)
    if node is None:
        is_role = ":role/" in arn
        node = pm.node(
            arn=arn,
            id_value=f"{'AROA' if is_role else 'AIDA'}{len(cache):016X}",
            attached_policies=[],
            group_memberships=[],
            trust_policy={} if is_role else None,
            instance_profile=None,
            num_access_keys=0,
            active_password=False,
            is_admin=False,
            permissions_boundary=None,
            has_mfa=False,
            tags={},
        )
        cache[arn] = node
    return node


def effect_name(decision: Any) -> str:
    effect = decision.effect
    return str(getattr(effect, "value", effect))


def decide_all(decide: Callable[[int], str], n: int) -> list[str]:
    """Every request's effect (untimed); an exception is recorded as 'error:Type'."""
    out = []
    for i in range(n):
        try:
            out.append(decide(i))
        except Exception as exc:  # counted and reported; such requests are not timed
            out.append(f"error:{type(exc).__name__}")
    return out


# --------------------------------------------------------------------------- timing


Factory = Callable[[], Callable[[], object]]
Runner = Callable[[Sequence[int]], Factory]


def best_ns(run: Callable[[], object], repeat: int) -> int:
    """Best wall time of *repeat* runs of *run*, gc off as timeit does."""
    return best_ns_fresh(lambda: run, repeat)


def best_ns_fresh(factory: Factory, repeat: int) -> int:
    """Best wall time of *repeat* runs, each of a new ``factory()`` made outside the clock."""
    best: int | None = None
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeat):
            run = factory()
            start = time.perf_counter_ns()
            run()
            elapsed = time.perf_counter_ns() - start
            best = elapsed if best is None else min(best, elapsed)
    finally:
        if enabled:
            gc.enable()
    assert best is not None
    return best


def loop_interpreted(
    evaluate: Callable[[Any, Any], Any], items: list[tuple[Any, Any]]
) -> Callable[[], None]:
    def run() -> None:
        for policy, request in items:
            evaluate(policy, request)

    return run


def loop_compiled(items: list[tuple[Callable[[Any], Any], Any]]) -> Callable[[], None]:
    def run() -> None:
        for decide, request in items:
            decide(request)

    return run


PmArgs = tuple[Any, str, dict[str, Any], str, str, Any]


def loop_pm(authorize: Callable[..., Any], items: list[PmArgs]) -> Callable[[], None]:
    def run() -> None:
        for who, owner, doc, action, resource, context in items:
            authorize(who, owner, doc, action, resource, context)

    return run


def _noop(a: Any, b: Any) -> None:
    return None


def loop_harness(items: list[tuple[Any, Any]]) -> Callable[[], None]:
    """The same loop shape calling a no-op: what the loop itself costs per request."""

    def run() -> None:
        for a, b in items:
            _noop(a, b)

    return run


def time_command(cmd: Sequence[str], runs: int) -> dict[str, Any]:
    """Wall time of *runs* runs of *cmd* (after one untimed warm-up run), in ms."""
    result: dict[str, Any] = {"command": list(cmd), "runs": runs}
    try:
        warm = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
        times = []
        for _ in range(runs):
            start = time.perf_counter_ns()
            subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=120)
            times.append((time.perf_counter_ns() - start) / 1e6)
    except (OSError, subprocess.SubprocessError) as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        return result
    result.update(
        returncode=warm.returncode,
        stdout_head=warm.stdout.strip().splitlines()[:1],
        stderr_tail=warm.stderr.strip().splitlines()[-1:],
        median_ms=statistics.median(times),
        min_ms=min(times),
    )
    return result


# --------------------------------------------------------------------------- report


def disagreement_hint(facts: wl.PolicyFacts, spec: wl.RequestSpec, rp: str, pm_raw: str) -> str:
    """A short reason why principalmapper decided differently, for the differences we know."""
    if spec.labels.get("resource") == "monitor-wrong-case" and pm_raw != "NO_MATCH":
        return "principalmapper matches Resource ARNs case-insensitively"
    if pm_raw == "ROOT_MATCH":
        return (
            'principalmapper reads {"AWS": "*"} as trusting the account only (ROOT_MATCH): '
            "no allow without an identity policy"
        )
    if spec.principal is None and rp == "allow" and pm_raw == "NO_MATCH":
        statements = wl.listify(facts.doc.get("Statement"))
        if any(isinstance(st.get("Principal"), dict) for st in statements):
            return 'principalmapper matches anonymous callers only against "Principal": "*"'
    return ""


# --------------------------------------------------------------------------- the run


@dataclass
class Run:
    """Everything built before the clocks start, and the untimed decisions."""

    policies: list[wl.PolicyFacts]
    specs: list[wl.RequestSpec]
    repeat: int
    effects: dict[str, list[str]] = field(default_factory=dict)
    pm_raw: list[str] = field(default_factory=list)
    runners: dict[str, Runner] = field(default_factory=dict)
    """Per evaluator: request indices -> a factory of timed loops over them."""
    build_us: dict[str, float] = field(default_factory=dict)
    setup: dict[str, dict[str, float]] = field(default_factory=dict)


def load_policies(
    rp: ModuleType | None, facts: list[wl.PolicyFacts], repeat: int, notes: list[str]
) -> tuple[list[wl.PolicyFacts], list[Any], dict[str, dict[str, float]]]:
    """Load and compile each fixture with rumpolicy (timing both); drop those it rejects."""
    if rp is None:
        return facts, [], {}
    kept: list[wl.PolicyFacts] = []
    loaded: list[Any] = []
    setup: dict[str, dict[str, float]] = {}
    for f in facts:
        try:
            policy = rp.load_policy(f.text)
            rp.compile_policy(policy)
        except Exception as exc:  # reported; the policy leaves the workload
            note = f"rumpolicy rejects {f.name}: {type(exc).__name__}: {exc}"
            print(f"!! {note}; left out of the workload")
            notes.append(note)
            continue
        load_ns = best_ns(functools.partial(rp.load_policy, f.text), repeat)
        compile_ns = best_ns(functools.partial(rp.compile_policy, policy), repeat)
        setup[f.name] = {"load_us": load_ns / 1e3, "compile_us": compile_ns / 1e3}
        kept.append(f)
        loaded.append(policy)
    return kept, loaded, setup


@dataclass(frozen=True, slots=True, kw_only=True)
class BareRequest:
    """The floor for building a request: `rumpolicy.Request`'s fields, no validation, no
    derived keys."""

    resource: str
    action: str = "rum:PutRumEvents"
    principal: str | None = None
    context: collections.abc.Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class CopyingRequest(BareRequest):
    """The bare dataclass plus the least any immutable request must do with the caller's
    context: read it into a read-only copy, checking that the values are strings. What this
    adds to the bare dataclass is memory the bare one never reads (each request's own context,
    cold in a large workload); docs/performance.md."""

    def __post_init__(self) -> None:
        copy = dict(self.context)
        if not all(type(v) is str or isinstance(v, list | tuple) for v in copy.values()):
            raise ValueError("context values must be strings or lists of strings")
        object.__setattr__(self, "context", types.MappingProxyType(copy))


def time_builds(run: Run, rp: ModuleType) -> list[Any]:
    """Request construction against the bare dataclass, alternating runs so that both see the
    same machine; returns the requests."""
    specs = run.specs

    def builder(cls: Any) -> Callable[[], list[Any]]:
        def build() -> list[Any]:
            return [
                cls(action=s.action, resource=s.resource, principal=s.principal, context=s.context)
                for s in specs
            ]

        return build

    shapes = [
        {"action": s.action, "resource": s.resource, "principal": s.principal, "context": s.context}
        for s in specs
    ]
    from_dict = rp.Request.from_dict
    builds = {
        REQUEST_BUILD: builder(rp.Request),
        BARE_BUILD: builder(BareRequest),
        COPYING_BUILD: builder(CopyingRequest),
        "rumpolicy.Request.from_dict": lambda: [from_dict(d) for d in shapes],
    }
    best: dict[str, float] = {}
    for _ in range(run.repeat):
        for name, build in builds.items():
            ns = best_ns(build, 1) / len(specs) / 1e3
            best[name] = min(ns, best.get(name, ns))
    run.build_us.update(best)
    return builds[REQUEST_BUILD]()


def prepare_rumpolicy(run: Run, rp: ModuleType, loaded: list[Any]) -> None:
    specs = run.specs
    requests = time_builds(run, rp)
    compiled = [rp.compile_policy(p).evaluate for p in loaded]
    evaluate = rp.evaluate
    run.effects[INTERPRETED] = decide_all(
        lambda i: effect_name(evaluate(loaded[specs[i].policy], requests[i])), len(specs)
    )
    run.effects[COMPILED] = decide_all(
        lambda i: effect_name(compiled[specs[i].policy](requests[i])), len(specs)
    )

    def warm(idx: Sequence[int]) -> Factory:
        loop = loop_compiled([(compiled[specs[i].policy], requests[i]) for i in idx])
        return lambda: loop

    def cold(idx: Sequence[int]) -> Factory:
        def factory() -> Callable[[], None]:
            fresh = [rp.compile_policy(p).evaluate for p in loaded]
            return loop_compiled([(fresh[specs[i].policy], requests[i]) for i in idx])

        return factory

    def interpreted(idx: Sequence[int]) -> Factory:
        loop = loop_interpreted(evaluate, [(loaded[specs[i].policy], requests[i]) for i in idx])
        return lambda: loop

    run.runners[COMPILED] = warm
    run.runners[COMPILED_COLD] = cold
    run.runners[INTERPRETED] = interpreted


def prepare_principalmapper(run: Run, pm: PrincipalMapper) -> None:
    nodes: dict[str, Any] = {}
    contexts = [pm.context(s.context) for s in run.specs]
    run.build_us["principalmapper CaseInsensitiveDict"] = (
        best_ns(lambda: [pm.context(s.context) for s in run.specs], run.repeat)
        / len(run.specs)
        / 1e3
    )
    items: list[PmArgs] = [
        (
            pm_caller(pm, s.principal, nodes),
            s.resource.split(":")[4],  # the resource owner: the monitor's account
            run.policies[s.policy].doc,
            s.action,
            s.resource,
            contexts[i],
        )
        for i, s in enumerate(run.specs)
    ]
    run.pm_raw = decide_all(lambda i: str(pm.authorize(*items[i]).name), len(items))
    run.effects[BASELINE] = [PM_EFFECTS.get(r, r) for r in run.pm_raw]
    authorize = pm.authorize

    def baseline(idx: Sequence[int]) -> Factory:
        loop = loop_pm(authorize, [items[i] for i in idx])
        return lambda: loop

    run.runners[BASELINE] = baseline


def compare(run: Run) -> dict[str, Any]:
    """compiled vs interpreted (must agree), principalmapper vs rumpolicy (informational)."""
    out: dict[str, Any] = {}
    specs, effects = run.specs, run.effects
    n = len(specs)
    if INTERPRETED in effects:
        ref = effects[INTERPRETED]
        bad = [i for i in range(n) if effects[COMPILED][i] != ref[i]]
        out["compiled_vs_interpreted_mismatches"] = len(bad)
        out["mismatch_examples"] = [
            {
                "policy": run.policies[specs[i].policy].name,
                "principal": specs[i].principal,
                "resource": specs[i].resource,
                "context": specs[i].context,
                "interpreted": ref[i],
                "compiled": effects[COMPILED][i],
            }
            for i in bad[:5]
        ]
        out["rumpolicy_effects"] = dict(sorted(Counter(ref).items()))
    if BASELINE in effects:
        out["principalmapper_results"] = dict(sorted(Counter(run.pm_raw).items()))
    if INTERPRETED in effects and BASELINE in effects:
        ref, base = effects[INTERPRETED], effects[BASELINE]
        groups: Counter[tuple[str, ...]] = Counter()
        examples: dict[tuple[str, ...], dict[str, Any]] = {}
        for i, s in enumerate(specs):
            if ref[i] == base[i]:
                continue
            facts = run.policies[s.policy]
            hint = disagreement_hint(facts, s, ref[i], run.pm_raw[i])
            key = (facts.name, s.labels["principal"], ref[i], base[i], run.pm_raw[i], hint)
            groups[key] += 1
            examples.setdefault(
                key, {"principal": s.principal, "resource": s.resource, "context": s.context}
            )
        agree = n - sum(groups.values())
        out["principalmapper_agreement"] = {
            "agree": agree,
            "total": n,
            "rate": agree / n,
            "disagreements": [
                {
                    "policy": k[0],
                    "principal": k[1],
                    "rumpolicy": k[2],
                    "principalmapper": k[3],
                    "principalmapper_result": k[4],
                    "hint": k[5],
                    "count": c,
                    "example": examples[k],
                }
                for k, c in groups.most_common()
            ],
        }
    return out


def time_all(run: Run, idx: list[int], per_policy: bool) -> dict[str, Any]:
    """Best-of-repeat timings over the interleaved workload, then per policy."""
    out: dict[str, Any] = {}
    harness_ns = best_ns(loop_harness([(run.specs[i], i) for i in idx]), run.repeat)
    out["harness_us_per_request"] = harness_ns / len(idx) / 1e3
    figures: dict[str, dict[str, Any]] = {}
    for name, make in run.runners.items():
        ns = best_ns_fresh(make(idx), run.repeat)
        figures[name] = {
            "requests": len(idx),
            "best_ns": ns,
            "us_per_decision": ns / len(idx) / 1e3,
            "decisions_per_s": len(idx) / (ns / 1e9),
        }
    if BASELINE in figures:
        for fig in figures.values():
            fig["speedup_vs_principalmapper"] = (
                figures[BASELINE]["us_per_decision"] / fig["us_per_decision"]
            )
    out["evaluators"] = figures
    rows: dict[str, dict[str, Any]] = {}
    if per_policy:
        for index, facts in enumerate(run.policies):
            sub = [i for i in idx if run.specs[i].policy == index]
            row: dict[str, Any] = {"requests": len(sub), **run.setup.get(facts.name, {})}
            if sub:
                for name, make in run.runners.items():
                    row[f"{name} us"] = best_ns_fresh(make(sub), run.repeat) / len(sub) / 1e3
                if INTERPRETED in run.effects:
                    allowed = sum(run.effects[INTERPRETED][i] == "allow" for i in sub)
                    row["allow_rate"] = allowed / len(sub)
            rows[facts.name] = row
    out["per_policy"] = rows
    return out


def judge(report: dict[str, Any]) -> dict[str, Any]:
    """The targets, and whether this run met them."""
    targets: dict[str, Any] = {}
    for name, prefix in ((COMPILED, "compiled"), (COMPILED_COLD, "compiled_cold")):
        fig = report["evaluators"].get(name)
        if fig is None:
            continue
        targets[f"{prefix}_us_per_decision"] = {
            "target": f"<= {TARGET_COMPILED_US:g}",
            "value": fig["us_per_decision"],
            "met": fig["us_per_decision"] <= TARGET_COMPILED_US,
        }
        if "speedup_vs_principalmapper" in fig:
            targets[f"{prefix}_speedup_vs_principalmapper"] = {
                "target": f">= {TARGET_SPEEDUP:g}",
                "value": fig["speedup_vs_principalmapper"],
                "met": fig["speedup_vs_principalmapper"] >= TARGET_SPEEDUP,
            }
    built = report.get("input_build_us_per_request") or {}
    if REQUEST_BUILD in built and BARE_BUILD in built:
        ratio = built[REQUEST_BUILD] / built[BARE_BUILD]
        targets["request_build_vs_bare_dataclass"] = {
            "target": f"<= {TARGET_BUILD_RATIO:g}",
            "value": round(ratio, 2),
            "met": ratio <= TARGET_BUILD_RATIO,
        }
    cli = report.get("cli") or {}
    if "median_ms" in cli:
        targets["cli_median_ms"] = {
            "target": f"< {TARGET_CLI_MS:g} (and exit 0)",
            "value": cli["median_ms"],
            "met": cli["median_ms"] < TARGET_CLI_MS and cli["returncode"] == 0,
        }
    return targets


# --------------------------------------------------------------------------- printing


def fmt_rate(per_s: float) -> str:
    return f"{per_s:,.0f}"


def num(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def mark(target: dict[str, Any] | None) -> str:
    if target is None:
        return ""
    return f"{target['target']}: {'met' if target['met'] else 'MISSED'}"


def print_report(report: dict[str, Any], unavailable: dict[str, str]) -> None:
    u = f"{MICRO}s"
    figures = report["evaluators"]
    targets = report["targets"]
    order = [COMPILED, COMPILED_COLD, INTERPRETED, BASELINE]
    prefixes = {COMPILED: "compiled", COMPILED_COLD: "compiled_cold"}
    print()
    print(f"{'evaluator':<26}{'decisions/s':>13}{u + '/decision':>13}{'vs pmapper':>12}   target")
    for name in order:
        if name not in figures:
            print(f"{name:<26}{'n/a':>13}{'n/a':>13}{'n/a':>12}   ({unavailable.get(name, '')})")
            continue
        fig = figures[name]
        speed = fig.get("speedup_vs_principalmapper")
        speed_s = "n/a" if speed is None else f"{speed:,.1f}{TIMES}"
        target = ""
        if name in prefixes:
            parts = [
                f"{u} {mark(targets.get(prefixes[name] + '_us_per_decision'))}",
                f"{TIMES} {mark(targets.get(prefixes[name] + '_speedup_vs_principalmapper'))}",
            ]
            target = "; ".join(p for p in parts if len(p) > 4)
        label = name
        if name == BASELINE:
            label = f"{name} {report['principalmapper']['version']}"
        print(
            f"{label:<26}{fmt_rate(fig['decisions_per_s']):>13}"
            f"{fig['us_per_decision']:>13.3f}{speed_s:>12}   {target}"
        )
    print(
        f"  every row includes the loop itself: {report['harness_us_per_request']:.3f} {u}/request"
    )
    if COMPILED in figures:
        print(
            "  compiled: one evaluator replaying requests it has seen (best of N, so its memo\n"
            "  answers); cold: a new evaluator for each timed run, so each distinct (caller,\n"
            "  action, resource, keys read) is decided once, then remembered"
        )
    if report.get("input_build_us_per_request"):
        built = ", ".join(
            f"{k} {v:.2f} {u}" for k, v in report["input_build_us_per_request"].items()
        )
        print(f"  inputs built before timing, per request: {built}")
    build_target = targets.get("request_build_vs_bare_dataclass")
    if build_target:
        print(
            f"  building a rumpolicy.Request costs {build_target['value']:.2f}{TIMES} a bare "
            f"frozen dataclass of the same fields (target {build_target['target']}"
            f"{TIMES}: {'met' if build_target['met'] else 'MISSED'})"
        )
        built = report["input_build_us_per_request"]
        if COPYING_BUILD in built:
            print(f"  and {built[REQUEST_BUILD] / built[COPYING_BUILD]:.2f}{TIMES} one that also "
                  "takes a read-only copy of its context (the floor with the context read)")

    checks = report["checks"]
    print()
    if "compiled_vs_interpreted_mismatches" in checks:
        bad = checks["compiled_vs_interpreted_mismatches"]
        print(
            f"compiled vs interpreted: {bad:,} mismatches in {report['requests']:,} requests "
            f"({'ok' if bad == 0 else 'MUST BE 0'})"
        )
        for ex in checks["mismatch_examples"]:
            print(f"   {ex}")
        print(
            "rumpolicy effects: "
            + ", ".join(f"{k} {v:,}" for k, v in checks["rumpolicy_effects"].items())
        )
    if "principalmapper_results" in checks:
        print(
            "principalmapper results: "
            + ", ".join(f"{k} {v:,}" for k, v in checks["principalmapper_results"].items())
        )
    agreement = checks.get("principalmapper_agreement")
    if agreement is not None:
        print(
            f"principalmapper agrees with rumpolicy on {agreement['agree']:,} of "
            f"{agreement['total']:,} requests ({100 * agreement['rate']:.2f}%; informational). "
            "Disagreements (count, policy, caller, rumpolicy -> principalmapper):"
        )
        shown = agreement["disagreements"][:12]
        for d in shown:
            hint = f"  [{d['hint']}]" if d["hint"] else ""
            print(
                f"   {d['count']:>6,}  {d['policy']:<24} {d['principal']:<21} "
                f"{d['rumpolicy']:<13} -> {d['principalmapper']} ({d['principalmapper_result']})"
                f"{hint}"
            )
        if len(agreement["disagreements"]) > len(shown):
            rest = agreement["disagreements"][len(shown) :]
            print(
                f"   ... {len(rest)} more groups, {sum(d['count'] for d in rest):,} requests "
                "(see --json)"
            )

    if report["per_policy"]:
        print()
        names = [nm for nm in order if nm in figures]
        short = {
            COMPILED: "compiled",
            COMPILED_COLD: "cold",
            INTERPRETED: "interp.",
            BASELINE: "pmapper",
        }
        head = "".join(f"{short[nm] + ' ' + u:>12}" for nm in names)
        print(
            f"{'policy':<26}{'requests':>9}{'allow':>7}{head}{'load ' + u:>11}{'compile ' + u:>13}"
        )
        for pname, row in report["per_policy"].items():
            cells = "".join(f"{num(row.get(nm + ' us'), 3):>12}" for nm in names)
            allow_s = f"{100 * row['allow_rate']:.0f}%" if "allow_rate" in row else "n/a"
            print(
                f"{pname:<26}{row['requests']:>9,}{allow_s:>7}{cells}"
                f"{num(row.get('load_us'), 1):>11}{num(row.get('compile_us'), 1):>13}"
            )

    cli, floor = report.get("cli"), report.get("python_floor")
    if cli is not None and floor is not None:
        print()
        print(f"CLI wall time over {cli['runs']} runs each (start, decide, exit):")
        for label, res in (("python -c pass", floor), ("rumpolicy eval", cli)):
            if "error" in res:
                print(f"   {label:<16} could not run: {res['error']}")
                continue
            extra = ""
            if res is cli:
                out = (res["stdout_head"] or res["stderr_tail"] or [""])[0]
                target = mark(targets.get("cli_median_ms"))
                extra = f"   ms {target}; exit {res['returncode']}: {out[:60]}"
            median, least = res["median_ms"], res["min_ms"]
            print(f"   {label:<16} median {median:7.1f} ms   min {least:7.1f} ms{extra}")
        if "median_ms" in cli and "median_ms" in floor:
            print(
                "   rumpolicy eval above the interpreter floor: "
                f"{cli['median_ms'] - floor['median_ms']:.1f} ms (median)"
            )


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000, help="workload size")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best is kept")
    parser.add_argument("--seed", type=int, default=SEED, help="workload seed")
    parser.add_argument("--cli-runs", type=int, default=20, help="runs of the CLI (0: skip)")
    parser.add_argument("--no-per-policy", action="store_true", help="skip per-policy timings")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.repeat < 1:
        parser.error("--requests and --repeat must be at least 1")

    started = time.perf_counter()
    notes: list[str] = []
    rp, rp_why = import_rumpolicy()
    pm, pm_why = import_principalmapper()
    if rp is None:
        print(f"!! rumpolicy cannot be used: {rp_why}")
        notes.append(f"rumpolicy unavailable: {rp_why}")
    if pm is None:
        print(
            f"!! principalmapper cannot be imported ({pm_why}): the baseline is skipped. "
            "Install it with: .venv/bin/pip install -e '.[bench]'"
        )
        notes.append(f"principalmapper unavailable: {pm_why}")

    facts, loaded, setup = load_policies(rp, wl.read_policies(POLICY_DIR), args.repeat, notes)
    if not facts:
        print(f"no usable policies in {POLICY_DIR}", file=sys.stderr)
        return 2
    specs = wl.generate(facts, args.requests, args.seed)
    print(
        f"rumpolicy decision benchmark: {len(specs):,} requests over {len(facts)} fixture "
        f"policies (seed {args.seed}), best of {args.repeat}, Python {platform.python_version()}"
    )
    run = Run(policies=facts, specs=specs, repeat=args.repeat, setup=setup)
    if rp is not None:
        prepare_rumpolicy(run, rp, loaded)
    if pm is not None:
        prepare_principalmapper(run, pm)

    errors = {name: sum(e.startswith("error:") for e in got) for name, got in run.effects.items()}
    for name, count in errors.items():
        if count:
            kinds = dict(Counter(e for e in run.effects[name] if e.startswith("error:")))
            print(f"!! {name} raised on {count:,} requests {kinds}; those requests are not timed")
            notes.append(f"{name} raised on {count} requests: {kinds}")
    timed = [
        i
        for i in range(len(specs))
        if not any(got[i].startswith("error:") for got in run.effects.values())
    ]

    report: dict[str, Any] = {
        "requests": len(specs),
        "timed_requests": len(timed),
        "seed": args.seed,
        "repeat": args.repeat,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "policies": [f.name for f in facts],
        "principalmapper": {"version": pm.version if pm else None, "unavailable": pm_why or None},
        "errors": errors,
        "checks": compare(run),
        "input_build_us_per_request": run.build_us,
        **time_all(run, timed, not args.no_per_policy),
    }
    if args.cli_runs > 0:
        report["python_floor"] = time_command(FLOOR_COMMAND, args.cli_runs)
        report["cli"] = time_command(CLI_COMMAND, args.cli_runs)
    report["targets"] = judge(report)
    report["notes"] = notes
    report["wall_s"] = time.perf_counter() - started

    unavailable = {COMPILED: rp_why, COMPILED_COLD: rp_why, INTERPRETED: rp_why, BASELINE: pm_why}
    print_report(report, unavailable)
    print(f"\nbenchmark wall time {report['wall_s']:.1f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"figures written to {args.json}")

    if rp is None or report["checks"].get("compiled_vs_interpreted_mismatches", 0) > 0:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
