"""The builtin engine's hourly analysis: a container-image function on an EventBridge Scheduler clock."""

from __future__ import annotations

import re
from dataclasses import dataclass

import jsii
from aws_cdk import Duration, Names, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk_constructs.dead_letter_queue import dead_letter_queue
from cdk_constructs.drift_metrics import (
    DATA_METRICS_NAMESPACE,
    VIOLATION_METRICS_NAMESPACE,
    DataQualityMetrics,
    ViolationMetrics,
)
from cdk_constructs.engine_image import EngineImage, SparkEngineImage
from cdk_constructs.function_logging import FunctionLogging
from cdk_constructs.nag import acknowledge, acknowledge_unreserved_concurrency, wildcard_resource_finding
from cdk_constructs.processing_role import ProcessingRole
from cdk_constructs.s3_location import S3Location
from lambdas.drift_analysis import metric_names as run_metrics

#: The function's entry point in the engine image (``lambdas/drift_analysis/handler.py``).
HANDLER = "lambdas.drift_analysis.handler.lambda_handler"
#: What the schedule sends: EventBridge Scheduler replaces the context attributes with the time the run was
#: scheduled for, the execution's id and the delivery attempt (Scheduler user guide, "Adding context
#: attributes"); the function analyzes the hour before the scheduled time, as Model Monitor analyzes the hour
#: before each execution. Only ``scheduledTime`` is required; the other two go to the logs.
SCHEDULED_TIME_INPUT = (
    '{"scheduledTime": "<aws.scheduler.scheduled-time>", "executionId": "<aws.scheduler.execution-id>", '
    '"attemptNumber": "<aws.scheduler.attempt-number>"}'
)
#: Lambda's limits for a function (Lambda developer guide, "Lambda quotas"): memory 128-10240 MB, 900 s.
MEMORY_RANGE_MB = (128, 10240)
MAX_TIMEOUT = Duration.minutes(15)
#: The function's ``PROCESSING_JOB`` variable (``lambdas/drift_analysis/config.py``, ``ENV_PROCESSING_JOB``).
PROCESSING_JOB_VARIABLE = "PROCESSING_JOB"
#: Longest job-name prefix: a job is ``<prefix>-<yyyymmddhh>-<8 hex>``, within botocore's 63-character
#: ProcessingJobName (``lambdas/drift_analysis/config.py``, ``JOB_NAME_PREFIX_MAX``).
JOB_NAME_PREFIX_MAX = 43
_JOB_NAME_PREFIX = re.compile(r"[a-z0-9](-?[a-z0-9]){0,42}")
#: botocore's sagemaker model: ProcessingInstanceCount 1-100, ProcessingVolumeSizeInGB 1-16384.
INSTANCE_COUNT_RANGE = (1, 100)
VOLUME_SIZE_RANGE_GB = (1, 16384)


@dataclass(frozen=True, kw_only=True)
class ProcessingRuntime:
    """``builtin_runtime: processing``: each run's hours are analyzed by a SageMaker Processing job on ``image``.

    :param image: the engine on SageMaker's Spark image.
    :param instance_type: a ProcessingInstanceType (checked against botocore's list by the settings).
    :param instance_count: instances of each job (1-100); Spark spreads the capture objects over them.
    :param volume_size_gb: each instance's storage volume (1-16384 GB), encrypted with the data key.
    :param max_runtime: SageMaker stops a job that runs longer; at most the time between two runs.
    :param dead_letter_key: encrypts the dead-letter queue of the rule that calls the function when a job ends
        (EventBridge is allowed to use it).
    :param encrypt_inter_container_traffic: Default: true (Spark's shuffle between instances).
    :param subnet_ids: run the job in these subnets (they need a route to S3). Default: none, no VPC.
    :param security_group_ids: with ``subnet_ids``.
    """

    image: SparkEngineImage
    instance_type: str
    instance_count: int
    volume_size_gb: int
    max_runtime: Duration
    dead_letter_key: kms.IKey
    encrypt_inter_container_traffic: bool = True
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()


class BuiltinDriftAnalysis(Construct):
    """Analyzes an endpoint's captured data against its baseline on a schedule: the hours since the last run.

    EventBridge Scheduler invokes the function (``lambdas/drift_analysis``, in the engine image) with the
    scheduled time; the function reads those hours' capture files, writes ``statistics.json`` and
    ``constraint_violations.json`` where Model Monitor writes them
    (``<reports>/<endpoint>/<schedule>/yyyy/mm/dd/hh/``), publishes the per-feature metrics under
    Model Monitor's names and dimensions (namespace ``drift_metrics_namespace``), then the violation
    percentage and the run's health metrics (namespace ``violation_metrics_namespace``). The schedule's name is
    the ``MonitoringSchedule`` dimension, as a Model Monitor schedule's is, so the alarms and the dashboard
    read the same metrics on both engines (:attr:`metrics`, :attr:`violations`).

    Scheduler invokes asynchronously: Lambda retries a failed run twice, then sends the event to
    :attr:`dead_letter_queue`, which also receives what Scheduler could not deliver. The function's role may
    read only the capture folder of the endpoint and the baseline, write only the endpoint's reports folder
    (the schedule's runs and ``ops run-now``'s), and put metrics only in the drift namespace (the run metrics
    go out as embedded metric format in the logs); the scheduler's role may invoke only this function.

    :param engine_image: the engine image the function runs.
    :param endpoint_name: the monitored endpoint.
    :param capture: the endpoint's capture destination (``s3://bucket/prefix``, without the endpoint name).
    :param capture_key: the key the captured data is encrypted with.
    :param reports: where reports go (``s3://bucket/prefix``); the baseline sits in the same bucket.
    :param baseline: the folder holding ``statistics.json`` and ``constraints.json``.
    :param statistics_uri: ``s3://`` URI of the baseline statistics.
    :param constraints_uri: ``s3://`` URI of the baseline constraints.
    :param data_key: the key of the reports bucket; also encrypts the dead-letter queue and the schedule.
    :param schedule_expression: Default: hourly, ``cron(0 * ? * * *)`` (UTC).
    :param memory_size_mb: the function's memory. Default: 1769 MB, one full vCPU.
    :param timeout: the longest run. Default: 15 minutes, Lambda's limit.
    :param drift_metrics_namespace: Default: Model Monitor's, ``aws/sagemaker/Endpoints/data-metrics``.
    :param violation_metrics_namespace: Default: ``ModelMonitorAsCode``.
    :param analysis_window_hours: how many hours before its scheduled time each run analyzes: the time between two
        runs of ``schedule_expression``, so every captured record is analyzed once. Default: 1 (hourly).
    :param output_columns_position: ``START`` or ``END``: where the endpoint's output sits among the baseline's
        columns, as the baseline was computed. Default: ``START``, as Model Monitor.
    :param processing: analyze on a Processing job per run instead of in the function (see
        :class:`ProcessingRuntime` and :meth:`_processing_runtime`). Default: none, the function analyzes.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        engine_image: EngineImage,
        endpoint_name: str,
        capture: S3Location,
        capture_key: kms.IKey,
        reports: S3Location,
        baseline: S3Location,
        statistics_uri: str,
        constraints_uri: str,
        data_key: kms.IKey,
        schedule_expression: str = "cron(0 * ? * * *)",
        memory_size_mb: int = 1769,
        timeout: Duration | None = None,
        drift_metrics_namespace: str = DATA_METRICS_NAMESPACE,
        violation_metrics_namespace: str = VIOLATION_METRICS_NAMESPACE,
        output_columns_position: str = "START",
        analysis_window_hours: int = 1,
        processing: ProcessingRuntime | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        timeout = timeout or MAX_TIMEOUT
        low, high = MEMORY_RANGE_MB
        if not Token.is_unresolved(memory_size_mb) and not low <= memory_size_mb <= high:
            raise ValueError(f"memory_size_mb must be from {low} to {high} (Lambda's range), got {memory_size_mb}")
        if not timeout.is_unresolved() and not 1 <= timeout.to_seconds() <= MAX_TIMEOUT.to_seconds():
            raise ValueError(f"timeout must be from 1 to 900 seconds (Lambda's limit), got {timeout.to_seconds()} s")
        if not 1 <= analysis_window_hours <= 24:
            raise ValueError(f"analysis_window_hours must be from 1 to 24, got {analysis_window_hours}")
        if output_columns_position not in ("START", "END"):
            raise ValueError(f"output_columns_position must be 'START' or 'END', got {output_columns_position!r}")
        for name, location in (("capture", capture), ("reports", reports), ("baseline", baseline)):
            if location.key.endswith("/"):
                raise ValueError(f"{name} must be a folder without a trailing '/', got {location.uri!r}")

        self.endpoint_name = endpoint_name
        # Named like a Model Monitor schedule: unique per stack and construct path, lower case, at most 63
        # characters, so it is a valid MonitoringSchedule dimension and a valid Scheduler name (64).
        self.schedule_name = Names.unique_resource_name(self, max_length=63, separator="-").lower()
        #: Where the reports go: ``<reports_s3_uri>/<endpoint>/<schedule>/yyyy/mm/dd/hh/``, as Model Monitor's.
        self.reports_s3_uri = reports.uri
        #: What the function publishes, read by the alarms and the dashboard.
        self.metrics = DataQualityMetrics(
            endpoint_name=endpoint_name, schedule_name=self.schedule_name, namespace=drift_metrics_namespace
        )
        self.violations = ViolationMetrics(
            endpoint_name=endpoint_name, schedule_name=self.schedule_name, namespace=violation_metrics_namespace
        )

        logging = FunctionLogging(
            self, "Logging", description="Runs the builtin drift engine's hourly analysis", encryption_key=data_key
        )
        self.role = logging.role
        self._grant_data_access(capture, capture_key, reports, baseline, data_key)
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="PutDriftMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={
                    # The run metrics (violation percentage, health) go out as embedded metric format in the
                    # function's logs, which needs no CloudWatch permission.
                    "StringEquals": {"cloudwatch:namespace": drift_metrics_namespace}
                },
            )
        )
        acknowledge(
            self.role,
            "cloudwatch:PutMetricData supports no resource-level permissions (Service Authorization Reference); "
            "the statement is limited to the drift namespace with the cloudwatch:namespace condition key.",
            "AwsSolutions-IAM5[Resource::*]",
        )

        self.dead_letter_queue = sqs.Queue(
            self,
            "FailedRuns",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=data_key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge(
            self.dead_letter_queue,
            "This queue is the dead-letter queue of the analysis function and its schedule; it has none of its own.",
            "AwsSolutions-SQS3",
        )
        self.function = lambda_.DockerImageFunction(
            self,
            "Function",
            description="Analyzes the captured data since the previous run with the builtin drift engine",
            code=engine_image.function_code(HANDLER),
            architecture=lambda_.Architecture.X86_64,
            memory_size=memory_size_mb,
            timeout=timeout,
            role=self.role,
            log_group=logging.log_group,
            environment={
                "ENDPOINT_NAME": endpoint_name,
                "MONITORING_SCHEDULE_NAME": self.schedule_name,
                "CAPTURE_S3_URI": capture.uri,
                "REPORTS_S3_URI": reports.uri,
                "BASELINE_STATISTICS_URI": statistics_uri,
                "BASELINE_CONSTRAINTS_URI": constraints_uri,
                "DRIFT_METRICS_NAMESPACE": drift_metrics_namespace,
                "POWERTOOLS_METRICS_NAMESPACE": violation_metrics_namespace,
                "OUTPUT_COLUMNS_POSITION": output_columns_position,
                "ANALYSIS_WINDOW_HOURS": str(analysis_window_hours),
                "POWERTOOLS_SERVICE_NAME": "drift-engine-analysis",
            },
            # Two retries of a failed run within an hour (Lambda's backoff: about 1 and 2 minutes); then the event
            # is kept in the queue, and the FailedRuns alarm fires.
            retry_attempts=2,
            max_event_age=Duration.hours(1),
            on_failure=_QueueWithoutGrant(self.dead_letter_queue.queue_arn),
        )
        acknowledge_unreserved_concurrency(self.function)
        self._allow_sending_failures(self.role, data_key)  # also what reading and writing reports needs
        #: ``processing`` only: the jobs' role, the prefix of their names, the rule that hears them end.
        self.job_role: ProcessingRole | None = None
        self.job_name_prefix: str | None = None
        self.job_ended_rule: events.Rule | None = None
        self.job_dead_letter_queue: sqs.Queue | None = None
        if processing is not None:
            self._processing_runtime(
                processing,
                capture=capture,
                capture_key=capture_key,
                reports=reports,
                baseline=baseline,
                data_key=data_key,
                analysis_window_hours=analysis_window_hours,
            )

        stack = Stack.of(self)
        schedule_group_arn = stack.format_arn(service="scheduler", resource="schedule-group", resource_name="default")
        self.scheduler_role = iam.Role(
            self,
            "SchedulerRole",
            description="Lets the drift analysis schedule invoke its function, and nothing else",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                # Confused-deputy guard, as aws-cdk-lib's scheduler targets write it: only schedules of this
                # account's default group may assume the role.
                conditions={"StringEquals": {"aws:SourceAccount": stack.account, "aws:SourceArn": schedule_group_arn}},
            ),
        )
        self.schedule = scheduler.CfnSchedule(
            self,
            "Schedule",
            name=self.schedule_name,
            description=f"Drift analysis of endpoint {endpoint_name} by the builtin engine",
            schedule_expression=schedule_expression,
            schedule_expression_timezone="UTC",
            # Model Monitor starts within minutes of the hour; the analysis reads a closed hour, so a fixed
            # start is fine and keeps the report folder's hour the scheduled one.
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            kms_key_arn=data_key.key_arn,
            state="ENABLED",
            target=scheduler.CfnSchedule.TargetProperty(
                arn=self.function.function_arn,
                role_arn=self.scheduler_role.role_arn,
                input=SCHEDULED_TIME_INPUT,
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(arn=self.dead_letter_queue.queue_arn),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_event_age_in_seconds=3600, maximum_retry_attempts=3
                ),
            ),
        )
        self.scheduler_role.add_to_policy(
            iam.PolicyStatement(
                sid="InvokeTheAnalysisOnly", actions=["lambda:InvokeFunction"], resources=[self.function.function_arn]
            )
        )
        self._allow_sending_failures(self.scheduler_role, data_key)
        self.schedule.node.add_dependency(self.scheduler_role)

    def _processing_runtime(
        self,
        processing: ProcessingRuntime,
        *,
        capture: S3Location,
        capture_key: kms.IKey,
        reports: S3Location,
        baseline: S3Location,
        data_key: kms.IKey,
        analysis_window_hours: int,
    ) -> None:
        """The function starts each run's job (``CreateProcessingJob`` under the prefix, passing only the job role)
        and finishes it when EventBridge reports the job's end; the job's role reads what the function reads and
        writes only the endpoint's reports folder, and has no CloudWatch permission (the function publishes).
        """
        for name, value, (low, high) in (
            ("instance_count", processing.instance_count, INSTANCE_COUNT_RANGE),
            ("volume_size_gb", processing.volume_size_gb, VOLUME_SIZE_RANGE_GB),
        ):
            if not low <= value <= high:
                raise ValueError(f"processing.{name} must be from {low} to {high}, got {value}")
        longest = analysis_window_hours * 3600
        if not 1 <= processing.max_runtime.to_seconds() <= longest:
            raise ValueError(
                f"processing.max_runtime must be from 1 s to the {longest} s between two runs, "
                f"got {processing.max_runtime.to_seconds()} s"
            )
        if bool(processing.subnet_ids) != bool(processing.security_group_ids):
            raise ValueError("processing: give both subnet_ids and security_group_ids, or neither")
        prefix = Names.unique_resource_name(self, max_length=JOB_NAME_PREFIX_MAX, separator="-").lower()
        if _JOB_NAME_PREFIX.fullmatch(prefix) is None:
            raise ValueError(f"job-name prefix {prefix!r} is not a valid start of a ProcessingJobName")
        self.job_name_prefix = prefix

        job_role = ProcessingRole(
            self,
            "JobRole",
            description="Runs the builtin drift engine's hourly Processing jobs: reads captures and baseline, "
            "writes reports",
            encryption_key=data_key,
            image=processing.image.image_uri,
        )
        self.job_role = job_role
        endpoint = "*" if Token.is_unresolved(self.endpoint_name) else self.endpoint_name
        # Spark lists and reads the capture hour folders through S3A with the job's role.
        S3Location(bucket=capture.bucket, key=f"{capture.key}/{endpoint}/").grant_read_and_list(job_role.role)
        capture_key.grant_decrypt(job_role.role)
        S3Location(bucket=baseline.bucket, key=f"{baseline.key}/").grant_read_and_list(job_role.role)
        S3Location(bucket=reports.bucket, key=f"{reports.key}/{endpoint}/").grant_write(job_role.role)

        stack = Stack.of(self)
        jobs = stack.format_arn(service="sagemaker", resource="processing-job", resource_name=f"{prefix}-*")
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="RunAnalysisJobs",
                actions=["sagemaker:CreateProcessingJob", "sagemaker:DescribeProcessingJob"],
                resources=[jobs],
            )
        )
        acknowledge(
            self.role,
            "Each run's job is named <prefix>-<hour>-<digest> at run time; only names under this analysis's prefix.",
            wildcard_resource_finding(self, jobs),
        )
        job_role.grant_pass_role(self.role)

        network: dict[str, object] = {
            "EnableInterContainerTrafficEncryption": processing.encrypt_inter_container_traffic,
            # Spark reads the capture from S3 itself: the containers need the network.
            "EnableNetworkIsolation": False,
        }
        if processing.subnet_ids:
            network["VpcConfig"] = {
                "Subnets": list(processing.subnet_ids),
                "SecurityGroupIds": list(processing.security_group_ids),
            }
        self.function.add_environment(
            PROCESSING_JOB_VARIABLE,
            stack.to_json_string(
                {
                    "job_name_prefix": prefix,
                    "image_uri": processing.image.image_uri,
                    "role_arn": job_role.role.role_arn,
                    "instance_type": processing.instance_type,
                    "instance_count": processing.instance_count,
                    "volume_size_gb": processing.volume_size_gb,
                    "max_runtime_seconds": int(processing.max_runtime.to_seconds()),
                    "kms_key_arn": data_key.key_arn,
                    "network": network,
                }
            ),
        )
        # The function's own start of a job must wait for the job role's permissions.
        self.function.node.add_dependency(job_role.policy)

        self.job_dead_letter_queue = dead_letter_queue(
            self,
            "UndeliveredJobEvents",
            encryption_key=processing.dead_letter_key,
            rule_description="the analysis job-ended rule",
        )
        self.job_ended_rule = events.Rule(
            self,
            "JobEnded",
            description="A Processing job of the builtin drift analysis has ended: publish its run",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Processing Job State Change"],
                # EventBridge content filtering, prefix matching (EventBridge user guide, "Content filtering").
                detail={
                    "ProcessingJobName": events.Match.prefix(f"{prefix}-"),
                    "ProcessingJobStatus": ["Completed", "Failed", "Stopped"],
                },
            ),
            targets=[
                targets.LambdaFunction(
                    self.function,
                    retry_attempts=4,
                    max_event_age=Duration.hours(2),
                    dead_letter_queue=self.job_dead_letter_queue,
                )
            ],
        )

    def _allow_sending_failures(self, role: iam.Role, data_key: kms.IKey) -> None:
        """Send to the dead-letter queue, encrypted with the data key (SQS needs GenerateDataKey and Decrypt from
        a producer of a KMS-encrypted queue, SQS developer guide "Key management"). Written out instead of
        ``Queue.grant_send_messages``, whose key grant adds ``kms:ReEncrypt*`` and ``kms:GenerateDataKey*``.
        Scheduler also decrypts the schedule's input with its execution role, as aws-cdk-lib's ``Schedule``
        grants for its ``key``.
        """
        role.add_to_policy(
            iam.PolicyStatement(
                sid="SendFailedRuns", actions=["sqs:SendMessage"], resources=[self.dead_letter_queue.queue_arn]
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="UseDataKey", actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[data_key.key_arn]
            )
        )

    def _grant_data_access(
        self,
        capture: S3Location,
        capture_key: kms.IKey,
        reports: S3Location,
        baseline: S3Location,
        data_key: kms.IKey,
    ) -> None:
        # The endpoint's own folders. An endpoint name that another stack resolves at deploy time becomes "*" here:
        # the capture prefix belongs to that one endpoint anyway, and the reports folder is the schedule's.
        endpoint = "*" if Token.is_unresolved(self.endpoint_name) else self.endpoint_name
        endpoint_capture = S3Location(bucket=capture.bucket, key=f"{capture.key}/{endpoint}/")
        endpoint_capture.grant_read_and_list(self.role)
        capture_key.grant_decrypt(self.role)
        S3Location(bucket=baseline.bucket, key=f"{baseline.key}/").grant_read_and_list(self.role)
        # The endpoint's reports folder: the schedule's runs, and one-time runs (``ops run-now``) named apart.
        own_reports = S3Location(bucket=reports.bucket, key=f"{reports.key}/{endpoint}/")
        own_reports.grant_read_and_list(self.role)
        own_reports.grant_write(self.role)

    def metrics_run_health(self) -> list[cloudwatch.Metric]:
        """What each run reports about its input: records analyzed and malformed capture lines (sums over the
        period), and ``NoCapturedData`` (1 for a run whose hours held no captured record: not a failure)."""
        return run_health_metrics(self.violations)

    def metric_failed_runs(self) -> cloudwatch.Metric | cloudwatch.MathExpression:
        """Runs that failed after every retry (or that Scheduler could not deliver): messages in the queue; with
        ``processing``, also the job-ended events the function did not take (a run that would never publish)."""
        runs = self.dead_letter_queue.metric_approximate_number_of_messages_visible(
            period=Duration.minutes(5), statistic="Maximum"
        )
        if self.job_dead_letter_queue is None:
            return runs
        job_events = self.job_dead_letter_queue.metric_approximate_number_of_messages_visible(
            period=Duration.minutes(5), statistic="Maximum"
        )
        return cloudwatch.MathExpression(
            expression="runs + jobEvents",
            using_metrics={"runs": runs, "jobEvents": job_events},
            label="Failed runs and undelivered job events",
            period=Duration.minutes(5),
        )


def run_health_metrics(violations: ViolationMetrics) -> list[cloudwatch.Metric]:
    """``BuiltinDriftAnalysis.metrics_run_health`` from the metrics' names and dimensions alone (for a dashboard in
    another stack)."""
    return [
        violations.metric(run_metrics.ANALYZED_RECORDS, statistic="Sum"),
        violations.metric(run_metrics.MALFORMED_CAPTURE_RECORDS, statistic="Sum"),
        violations.metric(run_metrics.NO_CAPTURED_DATA),
    ]


@jsii.implements(lambda_.IDestination)
class _QueueWithoutGrant:
    """An on-failure destination that grants nothing: the role's statements are written out by the caller."""

    def __init__(self, queue_arn: str) -> None:
        self._queue_arn = queue_arn

    def bind(
        self, _scope: Construct, _fn: lambda_.IFunction, *, type: lambda_.DestinationType | None = None
    ) -> lambda_.DestinationConfig:
        return lambda_.DestinationConfig(destination=self._queue_arn)
