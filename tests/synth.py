"""Synthesize each stage once per test run and share the result.

Synthesis is the slow part of every CDK test (a jsii round trip per construct), so tests never build their own
app for a whole stage: they ask ``synth_stage`` and get the cached cloud assembly, its templates and the stack
objects. The synth runs the real ``build_stacks`` with cdk-nag attached, so a finding fails it here too, and with
aws-cdk-lib's built-in CloudFormation validation, whose findings the gates read from the validation report.
"""

from __future__ import annotations

import functools
import json
import re
import tempfile
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aws_cdk import App, cx_api
from aws_cdk.assertions import Template

from settings import Settings, load_settings
from stacks import FleetStacks, StageStacks, build_stacks
from tests import lint
from tests.lint import lint_in_background

CDK_JSON_CONTEXT: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[1] / "cdk.json").read_text(encoding="utf-8")
)["context"]
STAGES = tuple(CDK_JSON_CONTEXT["stages"])


@dataclass(frozen=True)
class Synthesized:
    """One synthesized stage. Templates, stack names and dependencies are read from the cloud assembly's files
    (``manifest.json`` and the templates it names), never through jsii artifact objects: jsii caches the first
    proxy it returns for an artifact, and one fetched through ``.dependencies`` comes back as a bare
    ``CloudArtifact`` without ``.template`` for every later test.
    """

    settings: Settings
    stacks: StageStacks | FleetStacks
    assembly: cx_api.CloudAssembly
    _lint_findings: dict[str, Future[list[str]]] = field(default_factory=dict)

    def lint_findings(self) -> dict[str, Future[list[str]]]:
        """cfn-lint's findings per stack, linted in worker processes; started on the first call."""
        if not self._lint_findings:
            for stack_id in self.stack_ids:
                self._lint_findings[stack_id] = lint_in_background(json.dumps(self.template_json(stack_id)))
        return self._lint_findings

    @functools.cached_property
    def manifest(self) -> dict[str, Any]:
        manifest: dict[str, Any] = json.loads((self.directory / "manifest.json").read_text(encoding="utf-8"))
        return manifest

    @property
    def directory(self) -> Path:
        return Path(self.assembly.directory)

    def _stack_artifact(self, stack_id: str) -> dict[str, Any]:
        artifact: dict[str, Any] = self.manifest["artifacts"][stack_id]
        assert artifact["type"] == "aws:cloudformation:stack", f"{stack_id} is not a stack"
        return artifact

    def template_json(self, stack_id: str) -> dict[str, Any]:
        template_file = self._stack_artifact(stack_id)["properties"]["templateFile"]
        template: dict[str, Any] = json.loads((self.directory / template_file).read_text(encoding="utf-8"))
        return template

    def template(self, stack_id: str) -> Template:
        return Template.from_json(self.template_json(stack_id))

    def stack_name(self, stack_id: str) -> str:
        return str(self._stack_artifact(stack_id)["properties"].get("stackName", stack_id))

    def stack_dependencies(self, stack_id: str) -> set[str]:
        """The other stacks ``stack_id`` is deployed after (asset manifests left out)."""
        return {
            dependency
            for dependency in self._stack_artifact(stack_id).get("dependencies", [])
            if self.manifest["artifacts"][dependency]["type"] == "aws:cloudformation:stack"
        }

    @property
    def stack_ids(self) -> list[str]:
        return [
            artifact_id
            for artifact_id, artifact in self.manifest["artifacts"].items()
            if artifact["type"] == "aws:cloudformation:stack"
        ]


#: A user's own baseline instead of the demo's (JSON Lines, no header, a shorter runtime, a bigger instance): one
#: extra synth shared by the baseline tests and the monitoring tests that compare it with the default stage.
USER_BASELINE_OVERRIDES: tuple[tuple[str, Any], ...] = (
    ("baseline_dataset_uri", "s3://my-bucket/data/baseline.jsonl"),
    ("baseline_dataset_format", "jsonl"),
    ("baseline_dataset_header", False),
    ("baseline_max_runtime_minutes", 20),
    ("baseline_instance_type", "ml.m5.2xlarge"),
)


@functools.cache
def synth_stage(stage: str = "default", overrides: tuple[tuple[str, Any], ...] = ()) -> Synthesized:
    """The synthesized app of ``stage`` (from cdk.json), with ``overrides`` applied, built once per run."""
    settings = load_settings(stage=stage, stages=CDK_JSON_CONTEXT["stages"], overrides=dict(overrides))
    # The built-in CloudFormation validation is on here (app.py leaves it off for speed): test_gates.py fails on
    # any finding it reports. One engine serves every synth of the run.
    app = App(
        outdir=tempfile.mkdtemp(prefix=f"cdk-{stage}-"),
        context=feature_flags(),
        builtin_cloud_formation_validation=True,
    )
    stacks = build_stacks(app, settings)
    synthesized = Synthesized(settings=settings, stacks=stacks, assembly=app.synth())
    if not overrides and lint.gate_selected:  # a stage as cdk.json defines it: the lint gate's input
        synthesized.lint_findings()
    return synthesized


def feature_flags() -> dict[str, Any]:
    return {key: value for key, value in CDK_JSON_CONTEXT.items() if key.startswith("@aws-cdk")}


_ASSET_HASH = re.compile(r"[0-9a-f]{64}")


def mask_asset_hashes(value: Any) -> Any:
    """Replace every asset hash, so a snapshot changes only when the template does, not a Lambda's code."""
    if isinstance(value, dict):
        return {key: mask_asset_hashes(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_asset_hashes(item) for item in value]
    if isinstance(value, str):
        return _ASSET_HASH.sub("<asset-hash>", value)
    return value
