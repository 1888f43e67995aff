"""The committed image table is what the installed SageMaker SDK says, and stacks use it per region."""

from __future__ import annotations

import json
import sys

import pytest
from aws_cdk import Stack

from cdk_constructs.sagemaker_images import TABLE_PATH, UnsupportedRegionError, image_uri, main
from demo.generate_demo import XGBOOST_CONTAINER_VERSION
from tests.synth import construct_app


def test_committed_table_matches_the_installed_sdk(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # In this process: a full run has imported sagemaker-core for the baseline handler's tests already (a process of
    # its own would import it again, 2.5 CPU s), and botocore's loader is shared (tests/conftest.py).
    from sagemaker.core import common_utils

    monkeypatch.setattr(sys, "argv", ["sagemaker_images"])
    # The generator caches the SDK's endpoint resolver for its run; the SDK gets its own back after the test.
    monkeypatch.setattr(common_utils, "_botocore_resolver", common_utils._botocore_resolver)
    main()
    committed = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
    assert committed == json.loads(capsys.readouterr().out), "run: python -m cdk_constructs.sagemaker_images --write"


def test_analyzer_image_covers_the_regions_the_sdk_lists() -> None:
    uris = json.loads(TABLE_PATH.read_text(encoding="utf-8"))["images"]["model-monitor"]
    assert len(uris) >= 30
    assert uris["us-west-2"] == "159807026194.dkr.ecr.us-west-2.amazonaws.com/sagemaker-model-monitor-analyzer"
    assert uris["cn-north-1"].endswith(".amazonaws.com.cn/sagemaker-model-monitor-analyzer")


def test_xgboost_image_is_the_container_the_demo_model_was_trained_for() -> None:
    uris = json.loads(TABLE_PATH.read_text(encoding="utf-8"))["images"]["xgboost"]
    assert {uri.rsplit(":", 1)[1] for uri in uris.values()} == {XGBOOST_CONTAINER_VERSION}


def test_stack_with_a_region_gets_a_literal_uri_and_unknown_regions_fail() -> None:
    app = construct_app()
    assert image_uri(Stack(app, "Ireland", env={"region": "eu-west-1"}), "model-monitor") == (
        "468650794304.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-model-monitor-analyzer"
    )
    with pytest.raises(UnsupportedRegionError, match="no 'model-monitor' image for region 'xx-nowhere-1'"):
        image_uri(Stack(app, "Nowhere", env={"region": "xx-nowhere-1"}), "model-monitor")


def test_environment_agnostic_stack_shares_one_mapping_per_image() -> None:
    stack = Stack(construct_app(), "Agnostic")
    first, second = image_uri(stack, "model-monitor"), image_uri(stack, "model-monitor")
    resolved = stack.resolve(first)
    assert resolved == {"Fn::FindInMap": ["ModelMonitorImageUris", {"Ref": "AWS::Region"}, "uri"]}
    assert stack.resolve(second) == resolved
