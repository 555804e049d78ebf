"""Auditing many files: discovery's candidates read and audited, in worker processes when asked,
then the configuration's severities and ignores applied, in the candidates' order.

`jobs` processes give exactly the findings of one: each file is audited on its own, results are
put back in the order the files were given, and everything that depends on more than one file
(the configuration, the baseline) is applied afterwards in this process. Workers are forked
once the checks are imported, so they start warm; a run with few files stays in this process,
where a fork would cost more than it saves.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection

from rumpolicy.analysis.audit.config import AuditConfig
from rumpolicy.analysis.audit.findings import Finding
from rumpolicy.analysis.audit.named import named_without_policy
from rumpolicy.analysis.audit.runner import AuditResult, audit_contents
from rumpolicy.analysis.sources import Candidate, Settings, read_path

PARALLEL_FROM = 64
"""Fewer files than this are audited in this process whatever `jobs` says."""


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
    """One result per candidate, in order; `progress(1)` after each file done."""
    job = (monitor, settings or Settings())
    if jobs <= 1 or len(candidates) < PARALLEL_FROM or "fork" not in \
            multiprocessing.get_all_start_methods():
        for candidate in candidates:
            yield _audit_one(job, candidate)
            if progress is not None:
                progress(1)
        return
    yield from _in_parallel(candidates, job, min(jobs, len(candidates)), progress)


def _in_parallel(candidates: Sequence[Candidate], job: _Job, jobs: int,
                 progress: Callable[[int], None] | None) -> list[FileResult]:
    """This process audits every jobs-th file and `jobs - 1` forked workers the others, each
    sending its results back in batches; the shares are interleaved again at the end. The
    parent working too (rather than only handing out files, as a pool does) saves a process's
    worth of scheduling and pickling on a machine with as many cores as jobs."""
    context = multiprocessing.get_context("fork")
    shares = [candidates[k::jobs] for k in range(jobs)]
    done: list[list[FileResult]] = [[] for _ in shares]
    pipes: dict[int, Connection] = {}
    workers = []
    gc.freeze()  # the workers' collector then never touches (and copies) the parent's objects
    try:
        for k in range(1, jobs):
            receive, send = context.Pipe(duplex=False)
            worker = context.Process(target=_work, args=(shares[k], job, send), daemon=True)
            worker.start()
            send.close()
            pipes[k] = receive
            workers.append(worker)
        for index, candidate in enumerate(shares[0]):
            done[0].append(_audit_one(job, candidate))
            if progress is not None:
                progress(1)
            if index % _BATCH == 0:
                _receive(pipes, done, progress, wait=False)
        while pipes:
            _receive(pipes, done, progress, wait=True)
    finally:
        for worker in workers:
            worker.join(timeout=None if not pipes else 0)
            if worker.is_alive():
                worker.terminate()
        gc.unfreeze()
    results: list[FileResult] = [None] * len(candidates)  # type: ignore[list-item]
    for k, share in enumerate(done):
        results[k::jobs] = share
    return results


_Job = tuple[str | None, Settings]
_BATCH = 32
"""Results a worker sends at a time, and files the parent audits between looks at them."""


def _work(share: Sequence[Candidate], job: _Job, send: Connection) -> None:
    batch: list[FileResult] = []
    for candidate in share:
        batch.append(_audit_one(job, candidate))
        if len(batch) == _BATCH:
            send.send(batch)
            batch = []
    send.send(batch)
    send.send(None)  # the end of this share
    send.close()


def _receive(pipes: dict[int, Connection], done: list[list[FileResult]],
             progress: Callable[[int], None] | None, wait: bool) -> None:
    for k, pipe in list(pipes.items()):
        while wait or pipe.poll():
            try:
                batch = pipe.recv()
            except EOFError:
                raise RuntimeError("an audit worker process stopped before it finished; run "
                                   "with --jobs 1 to see why") from None
            if batch is None:
                del pipes[k]
                break
            done[k].extend(batch)
            if progress is not None:
                progress(len(batch))


def _audit_one(job: _Job, candidate: Candidate) -> FileResult:
    monitor, settings = job
    contents = named_without_policy(read_path(candidate.path, candidate.named, settings),
                                    candidate.named)
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
