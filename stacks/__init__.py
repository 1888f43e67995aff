"""The app's stacks, one per file, and the one function that builds them all for a stage."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import App, Environment, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from settings import Settings
from stacks.endpoint_stack import EndpointStack


@dataclass(frozen=True)
class StageStacks:
    endpoint: EndpointStack


def build_stacks(app: App, settings: Settings) -> StageStacks:
    """Build every stack of ``settings.stage`` into ``app``, with cdk-nag's AwsSolutions checks applied.

    ``app.py`` and the tests share this, so what the tests synthesize is what ``cdk synth`` does.
    """
    env = Environment(account=settings.account, region=settings.region)
    endpoint = EndpointStack(
        app,
        "Endpoint",
        stack_name=f"{settings.stack_prefix}-endpoint",
        description=f"SageMaker endpoint with data capture ({settings.stage})",
        env=env,
        settings=settings,
    )
    Tags.of(app).add("project", settings.name)
    Tags.of(app).add("stage", settings.stage)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return StageStacks(endpoint=endpoint)
