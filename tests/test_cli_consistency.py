"""One command line: the same flags mean the same thing in every command (issue: `--json` here
and `--format` there, `--monitor` an ARN or a name, abbreviations accepted silently, conflicting
inputs where one silently won)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rumpolicy.cli import COMMANDS, build_parser, main

ROOT = Path(__file__).resolve().parent.parent
ALIAS = str(ROOT / "fixtures" / "policies" / "aws-sample-alias.json")
MONITOR = "arn:aws:rum:us-east-1:123456789012:appmonitor/MyApplication"
REPORTING = ("validate", "eval", "audit", "diff", "test", "replay", "events")


def _usage_error(capsys, argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err


def test_version(capsys):
    from rumpolicy import __version__

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"rumpolicy {__version__}\n"


@pytest.mark.parametrize("command", REPORTING)
def test_every_reporting_command_has_format_and_output(command):
    sub = build_parser()._subparsers._group_actions[0].choices[command]  # type: ignore[union-attr]
    options = {o: a for a in sub._actions for o in a.option_strings}
    assert {"text", "json"} <= set(options["--format"].choices)
    assert "--output" in options


def test_no_command_accepts_abbreviations(capsys):
    err = _usage_error(capsys, ["eval", ALIAS, "--mon", MONITOR])
    assert err.startswith("usage: rumpolicy eval ")
    assert "unrecognized arguments: --mon" in err and "did you mean '--monitor'?" in err


@pytest.mark.parametrize("command", COMMANDS)
def test_a_mistyped_flag_gets_the_commands_usage_and_a_suggestion(capsys, command):
    err = _usage_error(capsys, [command, "--hepl"])
    assert err.startswith(f"usage: rumpolicy {command}")
    assert "did you mean '--help'?" in err


def test_a_mistyped_choice_and_command_get_suggestions(capsys):
    err = _usage_error(capsys, ["audit", ".", "--format", "jsno"])
    assert "did you mean 'json'?" in err
    err = _usage_error(capsys, ["audti", "."])
    assert err.startswith("usage: rumpolicy ") and "did you mean 'audit'?" in err


def test_monitor_name_means_the_placeholder_arn_everywhere(capsys):
    """A name is completed with the gate's default account and Region (GateConfig)."""
    from rumpolicy.gate import GateConfig

    config = GateConfig()
    code = main(["eval", ALIAS, "--monitor", "MyApplication", "--alias", "alias1",
                 "--format", "json"])
    decision = json.loads(capsys.readouterr().out)
    assert code == 0
    assert decision["resource"] == (f"arn:aws:rum:{config.region}:{config.account}:"
                                    "appmonitor/MyApplication") == MONITOR


def test_eval_refuses_conflicting_and_malformed_inputs(capsys):
    for argv, fragment in (
        (["--alias", "a", "--context", "rum:alias=b"], "--alias and --context rum:alias= both"),
        (["--alias", "a", "--context", "RUM:Alias=b"], "--alias and --context rum:alias= both"),
        (["--source-ip", "300.1.1.1"], "--source-ip '300.1.1.1' is not an IP address"),
    ):
        code = main(["eval", ALIAS, "--monitor", MONITOR, *argv])
        assert code == 2 and fragment in capsys.readouterr().err
    code = main(["eval", ALIAS, "--monitor", MONITOR, "--context", "aws:SourceIp=300.1.1.1",
                 "--alias", "alias1"])
    assert code == 0  # raw context is taken as given (IAM sees a non-matching address)


def test_diff_fail_on_new_access(tmp_path, capsys):
    strict = tmp_path / "strict.json"
    policy = json.loads(Path(ALIAS).read_text())
    policy["Statement"][0]["Condition"]["StringEquals"]["rum:alias"] = ["alias1"]
    strict.write_text(json.dumps(policy))
    narrowing = ["diff", ALIAS, str(strict), "--monitor", MONITOR]
    widening = ["diff", str(strict), ALIAS, "--monitor", MONITOR]
    assert main(narrowing) == 1  # default: any change fails
    assert main([*narrowing, "--fail-on", "new-access"]) == 0  # it only takes access away
    assert main([*widening, "--fail-on", "new-access"]) == 1
    assert main([*widening, "--fail-on", "none"]) == 0
    capsys.readouterr()


def test_output_writes_the_report_to_a_file(tmp_path, capsys):
    out = tmp_path / "decision.json"
    assert main(["eval", ALIAS, "--monitor", MONITOR, "--format", "json", "--output",
                 str(out)]) == 1
    assert capsys.readouterr().out == ""
    assert json.loads(out.read_text())["effect"] == "implicit_deny"


def test_replay_monitor_filter_that_matches_nothing_exits_2(tmp_path, capsys):
    log = tmp_path / "log.jsonl"
    log.write_text(json.dumps({"resource": MONITOR, "principal": None,
                               "context": {"rum:alias": "alias1"}}) + "\n")
    code = main(["replay", "--policy", ALIAS, str(log), "--monitor", "shop"])
    err = capsys.readouterr().err
    assert code == 2
    assert "no record in the logs is for arn:aws:rum:us-east-1:123456789012:appmonitor/shop" in err
    assert main(["replay", "--policy", ALIAS, str(log), "--monitor", "MyApplication"]) == 0


def test_test_command_json_and_junit(tmp_path, capsys):
    rollouts = ROOT / "fixtures" / "rollouts"
    code = main(["test", str(rollouts), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code in (0, 1) and report["files"]
    assert all({"file", "passed", "failed", "expectations"} <= set(f) for f in report["files"])
    main(["test", str(rollouts), "--format", "junit", "--output", str(tmp_path / "j.xml")])
    assert (tmp_path / "j.xml").read_text().startswith("<?xml")


def test_exit_status_table_is_in_the_readme():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "| `0` |" in text and "| `1` |" in text and "| `2` |" in text


def test_as_a_process_a_usage_error_never_shows_a_traceback():
    done = subprocess.run([sys.executable, "-m", "rumpolicy", "diff", ALIAS, ALIAS,
                           "--fail-on", "new-acess"], capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "did you mean 'new-access'?" in done.stderr
