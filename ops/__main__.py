"""``python -m ops``: the command line. Parses arguments, reads the stage's outputs, calls the subcommand.

Kept thin on purpose: what each subcommand does lives in its module (traffic, run_now, status, report_inputs)
as plain functions over AWS clients, which the tests call with moto or stubbed clients.

Exit codes: 0 fine; 1 the command ran and found something wrong (failed requests, a failed execution, an alarm
in ALARM) or AWS refused a call; 2 the operator has to fix something first (stack not deployed, bad
argument, no credentials); 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from settings import MonitoredEndpoint, Settings, endpoint_settings

from . import stack_outputs as so
from .aws import ClientFactory, boto3_client_factory
from .errors import OpsError
from .fleet import choose_endpoint, entry_alarm_prefix, fleet_status
from .progress import Progress

EXAMPLES = """\
examples:
  python -m ops traffic --count 300 --rate 5                   normal demo traffic to the endpoint
  python -m ops traffic --drift                                drifted traffic the monitor should flag
  python -m ops run-now                                        one monitoring execution over the last hour, now
  python -m ops status --stage prod                            schedule, executions and alarms of stage prod
  python -m ops status --stage fleet                           a stage with several endpoints: one row each
  python -m ops run-now --stage fleet --endpoint churn         one endpoint of such a stage
  python -m ops report --out /tmp/report                       latest execution vs baseline, as PNG and HTML
  python -m ops report --baseline b/ --execution e/ --out r/   the same from local files, no AWS
  python -m ops lab                                            the builtin engine's whole loop in memory, no AWS
"""


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def _hours(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 24:
        raise argparse.ArgumentTypeError(f"expected 1 to 24 (Model Monitor's longest analysis window), got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The parser with its four subcommands; each has ``--help``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--stage", help="the deployed stage, as in cdk.json context 'stages' (default: cdk.json's 'stage')"
    )
    common.add_argument(
        "--endpoint",
        metavar="ID",
        help="on a stage with several endpoints: the id of the one to work on (status without it: every endpoint)",
    )
    common.add_argument(
        "--region", help="AWS region (default: the stage's region setting, else the usual boto3 configuration)"
    )

    parser = argparse.ArgumentParser(
        prog="python -m ops",
        description="Operator commands for a deployed Model Monitor stage. Names and ARNs come from the "
        "stage's CloudFormation outputs.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{traffic,run-now,status,report,lab}")

    traffic = commands.add_parser(
        "traffic",
        parents=[common],
        help="send demo requests (text/csv) to the endpoint",
        description="Send demo requests to the endpoint with InvokeEndpoint (text/csv), rows drawn like the "
        "demo data. Ends with sent, errors and p50/p99 latency; exits 1 if any request failed.",
    )
    traffic.add_argument("--count", type=_positive_int, default=200, help="how many requests (default: 200)")
    traffic.add_argument(
        "--rate", type=_positive_float, help="at most this many requests per second (default: no limit)"
    )
    traffic.add_argument(
        "--drift",
        action="store_true",
        help="send drifted rows (fractional passenger_count, inflated total_amount, missing values) "
        "that the monitor should flag",
    )
    traffic.add_argument("--seed", type=int, help="random seed, to send the same rows again (default: random)")

    run_now = commands.add_parser(
        "run-now",
        parents=[common],
        help="start one monitoring execution over the last hour of captured data",
        description="Start one data-quality execution now with a one-time (NOW) schedule that reuses the "
        "deployed schedule's job definition; wait for it with a progress line per poll, print the outcome, "
        "and delete the one-time schedule. Exits 1 if the execution failed or the wait timed out.",
    )
    run_now.add_argument("--hours", type=_hours, default=1, help="analyze the last H hours, 1-24 (default: 1)")
    run_now.add_argument("--no-wait", action="store_true", help="start it and return (the one-time schedule is kept)")
    run_now.add_argument(
        "--poll-seconds", type=_positive_float, default=30.0, help="seconds between polls (default: 30)"
    )
    run_now.add_argument(
        "--timeout-minutes", type=_positive_float, default=60.0, help="stop waiting after this long (default: 60)"
    )

    status = commands.add_parser(
        "status",
        parents=[common],
        help="show the schedule, its latest executions and the alarms",
        description="Show the monitoring schedule's state, the endpoint's latest monitoring executions "
        "(newest first, with outcome and failure reason) and the stage's alarms. Exits 1 if an alarm is in "
        "ALARM or the schedule failed.",
    )
    status.add_argument("--executions", type=_positive_int, default=10, help="how many executions (default: 10)")

    report = commands.add_parser(
        "report",
        parents=[common],
        help="compare an execution with the baseline: violations table, PNG and HTML",
        description="Print the violations of the latest completed execution and write report.png and "
        "report.html comparing baseline and current distributions per feature. With --baseline/--execution it "
        "reads local folders instead of the stage (statistics.json, constraints.json, "
        "constraint_violations.json) and needs no AWS.",
    )
    report.add_argument(
        "--out", type=Path, default=Path("monitor-report"), help="output folder (default: ./monitor-report)"
    )
    report.add_argument(
        "--baseline",
        type=Path,
        metavar="DIR",
        help="local folder with the baseline's statistics.json, constraints.json",
    )
    report.add_argument(
        "--execution",
        type=Path,
        metavar="DIR",
        help="local folder with an execution's statistics.json, constraint_violations.json",
    )
    report.add_argument(
        "--run",
        metavar="NAME",
        help="builtin engine: show this run (run name as status lists it, or its S3 folder) instead of the latest",
    )
    report.add_argument(
        "--processing-job",
        metavar="NAME",
        help="show this execution (processing job name or ARN) instead of the latest",
    )
    lab = commands.add_parser(
        "lab",
        help="the builtin engine's whole loop on this machine, in memory: no AWS account",
        description="Run the lab: the demo baseline by the engine baseline custom resource, a steady and a drifted "
        "hour of demo traffic captured as SageMaker writes it, the hourly analysis through its real entry point, the "
        "violation percentage and the alarm decision, and a report per hour. AWS is moto, in memory.",
    )
    lab.add_argument("--out", type=Path, default=Path("lab-report"), help="report folder (default: ./lab-report)")
    lab.add_argument(
        "--rate", type=_positive_float, default=2.0, help="demo requests per second in each hour (default: 2)"
    )
    return parser


def _run(args: argparse.Namespace, client_factory: ClientFactory | None, cdk_json: Path) -> int:
    out = sys.stdout
    if args.command == "report" and (args.baseline or args.execution):
        if args.processing_job or args.run:
            raise OpsError(
                "--processing-job and --run read from the stage; they cannot be combined with --baseline/--execution"
            )
        from .report_inputs import inputs_from_folders, print_report

        print_report(inputs_from_folders(args.baseline, args.execution), args.out, out=out)
        return 0

    if args.command == "lab":
        from .lab import run_lab

        stage_settings = so.load_stage_settings(None, cdk_json=cdk_json)
        run_lab(
            args.out,
            requests_per_second=args.rate,
            violation_threshold_percent=stage_settings.violation_threshold_percent,
            drift_threshold=stage_settings.drift_threshold,
            out=out,
        )
        return 0

    stage_settings = so.load_stage_settings(args.stage, cdk_json=cdk_json)
    entry = choose_endpoint(stage_settings, args.endpoint, command=args.command)
    clients = client_factory or boto3_client_factory(args.region or stage_settings.region)
    if stage_settings.endpoints and entry is None:  # status of every endpoint of the stage
        return fleet_status(
            clients("cloudformation"), clients("sagemaker"), clients("cloudwatch"), stage_settings, out=out
        )
    settings = endpoint_settings(stage_settings, entry) if entry else stage_settings
    outputs = so.StageOutputs(clients("cloudformation"), settings, stage_settings=stage_settings if entry else None)
    scope = Scope.of(stage_settings, entry, outputs)

    if args.command == "traffic":
        if entry is not None and entry.is_existing:
            raise OpsError(
                f"--endpoint {entry.id} is deployed elsewhere ({entry.existing_endpoint_name}): traffic sends the "
                "demo's rows, only to an endpoint this app deploys"
            )
        from .traffic import draw_request_bodies, format_summary, send_traffic

        endpoint = outputs.get("endpoint", so.ENDPOINT_NAME)
        bodies = draw_request_bodies(args.count, drift=args.drift, seed=args.seed)
        summary = send_traffic(
            clients("sagemaker-runtime"),
            endpoint_name=endpoint,
            bodies=bodies,
            rate=args.rate,
            progress=Progress("traffic"),
        )
        print(format_summary(summary, endpoint_name=endpoint, drift=args.drift), file=out)
        print(
            "captured requests reach S3 within minutes; analyze them with: "
            f"python -m ops run-now --stage {stage_settings.stage}{scope.endpoint_flag}",
            file=out,
        )
        return 1 if summary.errors else 0

    if args.command in ("run-now", "status", "report") and outputs.engine() == so.ENGINE_BUILTIN:
        return _run_builtin(args, clients, outputs, settings, scope)

    if args.command == "run-now":
        from .run_now import run_now

        return run_now(
            clients("sagemaker"),
            schedule_name=outputs.get("monitoring", so.MONITORING_SCHEDULE_NAME),
            name_prefix=settings.one_time_schedule_prefix,
            stage=scope.stage + scope.endpoint_flag,  # the hints name the endpoint too
            hours=args.hours,
            wait=not args.no_wait,
            poll_seconds=args.poll_seconds,
            timeout_seconds=args.timeout_minutes * 60,
            out=out,
        )

    if args.command == "status":
        from .status import status

        return status(
            clients("sagemaker"),
            clients("cloudwatch"),
            schedule_name=outputs.get("monitoring", so.MONITORING_SCHEDULE_NAME),
            violation_alarm_name=outputs.get("monitoring", so.VIOLATION_ALARM_NAME),
            topic_arn=scope.topic_arn(),
            limit=args.executions,
            out=out,
            alarm_name_prefix=scope.alarm_name_prefix,
        )

    from .report_inputs import inputs_from_stage, print_report

    inputs, _ = inputs_from_stage(
        clients("s3"),
        clients("sagemaker"),
        statistics_uri=outputs.get("baseline", so.BASELINE_STATISTICS_URI),
        constraints_uri=outputs.get("baseline", so.BASELINE_CONSTRAINTS_URI),
        schedule_name=outputs.get("monitoring", so.MONITORING_SCHEDULE_NAME),
        processing_job=args.processing_job,
        save_dir=args.out,
    )
    print_report(inputs, args.out, out=out)
    print(f"the downloaded files are in {args.out}/baseline and {args.out}/execution", file=out)
    return 0


def _run_builtin(
    args: argparse.Namespace, clients: ClientFactory, outputs: so.StageOutputs, settings: Settings, scope: Scope
) -> int:
    """run-now, status and report on a stage that runs the builtin engine (see ops/builtin.py)."""
    from . import builtin

    out = sys.stdout
    if args.command == "run-now":
        return builtin.run_now_builtin(
            clients("lambda"),
            function_name=outputs.get("monitoring", so.DRIFT_ANALYSIS_FUNCTION_NAME),
            name_prefix=settings.one_time_schedule_prefix,
            stage=scope.stage + scope.endpoint_flag,
            hours=args.hours,
            wait=not args.no_wait,
            out=out,
        )
    endpoint = scope.existing_endpoint_name or outputs.get("endpoint", so.ENDPOINT_NAME)
    reports = outputs.get("monitoring", so.REPORTS_S3_URI)
    if args.command == "status":
        return builtin.status_builtin(
            clients("s3"),
            clients("cloudwatch"),
            function_name=outputs.get("monitoring", so.DRIFT_ANALYSIS_FUNCTION_NAME),
            reports_uri=reports,
            endpoint_name=endpoint,
            violation_alarm_name=outputs.get("monitoring", so.VIOLATION_ALARM_NAME),
            topic_arn=scope.topic_arn(),
            limit=args.executions,
            out=out,
            alarm_name_prefix=scope.alarm_name_prefix,
        )
    if args.processing_job:
        raise OpsError(
            "--processing-job names a Model Monitor execution; this stage runs the builtin engine: use --run"
        )
    from .report_inputs import print_report

    inputs = builtin.run_report_inputs(
        clients("s3"),
        reports_uri=reports,
        endpoint_name=endpoint,
        statistics_uri=outputs.get("baseline", so.BASELINE_STATISTICS_URI),
        constraints_uri=outputs.get("baseline", so.BASELINE_CONSTRAINTS_URI),
        run=args.run,
        save_dir=args.out,
    )
    print_report(inputs, args.out, out=out)
    print(f"the downloaded files are in {args.out}/baseline and {args.out}/execution", file=out)
    return 0


@dataclass(frozen=True)
class Scope:
    """What differs when a command works on one endpoint of a stage with ``endpoints``: the topic is the shared
    stack's, the alarms of that topic are narrowed to the endpoint's, an endpoint deployed elsewhere has no
    endpoint stack (its name is in cdk.json), and hints name ``--endpoint``."""

    stage: str
    endpoint_flag: str
    existing_endpoint_name: str | None
    alarm_name_prefix: str | None
    _stage_outputs: so.StageOutputs
    _outputs: so.StageOutputs

    @classmethod
    def of(cls, stage_settings: Settings, entry: MonitoredEndpoint | None, outputs: so.StageOutputs) -> Scope:
        return cls(
            stage=stage_settings.stage,
            endpoint_flag=f" --endpoint {entry.id}" if entry else "",
            existing_endpoint_name=entry.existing_endpoint_name if entry else None,
            alarm_name_prefix=entry_alarm_prefix(stage_settings, entry) if entry else None,
            _stage_outputs=so.StageOutputs(outputs.cloudformation, stage_settings),
            _outputs=outputs,
        )

    def topic_arn(self) -> str:
        if self.alarm_name_prefix is None:
            return self._outputs.get("monitoring", so.ALERTS_TOPIC_ARN)
        return self._stage_outputs.get("shared", so.ALERTS_TOPIC_ARN)


def main(
    argv: Sequence[str] | None = None,
    *,
    client_factory: ClientFactory | None = None,
    cdk_json: Path = so.CDK_JSON,
) -> int:
    """Run one command; returns the exit code. Problems the operator can fix are one line on stderr.

    Args:
        argv: The arguments (default: ``sys.argv[1:]``).
        client_factory: Makes the AWS clients (default: boto3 with the usual configuration); tests pass moto
            or stubbed clients.
        cdk_json: Where the stages are defined.
    """
    args = build_parser().parse_args(argv)
    try:
        return _run(args, client_factory, cdk_json)
    except OpsError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except NoRegionError:
        print(
            "error: no AWS region: pass --region, set AWS_REGION, or set the stage's region in cdk.json",
            file=sys.stderr,
        )
        return 2
    except NoCredentialsError:
        print("error: no AWS credentials: configure a profile (aws configure, AWS_PROFILE) or sign in", file=sys.stderr)
        return 2
    except ClientError as error:
        details = error.response.get("Error", {})
        operation = getattr(error, "operation_name", "call")
        print(f"error: AWS {operation} failed: {details.get('Code')}: {details.get('Message')}", file=sys.stderr)
        return 1
    except BotoCoreError as error:
        print(f"error: AWS: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
