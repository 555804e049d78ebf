"""Auditing many files: discovery's candidates read and audited, in worker processes when asked,
then the configuration's severities and ignores applied, in the candidates' order.

`jobs` workers give exactly the findings of one: each file is audited on its own, results come
back in the order the files were given (`imap` keeps it), and everything that depends on more
than one file (the configuration, the baseline) is applied afterwards in this process. Workers
are forked once the checks are imported, so they start warm; a run with few files stays in
this process, where a fork would cost more than it saves.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from rumpolicy.analysis.audit.config import AuditConfig
from rumpolicy.analysis.audit.findings import Finding
from rumpolicy.analysis.audit.runner import AuditResult, audit_contents
from rumpolicy.analysis.sources import Candidate, Settings, read_path

PARALLEL_FROM = 64
"""Fewer files than this are audited in this process whatever `jobs` says."""
_CHUNK = 64
"""Files a worker takes at a time: large enough that handing them out costs little (16 cost
the parent 2.5 times as much CPU), small enough to keep the workers evenly busy."""


@dataclass(frozen=True, slots=True)
class FileResult:
    file: str
    kind: str
    findings: tuple[Finding, ...]
    silenced: int


def default_jobs() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def audit_candidates(candidates: Sequence[Candidate], monitor: str | None = None,
                     settings: Settings | None = None, jobs: int = 1,
                     progress: Callable[[int], None] | None = None) -> Iterator[FileResult]:
    """One result per candidate, in order; `progress(n)` after every n files done."""
    job = (monitor, settings or Settings())
    if jobs <= 1 or len(candidates) < PARALLEL_FROM or "fork" not in \
            multiprocessing.get_all_start_methods():
        for candidate in candidates:
            yield _audit_one(job, candidate)
            if progress is not None:
                progress(1)
        return
    context = multiprocessing.get_context("fork")
    gc.freeze()  # the workers' collector then never touches (and copies) the parent's objects
    try:
        with context.Pool(min(jobs, len(candidates)), _start_worker, (job,)) as pool:
            chunk = max(1, min(_CHUNK, len(candidates) // (jobs * 4)))
            for result in pool.imap(_audit_in_worker, candidates, chunksize=chunk):
                yield result
                if progress is not None:
                    progress(1)
    finally:
        gc.unfreeze()


_JOB: tuple[str | None, Settings] = (None, Settings())
"""The monitor and settings of the run, in a worker."""


def _start_worker(job: tuple[str | None, Settings]) -> None:
    global _JOB
    _JOB = job


def _audit_in_worker(candidate: Candidate) -> FileResult:
    return _audit_one(_JOB, candidate)


def _audit_one(job: tuple[str | None, Settings], candidate: Candidate) -> FileResult:
    monitor, settings = job
    contents = read_path(candidate.path, candidate.named, settings)
    findings, silenced = audit_contents(contents, monitor)
    return FileResult(contents.file, contents.kind, tuple(findings), silenced)


def collect(results: Iterator[FileResult], config: AuditConfig | None = None) -> AuditResult:
    """The run's result: findings with the configuration's severities, less what it ignores."""
    files: list[str] = []
    findings: list[Finding] = []
    skipped = ignored = 0
    for result in results:
        if result.kind == "skipped":
            skipped += 1
            continue
        files.append(result.file)
        ignored += result.silenced
        for finding in result.findings:
            if config is not None:
                if config.ignored(finding):
                    ignored += 1
                    continue
                severity = config.severity_of(finding.id)
                if severity is not None:
                    finding = replace(finding, severity=severity)
            findings.append(finding)
    return AuditResult(tuple(files), tuple(findings), skipped, ignored)
