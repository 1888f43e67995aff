"""The gates every change keeps green: cdk-nag and CDK's CloudFormation validation silent, cfn-lint silent,
templates match their snapshots."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest
from aws_cdk import App, CfnResource, Stack
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.lint import lint_in_background
from tests.synth import CDK_JSON_CONTEXT, STAGES, declare_in_synth_worker, mask_asset_hashes, synth_stage


@pytest.mark.parametrize("stage", STAGES)
def test_cdk_nag_reports_nothing_unacknowledged(stage: str) -> None:
    # synth_stage raises "ValidationFailed" when any AwsSolutions finding is left unacknowledged; the
    # report it writes must then hold no plugin report with violations either: neither cdk-nag's nor those of
    # aws-cdk-lib's built-in CloudFormation validation, which reports its findings as warnings.
    synthesized = synth_stage(stage)
    report = json.loads((synthesized.directory / "validation-report.json").read_text())
    assert [plugin for plugin in report["pluginReports"] if plugin.get("violations")] == []


def test_the_builtin_validation_gate_can_fail() -> None:
    """An app built like tests/synth.py's fails on an unknown property: with cdk.json's
    ``@aws-cdk/core:validateAgainstDefaultRules``, the built-in validation's findings are errors. Synthesized in
    the synth worker, whose validation engine has started for the stages (a second start costs 3 s here)."""
    error, outdir = BAD_BUCKET.result()
    assert error is not None and re.search(r"BucketNam.*\(CloudFormation Validate\)", error, re.DOTALL), error
    report = json.loads((Path(outdir) / "validation-report.json").read_text())
    findings = [v["description"] for plugin in report["pluginReports"] for v in plugin["violations"]]
    assert any("BucketNam" in finding for finding in findings)


@pytest.fixture(scope="module")
def lint_findings() -> dict[tuple[str, str], list[str]]:
    """cfn-lint over every template of every stage: started in the lint worker as soon as a stage is synthesized
    (tests/synth.py; linting is CPU-bound, about 3 s a stage on one core), collected here."""
    return {
        (stage, stack_id): findings.result(timeout=600)
        for stage in STAGES
        for stack_id, findings in synth_stage(stage).lint_findings().items()
    }


def synth_bad_bucket() -> tuple[str | None, str]:
    """In the synth worker: an app with a bucket's property misspelt; the synth's error, if any, and its folder."""
    outdir = tempfile.mkdtemp(prefix="cdk-bad-bucket-")
    app = App(outdir=outdir, context=CDK_JSON_CONTEXT, builtin_cloud_formation_validation=True)
    CfnResource(Stack(app, "Bad"), "Bucket", type="AWS::S3::Bucket", properties={"BucketNam": "typo"})
    try:
        app.synth()
    except RuntimeError as error:
        return str(error), outdir
    return None, outdir


BAD_BUCKET = declare_in_synth_worker(synth_bad_bucket)


def test_the_lint_gate_can_fail() -> None:
    """The same linting, on a template with an unknown property, reports it: a silent gate proves nothing."""
    bad = {"Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketNam": "typo"}}}}
    assert any("BucketNam" in finding for finding in lint_in_background(json.dumps(bad)).result(timeout=600))


@pytest.mark.parametrize("stage", STAGES)
def test_cfn_lint_reports_nothing(stage: str, lint_findings: dict[tuple[str, str], list[str]]) -> None:
    findings = {stack_id: found for (of_stage, stack_id), found in lint_findings.items() if of_stage == stage}
    assert set(findings) == set(synth_stage(stage).stack_ids)
    assert len(findings) >= 3
    assert findings == {stack_id: [] for stack_id in findings}, f"cfn-lint on stage {stage}"


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack_id", ["Endpoint", "Baseline", "Monitoring"])
def test_template_matches_snapshot(stack_id: str, snapshot_json: SnapshotAssertion) -> None:
    """Review a template change in the snapshot diff; update with ``pytest --snapshot-update``."""
    assert mask_asset_hashes(synth_stage("default").template_json(stack_id)) == snapshot_json


@pytest.mark.parametrize("stack_id", ["Baseline", "Monitoring"])
def test_builtin_engine_template_matches_snapshot(stack_id: str, snapshot_json: SnapshotAssertion) -> None:
    """The stage with ``monitoring_engine: builtin`` (its endpoint stack is the default one's, renamed)."""
    assert mask_asset_hashes(synth_stage("builtin").template_json(stack_id)) == snapshot_json


def test_processing_runtime_template_matches_snapshot(snapshot_json: SnapshotAssertion) -> None:
    """The stage with ``builtin_runtime: processing`` (its endpoint and baseline stacks are the builtin stage's in
    a fixed region): the function, the jobs' role, the Spark image and the job-ended rule."""
    assert mask_asset_hashes(synth_stage("spark").template_json("Monitoring")) == snapshot_json


#: The mixed stage of cdk.json: the demo deployed by this app, churn (Model Monitor) and fraud (builtin engine)
#: deployed elsewhere. Endpoint-demo and Baseline-demo are the demo's stacks under new names, so they are left out.
FLEET_STACKS = ["Shared", "Monitoring-demo", "Baseline-churn", "Monitoring-churn", "Monitoring-fraud"]


@pytest.mark.parametrize("stack_id", FLEET_STACKS)
def test_fleet_template_matches_snapshot(stack_id: str, snapshot_json: SnapshotAssertion) -> None:
    """The stage with ``endpoints`` (several monitored endpoints, two of them deployed elsewhere)."""
    assert mask_asset_hashes(synth_stage("fleet").template_json(stack_id)) == snapshot_json
