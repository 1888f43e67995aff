"""The CloudWatch publisher at the engine's edge: PutMetricData calls as botocore validates them."""

import boto3
from botocore.stub import Stubber

from drift_engine import DATA_METRICS_NAMESPACE, CloudWatchPublisher, metric_data
from drift_engine.metrics import FeatureMetrics, StatisticSet

DIMENSIONS = [{"Name": "Endpoint", "Value": "taxi"}, {"Name": "MonitoringSchedule", "Value": "hourly"}]


def test_put_metric_data_carries_the_statistic_set_and_values_in_requests_of_at_most_1000() -> None:
    features = [
        FeatureMetrics(
            feature=f"f{index}",
            data=StatisticSet(sample_count=10.0, total=55.0, minimum=1.0, maximum=10.0),
            non_null=0.9,
            baseline_drift=0.25 if index else float("nan"),  # not computed: left out, CloudWatch rejects NaN
        )
        for index in range(400)
    ]
    data = metric_data(features, endpoint_name="taxi", monitoring_schedule_name="hourly")
    assert len(data) == 400 * 3 - 1
    client = boto3.client("cloudwatch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        first: list[object] = [
            {
                "MetricName": "feature_data_f0",
                "Dimensions": DIMENSIONS,
                "Unit": "None",
                "StatisticValues": {"SampleCount": 10.0, "Sum": 55.0, "Minimum": 1.0, "Maximum": 10.0},
            },
            {"MetricName": "feature_non_null_f0", "Dimensions": DIMENSIONS, "Unit": "None", "Value": 0.9},
            {"MetricName": "feature_data_f1", "Dimensions": DIMENSIONS, "Unit": "None",
             "StatisticValues": {"SampleCount": 10.0, "Sum": 55.0, "Minimum": 1.0, "Maximum": 10.0}},
        ]  # fmt: skip
        for expected in (_starts_with(first, 1000), _any_of_length(199)):
            stubber.add_response("put_metric_data", {}, {"Namespace": DATA_METRICS_NAMESPACE, "MetricData": expected})
        CloudWatchPublisher(client).publish(DATA_METRICS_NAMESPACE, data)
        stubber.assert_no_pending_responses()


class _starts_with(list[object]):  # noqa: N801 - a matcher that reads like the value it stands for
    """Equal to a list of ``length`` items whose first items are ``prefix``."""

    def __init__(self, prefix: list[object], length: int) -> None:
        super().__init__(prefix)
        self.length = length

    def __eq__(self, other: object) -> bool:
        return isinstance(other, list) and len(other) == self.length and other[: len(self)] == list(self)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None


class _any_of_length(list[object]):  # noqa: N801
    def __init__(self, length: int) -> None:
        super().__init__()
        self.length = length

    def __eq__(self, other: object) -> bool:
        return isinstance(other, list) and len(other) == self.length

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None
