"""Replay from object storage: moto's S3 server, started here as a process on a free port, is
a real S3 endpoint; the replay reads it through s3fs, in one process and on Dask workers.

s3fs is the `s3` extra, installed beside the project (.venv/extras-s3, by .ci/run) because its
aiobotocore pins botocore below what the gate's tests need; the replay runs as a process with
it on its path, as a user with `pip install 'rumpolicy[s3]'` would run it.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ._helpers import CANARY as FIXTURES
from ._helpers import MONITOR, OTHER, comparable, free_port, log_record

EXTRA = Path(sys.prefix) / "extras-s3"
MOTO = str(Path(sys.executable).with_name("moto_server"))
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1"}

if not (EXTRA / "s3fs").is_dir():
    if os.environ.get("CI") == "true":
        pytest.fail(f"{EXTRA} is missing: .ci/run installs the s3 extra there",
                    pytrace=False)
    pytest.skip(f"the s3 extra is not installed in {EXTRA} (see .ci/run)",
                allow_module_level=True)


class _Moto:
    def __init__(self, env: dict[str, str] | None = None) -> None:
        port = free_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen([MOTO, "-H", "127.0.0.1", "-p", str(port)],
                                        env={**os.environ, **CREDENTIALS, **(env or {})},
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=2).close()
                return
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def _lines(offset: int) -> list[bytes]:
    lines = []
    for n in range(400):
        request = {"resource": MONITOR if n % 7 else OTHER,
                   "context": {"rum:alias": ["shop-v2", "canary-1", "shop-v1", "x"][n % 4],
                               "aws:SourceIp": f"203.0.113.{(n + offset) % 200}"}}
        lines.append(log_record(request, n, request_id=f"{offset}-{n}").encode() + b"\n")
    lines[17] = b"not json\n"
    return lines


@pytest.fixture(scope="module")
def bucket(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[_Moto, Path]]:
    """Three logs in s3://logs/2026/11/ (two gzip), and the same files on disk."""
    import boto3

    server = _Moto()
    local = tmp_path_factory.mktemp("logs")
    s3 = boto3.client("s3", endpoint_url=server.endpoint, **{
        "aws_access_key_id": "testing", "aws_secret_access_key": "testing",
        "region_name": "us-east-1"})
    s3.create_bucket(Bucket="logs")
    for index, name in enumerate(["a.jsonl.gz", "b.jsonl.gz", "c.jsonl"]):
        data = b"".join(_lines(index * 1000))
        if name.endswith(".gz"):
            data = gzip.compress(data)
        s3.put_object(Bucket="logs", Key=f"2026/11/{name}", Body=data)
        (local / name).write_bytes(data)
    for hidden in (".hidden.jsonl", ".partial/d.jsonl"):  # left out, as on disk
        s3.put_object(Bucket="logs", Key=f"2026/11/{hidden}", Body=b"garbage\n")
        (local / hidden).parent.mkdir(exist_ok=True)
        (local / hidden).write_bytes(b"garbage\n")
    yield server, local
    server.stop()


def _replay(endpoint: str, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **CREDENTIALS, "PYTHONPATH": str(EXTRA)}
    return subprocess.run(
        [sys.executable, "-m", "rumpolicy", "replay", "--policy",
         str(FIXTURES / "shop-canary.json"), "--against", str(FIXTURES / "shop-stable.json"),
         "--storage-option", f"endpoint_url={endpoint}", "--fail-on", "none", *argv],
        capture_output=True, text=True, env=env, timeout=240)


def _without_names(report: dict[str, Any]) -> dict[str, Any]:
    """The report less where its logs live (s3://logs/2026/11/a.jsonl.gz or /tmp/.../a...)."""
    text = json.dumps(report)
    for source in report["sources"]:
        text = text.replace(json.dumps(source), json.dumps(source.rsplit("/", 1)[1]))
    return comparable(json.loads(text))


def test_logs_in_s3_replay_as_the_same_files_on_disk(bucket):
    server, local = bucket
    reports = []
    globs = ["s3://logs/2026/11/*.jsonl.gz", "s3://logs/2026/11/c.jsonl"]
    for where in (globs, ["s3://logs/2026/11/"], ["s3://logs/2026/*/*"],  # hidden ones left out
                  ["s3://logs/2026/11/", "--workers", "2", "--split-bytes", "20K"]):
        done = _replay(server.endpoint, "--json", *where)
        assert done.returncode == 0, done.stderr
        reports.append(json.loads(done.stdout))
    on_disk = _replay(server.endpoint, str(local), "--json")
    assert on_disk.returncode == 0, on_disk.stderr
    expected = json.loads(on_disk.stdout)
    assert reports[0]["sources"] == ["s3://logs/2026/11/a.jsonl.gz",
                                     "s3://logs/2026/11/b.jsonl.gz", "s3://logs/2026/11/c.jsonl"]
    assert reports[0]["bad_lines"]["examples"][0] == {
        "source": "s3://logs/2026/11/a.jsonl.gz", "line": 18,
        "message": "not JSON: Expecting value at column 1"}
    assert expected["records"] == 3 * (400 - 1) and expected["bad_lines"]["count"] == 3
    assert reports[1]["sources"] == reports[2]["sources"] == reports[0]["sources"]
    for report in reports:
        assert _without_names(report) == _without_names(expected)


def test_a_missing_bucket_is_one_line_naming_it(bucket):
    server, _ = bucket
    done = _replay(server.endpoint, "s3://no-such-bucket/2026/11/*.gz")
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line == "rumpolicy: error: s3://no-such-bucket/2026/11/*.gz: no object matches this name"
    done = _replay(server.endpoint, "s3://no-such-bucket/2026/11/a.jsonl")
    assert done.returncode == 2
    assert done.stderr.startswith("rumpolicy: error: s3://no-such-bucket/2026/11/a.jsonl: no such "
                                  "bucket or object (")


def test_refused_credentials_are_one_line_naming_the_log():
    """moto checks signatures against its IAM users when told to (INITIAL_NO_AUTH_ACTION_COUNT
    0): the `testing` keys belong to nobody, as expired or mistyped keys would."""
    server = _Moto({"INITIAL_NO_AUTH_ACTION_COUNT": "0"})
    try:
        done = _replay(server.endpoint, "s3://logs/2026/11/c.jsonl")
    finally:
        server.stop()
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("rumpolicy: error: s3://logs/2026/11/c.jsonl: access refused: ")
