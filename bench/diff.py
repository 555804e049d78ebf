"""Semantic diff speed: `diff_policies` on two 4 KB policies, against brute force in the same run.

Run from the repository root::

    .venv/bin/python bench/diff.py                 # about 30 s on 2 cores
    .venv/bin/python bench/diff.py --repeat 3 --json /tmp/diff.json

What one run does:

1. Builds two rollout-shaped resource policies of just under RUM's 4096-byte limit (a release
   alias list, canary patterns with an internal alias denied, IPv4 and IPv6 ranges, a launch
   window on aws:CurrentTime, a signed forwarder role, a retired alias, a referer check), the
   second being the first after a release: aliases moved, a range widened, the window shifted.
   It also takes every pair of fixture policies under ``fixtures/policies``, and the 4 KB pair
   again with identity policies held by a forwarder role (its sessions), a user whose policy
   reads ``${aws:username}`` and a user of another account.
2. Times `diff_policies` (best of ``--repeat``; a fresh analysis each time, nothing cached but
   the process-wide Unicode case tables, which are warmed first), with the monitor fixed and
   without it (every resource and action).
3. Baseline, same run: brute force over the same partition, i.e. one representative request
   per class combination (``representatives``), each decided by both compiled evaluators (with
   the identity policies the representative's caller holds). When
   the product is too large to finish, a fixed number of combinations is timed and the total
   extrapolated (marked ``~``). Brute force is also a correctness check: every representative
   the two policies decide differently must lie in exactly one reported change, and none
   decided alike may (exit status 1 otherwise).

Target printed next to the figures: a 4 KB pair diffed in well under a second (< 500 ms).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import rumpolicy as rp  # noqa: E402
from rumpolicy.analysis.diff import PolicyDiff, diff_policies  # noqa: E402
from rumpolicy.analysis.diff.analyse import representatives  # noqa: E402
from rumpolicy.analysis.diff.unicode_case import cased_characters  # noqa: E402

MONITOR = "arn:aws:rum:us-east-1:123456789012:appmonitor/shop"
TARGET_MS = 500.0
BRUTE_LIMIT = 200_000
TIMES = "\u00d7"


def _statement(sid: str, effect: str, condition: dict[str, Any] | None = None,
               principal: Any = "*", action: Any = "rum:PutRumEvents") -> dict[str, Any]:
    out: dict[str, Any] = {"Sid": sid, "Effect": effect, "Principal": principal,
                           "Action": action, "Resource": MONITOR}
    if condition:
        out["Condition"] = condition
    return out


def rollout_policy(release: int, canary_ranges: Sequence[str], window: tuple[str, str],
                   retired: Sequence[str]) -> dict[str, Any]:
    """A shop's policy at one release: what a team would really write, near 4 KB."""
    aliases = [f"shop-web-v{release - 1}", f"shop-web-v{release}", f"shop-ios-v{release}",
               f"shop-android-v{release}", "shop-checkout", "shop-search", "shop-account",
               "shop-help"]
    return {"Version": "2012-10-17", "Id": f"shop-release-{release}", "Statement": [
        _statement("AllowReleasedApps", "Allow", {
            "StringEquals": {"rum:alias": aliases},
            "Bool": {"aws:SecureTransport": "true"}}),
        _statement("AllowCanariesFromOffices", "Allow", {
            "StringLike": {"rum:alias": [f"canary-{release}-*", "canary-shared-*",
                                         "beta-?-web"]},
            "IpAddress": {"aws:SourceIp": list(canary_ranges)}}),
        _statement("AllowLaunchWindow", "Allow", {
            "StringEquals": {"rum:alias": [f"launch-{release}", "launch-press"]},
            "DateGreaterThanEquals": {"aws:CurrentTime": window[0]},
            "DateLessThan": {"aws:CurrentTime": window[1]}}),
        _statement("AllowForwarder", "Allow",
                   principal={"AWS": ["arn:aws:iam::123456789012:role/rum-forwarder",
                                      "arn:aws:iam::123456789012:role/rum-replayer"]}),
        _statement("DenyInternalCanaries", "Deny", {
            "StringLike": {"rum:alias": ["canary-*-internal", "canary-*-staff*"]}}),
        _statement("DenyRetiredAliases", "Deny", {
            "StringEqualsIgnoreCase": {"rum:alias": list(retired)}}),
        _statement("DenyForeignReferers", "Deny", {
            "StringNotLikeIfExists": {"aws:referer": ["https://shop.example.com/*",
                                                     "https://*.shop.example.com/*",
                                                     "https://m.example.com/shop/*"]},
            "StringLike": {"rum:alias": "shop-web-*"}}),
        _statement("DenyBlockedNetworks", "Deny", {
            "IpAddress": {"aws:SourceIp": ["198.51.100.0/24", "192.0.2.128/25",
                                           "2001:db8:dead::/48"]}}),
    ]}


OLD = rollout_policy(41, ["203.0.113.0/24", "198.18.0.0/15", "2001:db8:1::/48",
                          "2001:db8:2::/48"],
                     ("2026-12-01T00:00:00Z", "2026-12-08T00:00:00Z"),
                     ["shop-web-v38", "shop-web-v39", "shop-ios-v39", "shop-legacy",
                      "shop-old-checkout"])
NEW = rollout_policy(42, ["203.0.113.0/24", "198.18.0.0/15", "2001:db8:1::/48",
                          "2001:db8::/40"],
                     ("2026-12-08T00:00:00Z", "2026-12-15T00:00:00Z"),
                     ["shop-web-v39", "shop-web-v40", "shop-ios-v40", "shop-legacy",
                      "shop-old-checkout"])


def _identity(*statements: dict[str, Any]) -> rp.Policy:
    return rp.load_policy({"Version": "2012-10-17", "Statement": list(statements)},
                          kind="identity")


IDENTITIES = {
    "arn:aws:iam::123456789012:role/rum-forwarder": _identity(
        {"Effect": "Allow", "Action": "rum:PutRumEvents", "Resource": MONITOR,
         "Condition": {"StringLike": {"rum:alias": ["shop-server-*", "shop-web-*"]}}},
        {"Effect": "Deny", "Action": "rum:*", "Resource": "*",
         "Condition": {"StringLike": {"rum:alias": "*-debug"}}}),
    "arn:aws:iam::123456789012:user/alice": _identity(
        {"Effect": "Allow", "Action": ["rum:PutRumEvents", "rum:GetAppMonitor"],
         "Resource": "arn:aws:rum:*:123456789012:appmonitor/*",
         "Condition": {"StringEquals": {"rum:alias": "dev-${aws:username}"},
                       "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}),
    "arn:aws:iam::999999999999:user/mallory": _identity(
        {"Effect": "Allow", "Action": "rum:*", "Resource": "*"}),
}
"""Identity policies for the 4 KB pair: what a forwarder, a developer and an outsider hold."""


def _best(repeat: int, run: Any) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def brute_force(result: PolicyDiff, old: rp.Policy | None, new: rp.Policy | None
                ) -> tuple[float, int, bool, bool]:
    """(seconds for every cell, cells decided, extrapolated?, regions agree?)."""
    compiled_old, compiled_new = rp.compile_policy(old), rp.compile_policy(new)
    cells = list(itertools.islice(representatives(result), BRUTE_LIMIT))
    held = result.identity_policies.held_by
    start = time.perf_counter()
    decided = [(compiled_old.evaluate(r, held(r)).effect, compiled_new.evaluate(r, held(r)).effect)
               for r in cells]
    seconds = time.perf_counter() - start
    agree = True
    for request, (before, after) in zip(cells, decided, strict=True):
        inside = result.changes_containing(request)
        expected = [] if before is after else [(before, after)]
        if [(c.from_effect, c.to_effect) for c in inside] != expected:
            agree = False
            break
    extrapolated = result.stats.cells > len(cells)  # stopped at BRUTE_LIMIT
    if extrapolated and cells:
        seconds *= result.stats.cells / len(cells)
    return seconds, len(cells), extrapolated, agree


def measure(label: str, old: rp.Policy | None, new: rp.Policy | None, monitor: str | None,
            repeat: int, identities: dict[str, rp.Policy] | None = None) -> dict[str, Any]:
    seconds, result = _best(repeat, lambda: diff_policies(
        old, new, monitor=monitor, identity_policies=identities or {}))
    assert isinstance(result, PolicyDiff)
    brute, decided, extrapolated, agree = brute_force(result, old, new)
    return {"pair": label, "monitor": monitor, "diff_ms": seconds * 1000,
            "changes": len(result.changes), "not_analysed": len(result.not_analysed),
            "cells": result.stats.cells, "states": result.stats.states,
            "evaluations": result.stats.evaluations, "brute_force_ms": brute * 1000,
            "brute_force_cells_decided": decided, "brute_force_extrapolated": extrapolated,
            "speedup": brute / seconds if seconds else float("inf"), "regions_agree": agree}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per diff (best kept)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    args = parser.parse_args(argv)
    cased_characters()  # the process-wide Unicode table, built once (about 50 ms)
    old, new = rp.load_policy(OLD), rp.load_policy(NEW)
    sizes = [len(p.text.encode()) if p.text else 0 for p in (old, new)]
    rows = [measure("4 KB rollout (release 41 -> 42)", old, new, MONITOR, args.repeat),
            measure("4 KB rollout, every resource and action", old, new, None, args.repeat),
            measure("4 KB rollout + 3 identity policies", old, new, MONITOR, args.repeat,
                    IDENTITIES),
            measure("4 KB rollout + 3 identity policies, everything", old, new, None,
                    args.repeat, IDENTITIES)]
    fixtures = sorted((ROOT / "fixtures" / "policies").glob("*.json"))
    for first, second in itertools.combinations(fixtures, 2):
        rows.append(measure(f"{first.stem} -> {second.stem}",
                            rp.load_policy(first.read_text("utf-8")),
                            rp.load_policy(second.read_text("utf-8")), None, args.repeat))
    print(f"policy sizes: {sizes[0]} and {sizes[1]} bytes (RUM's limit: 4096)")
    print(f"{'pair':58} {'diff':>9} {'changes':>7} {'n/a':>3} {'cells':>13} {'states':>7} "
          f"{'brute force':>13} {'ratio':>9}")
    for row in rows:
        mark = "~" if row["brute_force_extrapolated"] else " "
        scope = "" if row["monitor"] is None else " [monitor]"
        print(f"{row['pair'][:48] + scope:58} {row['diff_ms']:7.1f}ms {row['changes']:7d} "
              f"{row['not_analysed']:3d} {row['cells']:13,d} {row['states']:7d} "
              f"{mark}{row['brute_force_ms']:10.1f}ms "
              f"{row['speedup']:8.1f}{TIMES}")
    head = rows[0]
    verdict = "met" if head["diff_ms"] < TARGET_MS else "MISSED"
    print(f"\ntarget: a 4 KB pair in < {TARGET_MS:.0f} ms: {head['diff_ms']:.1f} ms ({verdict})")
    print("n/a: parts reported as not analysed. brute force: one representative per class "
          "combination, both policies, compiled evaluators; ~ = extrapolated from the first "
          f"{BRUTE_LIMIT:,} combinations")
    bad = [r["pair"] for r in rows if not r["regions_agree"]]
    if bad:
        print(f"REGIONS DISAGREE WITH BRUTE FORCE: {', '.join(bad)}")
    if args.json:
        args.json.write_text(json.dumps({"sizes": sizes, "rows": rows}, indent=2),
                             encoding="utf-8")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
