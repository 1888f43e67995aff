"""The app's stacks, one per file, and the one function that builds them all for a stage."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import App, Environment, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from settings import Settings, SettingsError
from stacks.baseline_stack import BaselineStack
from stacks.endpoint_stack import EndpointStack
from stacks.monitoring_stack import MonitoringStack


@dataclass(frozen=True)
class StageStacks:
    endpoint: EndpointStack
    baseline: BaselineStack
    monitoring: MonitoringStack


def build_stacks(app: App, settings: Settings) -> StageStacks:
    """Build every stack of ``settings.stage`` into ``app``, with cdk-nag's AwsSolutions checks applied.

    ``app.py`` and the tests share this, so what the tests synthesize is what ``cdk synth`` does.
    """
    if settings.endpoints:
        # Validated in settings, not built yet: refused in one line rather than silently monitoring none of them.
        raise SettingsError(
            f"setting endpoints: got {', '.join(endpoint.id for endpoint in settings.endpoints)}; the stacks for "
            "several endpoints per stage (issue 12) are not built yet: leave endpoints out of the stage"
        )
    env = Environment(account=settings.account, region=settings.region)
    endpoint = EndpointStack(
        app,
        "Endpoint",
        stack_name=f"{settings.stack_prefix}-endpoint",
        description=f"SageMaker endpoint with data capture ({settings.stage})",
        env=env,
        settings=settings,
    )
    baseline = BaselineStack(
        app,
        "Baseline",
        stack_name=f"{settings.stack_prefix}-baseline",
        description=f"Model Monitor baseline of the training data ({settings.stage})",
        env=env,
        settings=settings,
    )
    monitoring = MonitoringStack(
        app,
        "Monitoring",
        stack_name=f"{settings.stack_prefix}-monitoring",
        description=f"Data-quality monitoring, alarms and dashboard of the endpoint ({settings.stage})",
        env=env,
        settings=settings,
        endpoint=endpoint.endpoint.metrics,
        capture_bucket_name=endpoint.capture_bucket_name_export.import_value,
        capture_key=endpoint.endpoint.capture_key,
        capture_prefix=endpoint.endpoint.capture_prefix,
        data_bucket_name=baseline.data_bucket_name_export.import_value,
        data_bucket_reference=baseline.storage.bucket.bucket_name,
        data_key=baseline.storage.encryption_key,
        statistics_uri=baseline.baseline.statistics_uri,
        constraints_uri=baseline.baseline.constraints_uri,
        baseline_fingerprint=baseline.baseline.fingerprint,
    )
    # Bucket names cross as explicit exports: grants on their objects then name a value known at construction,
    # which the cdk-nag acknowledgements of those grants must spell out.
    monitoring.add_stack_dependency(endpoint, "watches its endpoint and reads its captured data")
    monitoring.add_stack_dependency(baseline, "compares with its baseline and writes reports to its bucket")
    Tags.of(app).add("project", settings.name)
    Tags.of(app).add("stage", settings.stage)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return StageStacks(endpoint=endpoint, baseline=baseline, monitoring=monitoring)
