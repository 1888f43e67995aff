"""``traffic`` against moto's sagemaker-runtime (canned answers), and Stubber for the failures moto cannot give."""

import io
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from ops.__main__ import main
from ops.progress import Progress
from ops.traffic import MAX_CONSECUTIVE_ERRORS, draw_request_bodies, percentile, send_traffic

from .conftest import ENDPOINT_NAME, Stage, aws_client, client_factory


class RecordingRuntime:
    """Passes calls to moto's runtime client and keeps the requests, to check what was sent."""

    def __init__(self) -> None:
        self.client = aws_client("sagemaker-runtime")
        self.requests: list[dict[str, Any]] = []

    def invoke_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        self.requests.append(kwargs)
        response: dict[str, Any] = self.client.invoke_endpoint(**kwargs)
        return response


class FakeTime:
    """A clock that only moves when slept on."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def runtime_stub(aws: None) -> Iterator[tuple[Any, Stubber]]:
    # moto's runtime always answers 200 with a canned body; failures need botocore's Stubber.
    client = aws_client("sagemaker-runtime")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _expected_request() -> dict[str, Any]:
    return {"EndpointName": ENDPOINT_NAME, "ContentType": "text/csv", "Accept": "text/csv", "Body": ANY}


def _answer(body: bytes = b"2.75") -> dict[str, Any]:
    return {"Body": StreamingBody(io.BytesIO(body), len(body)), "ContentType": "text/csv"}


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 201)]

    assert percentile(values, 50) == 100.0
    assert percentile(values, 99) == 198.0
    assert percentile([5.0], 99) == 5.0
    assert percentile([], 50) is None


def test_normal_bodies_are_demo_rows() -> None:
    bodies = draw_request_bodies(50, drift=False, seed=7)

    assert len(bodies) == 50
    assert all(len(body.split(",")) == 8 for body in bodies)
    assert all("" not in body.split(",") for body in bodies)
    assert all("." not in body.split(",")[0] for body in bodies)  # integral passenger counts
    assert bodies == draw_request_bodies(50, drift=False, seed=7)


def test_drifted_bodies_have_fractional_counts_missing_values_and_inflated_totals() -> None:
    normal = [body.split(",") for body in draw_request_bodies(200, drift=False, seed=7)]
    drifted = [body.split(",") for body in draw_request_bodies(200, drift=True, seed=7)]

    assert sum("." in fields[0] for fields in drifted) > 50
    assert sum("" in fields for fields in drifted) > 10

    def mean_total(rows: list[list[str]]) -> float:
        totals = [float(fields[7]) for fields in rows if fields[7]]
        return sum(totals) / len(totals)

    assert mean_total(drifted) > 1.5 * mean_total(normal)


def test_requests_go_to_the_endpoint_as_csv(aws: None) -> None:
    runtime = RecordingRuntime()
    bodies = draw_request_bodies(25, drift=True, seed=1)
    lines = io.StringIO()

    summary = send_traffic(runtime, endpoint_name=ENDPOINT_NAME, bodies=bodies, progress=Progress("t", stream=lines))

    assert (summary.sent, summary.errors, len(summary.latencies_ms)) == (25, 0, 25)
    assert summary.p50_ms is not None and summary.p99_ms is not None and summary.p50_ms <= summary.p99_ms
    assert [r["Body"].decode() for r in runtime.requests] == bodies
    assert {(r["EndpointName"], r["ContentType"]) for r in runtime.requests} == {(ENDPOINT_NAME, "text/csv")}
    assert lines.getvalue().count("\n") == 13  # every tenth (2 requests) and the last
    assert lines.getvalue().splitlines()[-1].endswith("sent 25/25, 0 error(s)")


def test_errors_are_counted_not_raised(runtime_stub: tuple[Any, Stubber]) -> None:
    client, stubber = runtime_stub
    stubber.add_response("invoke_endpoint", _answer(), _expected_request())
    stubber.add_client_error(
        "invoke_endpoint",
        "ModelError",
        "Received client error (400) from primary",
        424,
        expected_params=_expected_request(),
    )
    stubber.add_response("invoke_endpoint", _answer(), _expected_request())

    summary = send_traffic(client, endpoint_name=ENDPOINT_NAME, bodies=["1,2", "3,4", "5,6"])

    assert (summary.sent, summary.errors, summary.succeeded) == (3, 1, 2)
    assert len(summary.latencies_ms) == 2
    assert "ModelError" in summary.error_messages[0]
    assert summary.stopped_early is None


def test_it_stops_after_consecutive_errors(runtime_stub: tuple[Any, Stubber]) -> None:
    client, stubber = runtime_stub
    for _ in range(MAX_CONSECUTIVE_ERRORS):
        stubber.add_client_error("invoke_endpoint", "ValidationException", "Endpoint x of account y not found.", 400)

    summary = send_traffic(client, endpoint_name=ENDPOINT_NAME, bodies=["1"] * 50)

    assert (summary.requested, summary.sent, summary.errors) == (50, MAX_CONSECUTIVE_ERRORS, MAX_CONSECUTIVE_ERRORS)
    assert summary.stopped_early == f"stopped after {MAX_CONSECUTIVE_ERRORS} consecutive errors"
    assert summary.error_messages == [
        "An error occurred (ValidationException) when calling the InvokeEndpoint operation: "
        "Endpoint x of account y not found."
    ]
    assert summary.p50_ms is None


def test_rate_paces_requests_from_the_start(aws: None) -> None:
    fake = FakeTime()

    summary = send_traffic(
        RecordingRuntime(), endpoint_name=ENDPOINT_NAME, bodies=["1"] * 5, rate=4, clock=fake.clock, sleep=fake.sleep
    )

    assert fake.sleeps == [0.25, 0.25, 0.25, 0.25]
    assert summary.duration_s == 1.0


def test_cli_sends_and_summarizes(stage: Stage, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["traffic", "--count", "5", "--drift", "--seed", "3"], client_factory=client_factory())

    captured = capsys.readouterr()
    assert code == 0
    assert f"endpoint {ENDPOINT_NAME}: sent 5 of 5 drifted requests" in captured.out
    assert "ok 5, errors 0" in captured.out
    assert "p50 " in captured.out and "p99 " in captured.out
    assert "[traffic " in captured.err  # progress on stderr, not mixed into the summary


def test_cli_exits_1_when_requests_fail(stage: Stage, capsys: pytest.CaptureFixture[str]) -> None:
    client = aws_client("sagemaker-runtime")
    with Stubber(client) as stubber:
        stubber.add_response("invoke_endpoint", _answer(), _expected_request())
        stubber.add_client_error("invoke_endpoint", "ThrottlingException", "Rate exceeded", 429)
        code = main(["traffic", "--count", "2"], client_factory=client_factory({"sagemaker-runtime": client}))

    assert code == 1
    out = capsys.readouterr().out
    assert "ok 1, errors 1" in out
    assert "error: An error occurred (ThrottlingException)" in out
