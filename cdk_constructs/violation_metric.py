"""The violation percentage: a function that turns each monitoring execution's report into metrics."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from cdk_constructs.dead_letter_queue import dead_letter_queue
from cdk_constructs.drift_metrics import VIOLATION_METRICS_NAMESPACE, ViolationMetrics
from cdk_constructs.function_logging import FunctionLogging
from cdk_constructs.lambda_package import package_code
from cdk_constructs.nag import acknowledge, acknowledge_unreserved_concurrency, wildcard_resource_finding

PACKAGE = "violation_metric"

#: Powertools is bundled into the function's zip from ``lambdas/violation_metric/requirements.txt`` (the same
#: version as requirements-dev.txt, which the tests run against), not taken from a layer: see lambda_package.
RUNTIME = lambda_.Runtime.PYTHON_3_14

#: When a monitoring execution (a processing job) ends, whatever the outcome.
EXECUTION_ENDED_PATTERN = events.EventPattern(
    source=["aws.sagemaker"],
    detail_type=["SageMaker Processing Job State Change"],
    detail={"ProcessingJobStatus": ["Completed", "Failed", "Stopped"]},
)


class ViolationMetric(Construct):
    """Publishes, per monitoring execution, the share of monitored features that violated their constraints.

    EventBridge invokes the function (``lambdas/violation_metric``) when any processing job ends; it keeps
    only executions of ``schedule_name`` (confirmed with ``DescribeProcessingJob``), reads the execution's
    ``constraint_violations.json`` and the constraints it was checked against, and publishes EMF metrics
    (names in ``lambdas/violation_metric/metric_names.py``) with dimensions ``Endpoint`` and
    ``MonitoringSchedule``. A failed execution publishes ``ExecutionFailed=1``; an unreadable report
    ``ReportErrors=1``, never a silent 0 %.

    :param endpoint_name: dimension value, and the endpoint the schedule watches.
    :param schedule_name: the monitoring schedule whose executions count.
    :param constraints_uri: the baseline constraints, for executions whose description names none.
    :param one_time_schedule_prefix: executions of one-time schedules whose names start with this prefix
        (``python -m ops run-now``) are reported as the main schedule's. Default: none.
    :param log_key: encrypts the function's log group.
    :param dead_letter_key: encrypts the dead-letter queue of the rule that invokes the function; EventBridge is
        allowed to use it (see ``dead_letter_queue``).
    :param namespace: CloudWatch namespace of the metrics. Default: ``ModelMonitorAsCode``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint_name: str,
        schedule_name: str,
        constraints_uri: str,
        log_key: kms.IKey,
        dead_letter_key: kms.IKey,
        one_time_schedule_prefix: str | None = None,
        namespace: str = VIOLATION_METRICS_NAMESPACE,
    ) -> None:
        super().__init__(scope, construct_id)
        #: What the function publishes; the alarms and the dashboard read these.
        self.metrics = ViolationMetrics(endpoint_name=endpoint_name, schedule_name=schedule_name, namespace=namespace)

        logging = FunctionLogging(
            self,
            "Logging",
            description="Publishes the violation percentage of each monitoring execution",
            encryption_key=log_key,
        )
        self.role = logging.role
        processing_jobs = Stack.of(self).format_arn(service="sagemaker", resource="processing-job", resource_name="*")
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="DescribeEndedJobs", actions=["sagemaker:DescribeProcessingJob"], resources=[processing_jobs]
            )
        )
        acknowledge(
            self.role,
            "Monitoring executions get names SageMaker chooses at run time; the function must describe a job to "
            "learn whether it belongs to this schedule. Describe only.",
            wildcard_resource_finding(self, processing_jobs),
        )

        self.function = lambda_.Function(
            self,
            "Function",
            description="Turns each monitoring execution's constraint violations into CloudWatch metrics",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.X86_64,
            handler=f"{PACKAGE}.handler.lambda_handler",
            code=package_code(PACKAGE, runtime=RUNTIME),
            memory_size=256,
            timeout=Duration.minutes(1),
            role=self.role,
            log_group=logging.log_group,
            environment={
                "MONITORING_SCHEDULE_NAME": schedule_name,
                "ENDPOINT_NAME": endpoint_name,
                "BASELINE_CONSTRAINTS_URI": constraints_uri,
                "ONE_TIME_SCHEDULE_PREFIX": one_time_schedule_prefix or "",
                "POWERTOOLS_METRICS_NAMESPACE": namespace,
                "POWERTOOLS_SERVICE_NAME": "model-monitor-violation-metric",
            },
        )

        acknowledge_unreserved_concurrency(self.function)

        self.dead_letter_queue = dead_letter_queue(
            self,
            "UndeliveredEvents",
            encryption_key=dead_letter_key,
            rule_description="the execution-ended rule",
        )
        self.rule = events.Rule(
            self,
            "ExecutionEnded",
            description="A SageMaker processing job (a monitoring execution among them) has ended",
            event_pattern=EXECUTION_ENDED_PATTERN,
            targets=[
                targets.LambdaFunction(
                    self.function,
                    retry_attempts=4,
                    max_event_age=Duration.hours(2),
                    dead_letter_queue=self.dead_letter_queue,
                )
            ],
        )
