"""CloudWatch metrics of one endpoint variant, for an endpoint this app created or one it only monitors."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

#: Invocation metrics (AWS/SageMaker) and instance metrics (/aws/sagemaker/Endpoints), AWS documentation
#: "Amazon SageMaker AI metrics in Amazon CloudWatch".
INVOCATION_NAMESPACE = "AWS/SageMaker"
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"


@dataclass(frozen=True)
class EndpointMetrics:
    endpoint_name: str
    variant_name: str

    def metric(
        self,
        metric_name: str,
        *,
        namespace: str = INVOCATION_NAMESPACE,
        statistic: str = "Sum",
        period: Duration | None = None,
        label: str | None = None,
    ) -> cloudwatch.Metric:
        """A metric with the dimensions ``EndpointName`` and ``VariantName``. Default period: five minutes."""
        return cloudwatch.Metric(
            namespace=namespace,
            metric_name=metric_name,
            dimensions_map={"EndpointName": self.endpoint_name, "VariantName": self.variant_name},
            statistic=statistic,
            period=period or Duration.minutes(5),
            label=label,
        )

    def invocations(self) -> cloudwatch.Metric:
        return self.metric("Invocations", label="Invocations")

    def model_latency(self, statistic: str = "p99") -> cloudwatch.Metric:
        """Time the model container took to answer, in microseconds."""
        return self.metric("ModelLatency", statistic=statistic, label=f"ModelLatency {statistic} (us)")

    def overhead_latency(self, statistic: str = "p99") -> cloudwatch.Metric:
        """Time SageMaker added around the model, in microseconds."""
        return self.metric("OverheadLatency", statistic=statistic, label=f"OverheadLatency {statistic} (us)")

    def client_errors(self) -> cloudwatch.Metric:
        return self.metric("Invocation4XXErrors", label="4XX errors")

    def server_errors(self) -> cloudwatch.Metric:
        return self.metric("Invocation5XXErrors", label="5XX errors")

    def utilization(self, metric_name: str) -> cloudwatch.Metric:
        """``CPUUtilization``, ``MemoryUtilization`` or ``DiskUtilization`` of the instances, in percent."""
        return self.metric(metric_name, namespace=INSTANCE_NAMESPACE, statistic="Average", label=metric_name)
