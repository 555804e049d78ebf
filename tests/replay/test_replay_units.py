"""A log cut into units, replayed apart and merged, gives the report of one replay: counts, bad
lines with their true line numbers, examples in log order, aliases past the cap."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import tempfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rumpolicy.analysis.replay import ReplayError, ReplayJob, expand, plan, replay_logs
from rumpolicy.analysis.replay.sources import Source, open_range
from rumpolicy.analysis.replay.units import replay_units, storage_options

from ._helpers import MONITOR, NEW, OLD, comparable, traffic, write_logs


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(traffic(), st.lists(st.integers(0, 60), max_size=2),
       st.lists(st.booleans(), min_size=1, max_size=3), st.integers(1, 600),
       st.sampled_from([2, 3, 10_000]), st.sampled_from([64, 1 << 20]), st.booleans())
def test_units_merge_into_the_report_of_one_replay(lines, cuts, gzipped, split, max_aliases,
                                                   chunk, warm):
    """`warm`: the units share the caches a worker keeps (units.replay_unit), across examples
    too, as a worker does across replays of one job."""
    options = {"max_aliases": max_aliases, "chunk_bytes": chunk, "line_cache_bytes": 512,
               "context_cache_entries": 3}
    with tempfile.TemporaryDirectory() as tmp:
        write_logs(Path(tmp), lines, cuts, gzipped)
        whole = replay_logs(NEW, [tmp], against=OLD, policy_name="n", against_name="o",
                            **options)
        units = plan(expand([tmp]), split)
        job = ReplayJob(NEW, OLD, True, None, **options)
        job = job.with_token() if warm else job
        merged = replay_units(job, units, policy_name="n", against_name="o")
    assert comparable(merged) == comparable(whole)
    assert whole.records + whole.skipped + whole.bad == sum(1 for line in lines if line.strip())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=9).map(lambda b: b.replace(b"\n", b"")), max_size=30)
       .map(b"\n".join) | st.binary(max_size=300), st.integers(1, 80), st.integers(1, 100))
def test_every_line_falls_in_exactly_one_range(data, split, hint):
    with tempfile.NamedTemporaryFile() as file:
        file.write(data)
        file.flush()
        source = Source(file.name, len(data))
        pieces: list[bytes] = []
        for start in range(0, len(data), split):
            with open_range(source, start, min(start + split, len(data))) as stream:
                while chunk := stream.readlines(hint):
                    pieces.extend(chunk)
    assert pieces == [line + b"\n" for line in data.split(b"\n")][:-1] + \
        ([data.rpartition(b"\n")[2]] if not data.endswith(b"\n") and data else [])


def test_logs_are_files_directories_and_globs(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "2.jsonl").write_text("")
    (tmp_path / "a" / "1.jsonl.gz").write_bytes(gzip.compress(b""))
    (tmp_path / "a" / ".hidden").write_text("")
    (tmp_path / "a" / ".git").mkdir()
    (tmp_path / "a" / ".git" / "HEAD").write_text("")
    (tmp_path / "b.jsonl").write_text("")
    names = [s.name for s in expand([str(tmp_path / "a"), str(tmp_path / "*.jsonl")])]
    assert names == [str(tmp_path / "a" / "1.jsonl.gz"), str(tmp_path / "a" / "2.jsonl"),
                     str(tmp_path / "b.jsonl")]
    for missing, message in ((tmp_path / "nope.jsonl", "no such file"),
                             (tmp_path / "*.gz", "no file matches this pattern")):
        with pytest.raises(ReplayError, match=f"^{re.escape(str(missing))}: {message}$"):
            replay_logs(NEW, [str(missing)])


def _after_line(message: str) -> int:
    found = re.match(r".*?: unreadable after line (\d+): ", message)
    assert found is not None, message
    return int(found[1])


def _decompressible_lines(data: bytes) -> int:
    """How many whole lines the first gzip member of `data` gives before it breaks."""
    inflate, lines = zlib.decompressobj(31), 0
    for at in range(len(data)):
        try:
            lines += inflate.decompress(data[at:at + 1]).count(b"\n")
        except zlib.error:
            break
        if inflate.eof:
            break
    return lines


def test_a_corrupt_gzip_member_is_one_error_naming_the_log_and_line(tmp_path):
    """"unreadable after line N": lines 1 to N were read, and N is close to all that could be."""
    good = gzip.compress(b"".join(json.dumps({"resource": MONITOR, "context": {
        "rum:alias": hashlib.sha256(b"%d" % n).hexdigest()}}).encode() + b"\n"
        for n in range(20_000)))
    broken = tmp_path / "log.jsonl.gz"
    data = good[:len(good) // 2] + b"\x00garbage" * 64
    broken.write_bytes(data)
    with pytest.raises(ReplayError) as caught:
        replay_logs(NEW, [str(broken)])
    message = str(caught.value)
    assert message.startswith(f"{broken}: unreadable after line ")
    assert "\n" not in message
    readable = _decompressible_lines(data)
    assert readable > 5_000 and readable // 2 < _after_line(message) <= readable


@pytest.mark.parametrize("chunk_bytes", [8 << 20, 1000])
def test_garbage_after_a_whole_gzip_member_is_after_its_last_line(tmp_path, chunk_bytes):
    line = json.dumps({"resource": MONITOR, "context": {"rum:alias": "v2"}}).encode() + b"\n"
    broken = tmp_path / "log.jsonl.gz"
    broken.write_bytes(gzip.compress(line * 2000) + b"garbage")
    with pytest.raises(ReplayError) as caught:
        replay_logs(NEW, [str(broken)], chunk_bytes=chunk_bytes)
    assert str(caught.value) == (f"{broken}: unreadable after line 2000: "
                                 "Not a gzipped file (b'ga')")


def test_storage_options_are_read_as_fsspec_wants_them():
    assert storage_options(["endpoint_url=http://127.0.0.1:9000", "anon=true",
                            "client_kwargs.region_name=us-east-1", "retries=3"]) == {
        "endpoint_url": "http://127.0.0.1:9000", "anon": True, "retries": 3,
        "client_kwargs": {"region_name": "us-east-1"}}
    with pytest.raises(ValueError, match="is not KEY=VALUE"):
        storage_options(["endpoint_url"])


@pytest.mark.parametrize(("pairs", "message"), [
    (["a..b=1"], "'a..b=1': an empty name in a..b"),
    ([".=1"], "'.=1': an empty name in ."),
    (["a=2", "a.b=1"], "'a.b=1': a is already set to a value"),
    (["a.b=1", "a=2"], "'a=2': a already holds options set one by one"),  # was dropped
])
def test_storage_options_that_contradict_or_name_nothing_are_refused(pairs, message):
    with pytest.raises(ValueError) as caught:
        storage_options(pairs)
    assert str(caught.value).startswith(message)


def test_the_rest_of_the_aliases_stays_one_alias_across_processes():
    import pickle

    from rumpolicy.analysis.replay.report import OTHER_ALIASES

    assert pickle.loads(pickle.dumps(OTHER_ALIASES)) is OTHER_ALIASES


def test_dask_and_fsspec_load_only_for_a_cluster_or_a_url(tmp_path):
    """`import rumpolicy`, `rumpolicy eval` and a replay of local files stay as fast as they
    were: the extras are imported only where a cluster or a URL is asked for."""
    import subprocess
    import sys

    log = tmp_path / "t.jsonl"
    log.write_text(json.dumps({"resource": MONITOR}) + "\n")
    heavy = ("dask", "distributed", "fsspec", "s3fs")
    code = ("import sys, rumpolicy, rumpolicy.analysis.replay as r; from rumpolicy.cli import "
            "main; main(['eval', 'none', '--monitor', " + repr(MONITOR) + "]); "
            "r.replay_logs(None, [" + repr(str(log)) + "]); "
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stderr
