"""`rumpolicy serve` and `rumpolicy events`: user errors are one line and exit 2."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from rumpolicy.cli import main
from rumpolicy.gate import Gate, Origin

from ._helpers import alias_policy, batch, encoded


@pytest.fixture
def data(tmp_path: Path) -> Path:
    gate = Gate(tmp_path)
    monitor_id = gate.create_app_monitor(Name="shop", Domain="example.com")["Id"]
    gate.put_resource_policy(Name="shop", PolicyDocument=alias_policy())
    body = batch(monitor_id, "v1", events=2)
    assert gate.put_rum_events(monitor_id, encoded(body), Origin(source_ip="203.0.113.9")).accepted
    gate.close()
    (tmp_path / "batch-id").write_text(body["BatchId"])
    return tmp_path


def test_events_lists_batches_and_their_events(data: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["events", "--data", str(data), "--monitor", "shop"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert (data / "batch-id").read_text() in out[0]
    assert "alias v1" in out[0] and "anonymous@203.0.113.9" in out[0]
    assert len(out) == 3 and "com.amazon.rum.page_view_event" in out[1]


def test_events_json(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["events", "--data", str(data), "--monitor", "shop", "--json"]) == 0
    [batch_] = json.loads(capsys.readouterr().out)
    assert batch_["batch_id"] == (data / "batch-id").read_text()
    assert len(batch_["events"]) == 2 and batch_["alias"] == "v1"


@pytest.mark.parametrize(("args", "expected"), [
    (["--monitor", "nope"], "no app monitor named 'nope' (known: shop)"),
    (["--monitor", "shop", "--data", "/nonexistent/dir"], "no gate store here"),
])
def test_events_errors(data: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                       expected: str) -> None:
    full = ["events", "--data", str(data), *args] if "--data" not in args else ["events", *args]
    assert main(full) == 2
    assert expected in capsys.readouterr().err


def test_serve_refuses_a_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "gate.json"
    config.write_text(json.dumps({"credentials": {"AK": {"principal": "bob"}}}))
    assert main(["serve", "--port", "0", "--data", str(tmp_path), "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert f"{config}: credentials.AK.principal: 'bob' is not a caller ARN" in err
    config.write_text('{"throttle_rps": "fast"}')
    assert main(["serve", "--port", "0", "--config", str(config)]) == 2
    assert "throttle_rps" in capsys.readouterr().err
    config.write_text("{")
    assert main(["serve", "--port", "0", "--config", str(config)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_serve_names_a_busy_port(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--port", str(port), "--data", str(tmp_path)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_toml_configs_load(tmp_path: Path) -> None:
    from rumpolicy.gate import load_config
    (tmp_path / "alice.json").write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "rum:PutRumEvents", "Resource": "*"}]}))
    (tmp_path / "gate.toml").write_text(
        'region = "eu-west-1"\nthrottle_rps = 50\nmax_app_monitors = 100\n'
        '[credentials.AKIDALICE]\n'
        'principal = "arn:aws:iam::123456789012:user/alice"\n'
        'identity_policies = ["alice.json"]\n')
    config = load_config(tmp_path / "gate.toml")
    assert config.region == "eu-west-1" and config.throttle_rps == 50
    assert config.max_app_monitors == 100
    assert len(config.credentials["AKIDALICE"].identity_policies) == 1


def test_the_pytest_plugin_imports_neither_pydantic_nor_boto3() -> None:
    """It loads into every pytest session once installed; it must stay cheap."""
    import subprocess
    import sys
    code = ("import sys, rumpolicy.testing.gate_fixture as f; "
            "print(sorted(m for m in ('pydantic', 'boto3', 'botocore', 'rumpolicy.gate') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


def test_the_plugins_defaults_are_the_gates() -> None:
    from rumpolicy.gate.config import DEFAULT_ACCOUNT, DEFAULT_REGION
    from rumpolicy.testing import gate_fixture
    assert (gate_fixture.DEFAULT_ACCOUNT, gate_fixture.DEFAULT_REGION) == \
        (DEFAULT_ACCOUNT, DEFAULT_REGION)
