"""The app's stacks, one per file, and the one function that builds them all for a stage."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from aws_cdk import App, Environment, Tags, Token, Validations
from cdk_nag import AwsSolutionsChecks

from cdk_constructs.builtin_drift_analysis import run_health_metrics
from cdk_constructs.fleet_dashboard import FleetMember
from cdk_constructs.monitoring_alarms import MonitoringAlarms
from settings import Settings, endpoint_settings
from stacks.baseline_stack import BaselineStack
from stacks.endpoint_stack import EndpointStack
from stacks.monitoring_stack import MonitoringStack
from stacks.shared_stack import SharedStack


@dataclass(frozen=True)
class StageStacks:
    endpoint: EndpointStack
    baseline: BaselineStack
    monitoring: MonitoringStack


@dataclass(frozen=True)
class EndpointStacks:
    """One entry of a stage's ``endpoints``: no endpoint stack when the endpoint is deployed elsewhere."""

    endpoint: EndpointStack | None
    baseline: BaselineStack
    monitoring: MonitoringStack


@dataclass(frozen=True)
class FleetStacks:
    shared: SharedStack
    endpoints: dict[str, EndpointStacks]


def build_stacks(app: App, settings: Settings) -> StageStacks | FleetStacks:
    """Build every stack of ``settings.stage`` into ``app``, with cdk-nag's AwsSolutions checks applied.

    ``app.py`` and the tests share this, so what the tests synthesize is what ``cdk synth`` does. A stage with
    ``endpoints`` gets a shared stack and stacks per endpoint (``build_fleet``); one without, today's three.
    The tags and the cdk-nag plugin are added once to the app, whatever the number of endpoints: a plugin per
    endpoint would check every stack once per plugin, and synth would grow with the square of the endpoints.
    """
    env = Environment(account=settings.account, region=settings.region)
    stacks = build_fleet(app, settings, env) if settings.endpoints else _build_one(app, settings, env)
    Tags.of(app).add("project", settings.name)
    Tags.of(app).add("stage", settings.stage)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stacks


def _build_one(app: App, settings: Settings, env: Environment) -> StageStacks:
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
        **_deployed_endpoint(endpoint),
        **_baseline(baseline),
    )
    # Bucket names cross as explicit exports: grants on their objects then name a value known at construction,
    # which the cdk-nag acknowledgements of those grants must spell out.
    monitoring.add_stack_dependency(endpoint, "watches its endpoint and reads its captured data")
    monitoring.add_stack_dependency(baseline, "compares with its baseline and writes reports to its bucket")
    return StageStacks(endpoint=endpoint, baseline=baseline, monitoring=monitoring)


def build_fleet(app: App, settings: Settings, env: Environment) -> FleetStacks:
    """A stage with ``endpoints``: ``Shared`` (``<prefix>-shared``) and, per entry ``<id>``, ``Endpoint-<id>`` (only
    for an endpoint this app deploys), ``Baseline-<id>`` and ``Monitoring-<id>``.

    Stack ids come from the entry's id, so adding or removing an entry renames nothing of another's. Each entry's
    stacks depend on ``Shared`` and on each other only; nothing depends on them, so removing an entry leaves no
    export in use.
    """
    shared = SharedStack(
        app,
        "Shared",
        stack_name=f"{settings.stack_prefix}-shared",
        description=f"Alerts topic and dashboard of every monitored endpoint ({settings.stage})",
        env=env,
        settings=settings,
    )
    stacks: dict[str, EndpointStacks] = {}
    members: list[FleetMember] = []
    for entry in settings.endpoints:
        own = endpoint_settings(settings, entry)
        endpoint = (
            None
            if entry.existing_endpoint_name
            else EndpointStack(
                app,
                f"Endpoint-{entry.id}",
                stack_name=f"{own.stack_prefix}-endpoint",
                description=f"SageMaker endpoint {entry.id} with data capture ({settings.stage})",
                env=env,
                settings=own,
            )
        )
        baseline = BaselineStack(
            app,
            f"Baseline-{entry.id}",
            stack_name=f"{own.stack_prefix}-baseline",
            description=f"Baseline of endpoint {entry.id}'s training data ({settings.stage})",
            env=env,
            settings=own,
        )
        monitoring = MonitoringStack(
            app,
            f"Monitoring-{entry.id}",
            stack_name=f"{own.stack_prefix}-monitoring",
            description=f"Data-quality monitoring and alarms of endpoint {entry.id} ({settings.stage})",
            env=env,
            settings=own,
            shared_alerts=shared.shared_alerts,
            **(
                {"existing_endpoint_name": entry.existing_endpoint_name}
                if endpoint is None
                else _deployed_endpoint(endpoint)
            ),
            **_baseline(baseline),
        )
        monitoring.add_stack_dependency(shared, "alerts through the shared topic")
        if endpoint is not None:
            monitoring.add_stack_dependency(endpoint, "watches its endpoint and reads its captured data")
        monitoring.add_stack_dependency(baseline, "compares with its baseline and writes reports to its bucket")
        stacks[entry.id] = EndpointStacks(endpoint=endpoint, baseline=baseline, monitoring=monitoring)
        members.append(_member(entry.id, entry.existing_endpoint_name or own.endpoint_name, own, monitoring))
    shared.add_dashboard(members)
    return FleetStacks(shared=shared, endpoints=stacks)


def _deployed_endpoint(endpoint: EndpointStack) -> dict[str, Any]:
    return {
        "endpoint": endpoint.endpoint.metrics,
        "capture_bucket_name": endpoint.capture_bucket_name_export.import_value,
        "capture_key": endpoint.endpoint.capture_key,
        "capture_prefix": endpoint.endpoint.capture_prefix,
    }


def _baseline(baseline: BaselineStack) -> dict[str, Any]:
    return {
        "data_bucket_name": baseline.data_bucket_name_export.import_value,
        "data_bucket_reference": baseline.storage.bucket.bucket_name,
        "data_key": baseline.storage.encryption_key,
        "statistics_uri": baseline.baseline.statistics_uri,
        "constraints_uri": baseline.baseline.constraints_uri,
        "baseline_fingerprint": baseline.baseline.fingerprint,
    }


def _member(endpoint_id: str, endpoint_name: str, settings: Settings, monitoring: MonitoringStack) -> FleetMember:
    """The dashboard's view of one endpoint, from literal names only (the shared stack may not import from it)."""
    violations = dataclasses.replace(monitoring.violation_metrics, endpoint_name=endpoint_name)
    member = FleetMember(
        id=endpoint_id,
        endpoint_name=endpoint_name,
        data_quality=dataclasses.replace(monitoring.data_quality, endpoint_name=endpoint_name),
        violations=violations,
        run_health=run_health_metrics(violations) if monitoring.engine == "builtin" else (),
        monitored_features=settings.monitored_features,
        drift_threshold=settings.drift_threshold,
        violation_threshold_percent=settings.violation_threshold_percent,
        alarm_names=[
            MonitoringAlarms.alarm_name(settings.stack_prefix, alarm.node.id) for alarm in monitoring.alarms.all_alarms
        ],
    )
    names = [member.data_quality.schedule_name, member.violations.schedule_name, *member.alarm_names]
    if any(Token.is_unresolved(name) for name in names):
        raise ValueError(f"endpoint {endpoint_id}: the fleet dashboard needs literal names, got {names}")
    return member
