"""`rumpolicy replay` given what careless or hostile users give it: every problem is one line
naming the log (or the flag), exit 2, and never a report that counts a log twice or hangs.
Each case was found by attacking the command (docs/rollouts.md, "What stops a replay")."""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from rumpolicy.cli import main

from ._helpers import MONITOR, alias_in, policy_document, statement
from ._helpers import request_line as _line


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with new.json (v2 allowed), old.json (v1, v2) and a.jsonl."""
    monkeypatch.chdir(tmp_path)
    for name, aliases in (("new.json", ["v2"]), ("old.json", ["v1", "v2"])):
        Path(name).write_text(json.dumps(policy_document(statement(
            condition=alias_in(aliases)))))
    Path("a.jsonl").write_text(_line("v1") + "\n" + _line("v2") + "\n")
    return tmp_path


def _replay(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["replay", "--policy", "new.json", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _one_error(code: int, out: str, err: str) -> str:
    assert code == 2 and out == "", out
    assert err.startswith("rumpolicy: error: ") and err.count("\n") == 1, err
    return err.removeprefix("rumpolicy: error: ").rstrip("\n")


def test_corrupt_deflate_data_is_one_line_not_a_traceback(capsys, here):
    data = bytearray(gzip.compress(("".join(_line("v2") + "\n" for _ in range(50))).encode()))
    for index in range(30, 60):
        data[index] ^= 0xFF
    Path("corrupt.jsonl.gz").write_bytes(bytes(data))
    with pytest.raises(zlib.error):  # what gzip raises here: neither OSError nor EOFError
        gzip.decompress(bytes(data))
    message = _one_error(*_replay(capsys, "corrupt.jsonl.gz"))
    assert message.startswith("corrupt.jsonl.gz: unreadable after line 0: ")


@pytest.mark.parametrize("names", [["a.jsonl", "a.jsonl"], ["a.jsonl", "./a.jsonl"],
                                   ["a.jsonl", "link.jsonl"], [".", "a.jsonl"]])
def test_a_log_named_twice_is_refused_not_counted_twice(capsys, here, names):
    Path("link.jsonl").symlink_to("a.jsonl")
    message = _one_error(*_replay(capsys, *names))
    assert "the same log as" in message and "name each log once" in message


def test_a_symbolic_link_loop_under_a_glob_is_refused(capsys, here):
    Path("d/sub").mkdir(parents=True)
    Path("d/one.jsonl").write_text(_line("v2") + "\n")
    Path("d/sub/loop").symlink_to("..")
    message = _one_error(*_replay(capsys, "d/**/*.jsonl"))
    assert message.startswith("d/sub/loop/") and "the same log as d/one.jsonl" in message


def test_a_directory_reads_regular_files_only(capsys, here):
    """A pipe in a log directory would block the replay for ever."""
    Path("d").mkdir()
    Path("d/a.jsonl").write_text(_line("v2") + "\n")
    os.mkfifo("d/pipe.jsonl")
    code, out, err = _replay(capsys, "d", "--json")
    assert code == 0 and json.loads(out)["sources"] == ["d/a.jsonl"], err


def test_a_file_whose_name_looks_like_a_glob_is_read_as_named(capsys, here):
    Path("logs[1].jsonl").write_text(_line("v2") + "\n")
    code, out, _ = _replay(capsys, "logs[1].jsonl", "--json")
    assert code == 0 and json.loads(out)["records"] == 1


def test_a_pipe_cannot_go_to_workers(capsys, here):
    os.mkfifo("pipe.jsonl")
    message = _one_error(*_replay(capsys, "pipe.jsonl", "--workers", "1"))
    assert message.startswith("pipe.jsonl: not a regular file")


@pytest.mark.parametrize("caller", ["notanarn", "Anonymous", "*", ""])
def test_a_caller_that_is_no_caller_is_a_usage_error(capsys, here, caller):
    message = _one_error(*_replay(capsys, "a.jsonl", "--caller", caller))
    assert message.startswith(f"--caller: '{caller}' is not a caller ARN")


def test_standard_input_is_read_once(capsys, here):
    message = _one_error(*_replay(capsys, "-", "--against", "-"))
    assert message.startswith("standard input ('-') can be read only once")


@pytest.mark.parametrize(("value", "reason"), [
    ("1e400", "not JSON: the number 1e400 is beyond the range of a double"),
    ("1" * 5001, "not JSON: a number of 5001 digits"),
    ('"a\tb"', "not JSON: Invalid control character at column "),
])
def test_numbers_json_cannot_carry_are_bad_lines(capsys, here, value, reason):
    """A non-finite number (orjson refuses it too) would make the JSON report invalid."""
    Path("odd.jsonl").write_text(
        f'{{"resource": "{MONITOR}", "context": {{"rum:alias": "v1", "n": {value}}}}}\n')
    code, out, _ = _replay(capsys, "odd.jsonl", "--against", "old.json", "--json",
                           "--fail-on", "none")
    report = json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} in the report"))
    assert code == 0 and report["bad_lines"]["examples"][0]["message"].startswith(reason)


def test_change_examples_are_in_the_order_the_logs_were_named(capsys, here):
    """One example per alias and change: two aliases that both lose access."""
    Path("older.json").write_text(json.dumps(policy_document(statement(
        condition=alias_in(["v1", "v2", "v3"])))))
    Path("z_first.jsonl").write_text(_line("v3") + "\n")
    Path("a_second.jsonl").write_text(_line("v1") + "\n")
    code, out, _ = _replay(capsys, "z_first.jsonl", "a_second.jsonl", "--against", "older.json",
                           "--json", "--fail-on", "none")
    (change,) = json.loads(out)["changes"]
    assert code == 0
    assert [e["source"] for e in change["examples"]] == ["z_first.jsonl", "a_second.jsonl"]


@pytest.fixture
def silent_listener() -> Iterator[str]:
    """A TCP port that accepts connections and never says a word."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        with server:
            while True:
                try:
                    accepted.append(server.accept()[0])
                except OSError:
                    return

    threading.Thread(target=accept, daemon=True).start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    server.close()
    for connection in accepted:
        connection.close()


def test_a_scheduler_address_where_no_dask_answers_ends_within_the_connect_timeout(
        here, silent_listener):
    """A Dask Client waits for ever for the handshake of something that is not Dask."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "rumpolicy", "replay", "--policy", "new.json", "a.jsonl",
         "--scheduler", silent_listener], capture_output=True, text=True, timeout=60,
        env={**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"})
    assert time.monotonic() - started < 30
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "sent no Dask handshake within 2 s" in done.stderr


def test_ctrl_c_ends_with_one_line_and_no_report(here):
    process = subprocess.Popen(
        [sys.executable, "-m", "rumpolicy", "replay", "--policy", "new.json", "-"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdin is not None
    process.stdin.write((_line("v2") + "\n").encode())  # and the pipe stays open
    process.stdin.flush()
    time.sleep(1.5)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert (process.returncode, out, err) == (130, b"", b"rumpolicy: interrupted\n")


def test_the_text_report_escapes_and_cuts_what_clients_sent(capsys, here):
    """An alias is whatever a client sent: a terminal escape is shown escaped, and a 50 MB
    alias no longer widened every row of the table to 50 MB; --json keeps it whole."""
    hostile = "\x1b[31mred" + "x" * 300
    Path("odd.jsonl").write_text(_line(hostile) + "\n")
    code, out, _ = _replay(capsys, "odd.jsonl", "--against", "old.json", "--fail-on", "none")
    assert code == 0 and "\x1b" not in out and "\\u001b[31mred" in out
    assert all(len(line) < 1_200 for line in out.splitlines())
    assert "... (313 characters; --json shows them all)" in out
    code, out, _ = _replay(capsys, "odd.jsonl", "--json")
    assert [row["alias"] for row in json.loads(out)["aliases"]] == [hostile]
