"""The command line itself: every subcommand has --help, and the flags are what the README promises."""

import pytest

from ops.__main__ import build_parser, main


@pytest.mark.parametrize("command", [[], ["traffic"], ["run-now"], ["status"], ["report"]])
def test_help_exits_0(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])

    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("usage: python -m ops")


@pytest.mark.parametrize(
    ("command", "flags"),
    [
        ("traffic", ["--stage", "--region", "--count", "--rate", "--drift", "--seed"]),
        ("run-now", ["--stage", "--region", "--hours", "--no-wait", "--poll-seconds", "--timeout-minutes"]),
        ("status", ["--stage", "--region", "--executions"]),
        ("report", ["--stage", "--region", "--out", "--baseline", "--execution", "--processing-job"]),
    ],
)
def test_each_subcommand_has_its_flags(command: str, flags: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])

    help_text = capsys.readouterr().out
    for flag in flags:
        assert flag in help_text


def test_defaults() -> None:
    parser = build_parser()

    traffic = parser.parse_args(["traffic"])
    assert (traffic.count, traffic.rate, traffic.drift) == (200, None, False)
    run_now = parser.parse_args(["run-now"])
    assert (run_now.hours, run_now.no_wait, run_now.poll_seconds, run_now.timeout_minutes) == (1, False, 30.0, 60.0)
    assert parser.parse_args(["status"]).executions == 10


@pytest.mark.parametrize("argv", [["traffic", "--count", "0"], ["traffic", "--rate", "-1"], ["nope"], []])
def test_bad_arguments_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)

    assert exit_.value.code == 2


def test_an_unknown_stage_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--stage", "nope"]) == 2
    assert (
        capsys.readouterr().err
        == "error: unknown stage 'nope'; known stages: builtin, default, dev, fleet, prod, spark "
        "(cdk.json context 'stages')\n"
    )
