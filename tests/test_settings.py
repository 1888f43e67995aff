"""Stage settings: defaults synthesize as they are, stages and overrides apply, bad values fail in one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from settings import (
    DEMO_FEATURES,
    Settings,
    SettingsError,
    load_settings,
    overrides_from_context,
    schedule_period_seconds,
)
from tests.synth import start_app

ROOT = Path(__file__).resolve().parents[1]


def settings_with(**overrides: Any) -> Settings:
    return load_settings(stage=None, stages=None, overrides=overrides)


def test_defaults_describe_the_demo() -> None:
    settings = settings_with()
    assert settings.stage == "default"
    assert settings.stack_prefix == "model-monitor-default"
    assert settings.sampling_percentage == 100
    assert settings.schedule_expression == "cron(0 * ? * * *)"
    assert settings.monitored_features == DEMO_FEATURES
    assert settings.model_data_uri is None  # the embedded demo model
    assert settings.account is None and settings.region is None  # environment-agnostic


def test_endpoint_name_is_the_stages_stable_lower_case_name() -> None:
    assert settings_with().endpoint_name == "model-monitor-default"
    longest = load_settings(stage="s" * 10, stages={"s" * 10: {"name": "n" * 20}})
    assert longest.endpoint_name == f"{'n' * 20}-{'s' * 10}"
    assert len(longest.endpoint_name) <= 63  # EndpointName in botocore's SageMaker model


def test_stage_values_then_command_line_overrides_win() -> None:
    stages = {"prod": {"sampling_percentage": 20, "alert_emails": ["oncall@example.com"]}}
    settings = load_settings(stage="prod", stages=stages, overrides={"sampling_percentage": "35"})
    assert settings.stage == "prod"
    assert settings.sampling_percentage == 35
    assert settings.alert_emails == ("oncall@example.com",)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"baseline_dataset_header": "false"}, {"baseline_dataset_header": False}),
        (
            {"alert_emails": "a@example.com, b@example.org"},
            {"alert_emails": ("a@example.com", "b@example.org")},
        ),
        ({"drift_threshold": "0.25"}, {"drift_threshold": 0.25}),
        ({"model_data_uri": ""}, {"model_data_uri": None}),
        (
            {"region": "eu-west-1", "account": "123456789012"},
            {"region": "eu-west-1", "account": "123456789012"},
        ),
    ],
)
def test_command_line_strings_are_converted_by_type(raw: dict[str, str], expected: dict[str, Any]) -> None:
    settings = settings_with(**raw)
    assert {key: getattr(settings, key) for key in expected} == expected


def test_overrides_are_the_settings_prefixed_context_keys() -> None:
    context = {"stage": "dev", "settings.sampling_percentage": "10", "@aws-cdk/core:newStyle": True}
    assert overrides_from_context(context) == {"sampling_percentage": "10"}


BAD_VALUES = [
    # (setting, value, what the message must say is allowed)
    ("sampling_percentage", 150, "an integer from 0 to 100"),
    ("sampling_percentage", -1, "an integer from 0 to 100"),
    ("sampling_percentage", "half", "expected an integer"),
    ("model_data_uri", "https://bucket/model.tar.gz", "s3://bucket/key"),
    ("baseline_dataset_uri", "s3://only-a-bucket", "s3://bucket/key"),
    ("endpoint_instance_type", "m5.large", "ml.<family>.<size>"),
    ("monitoring_instance_type", "ml.m5", "ml.<family>.<size>"),
    ("alert_emails", ["ops@example.com", "not-an-email"], "email address"),
    ("name", "", "1 to 20 lower-case letters"),
    ("name", "x" * 21, "1 to 20 lower-case letters"),
    ("name", "bad_name", "1 to 20 lower-case letters"),
    ("name", "Model-Monitor", "1 to 20 lower-case letters"),
    ("baseline_dataset_header", "maybe", "true or false"),
    ("drift_threshold", 3, "a number from 0.0 to 1.0"),
    ("account", "12345", "12-digit"),
    ("region", "mars-1", "region name"),
    ("retrain_pipeline", "arn:aws:s3:::not-a-pipeline", "CodePipeline name or ARN"),
    ("baseline_dataset_format", "parquet", "one of 'csv', 'jsonl'"),
    ("baseline_output_columns_position", "MIDDLE", "one of 'START', 'END'"),
    ("baseline_output_columns_position", "end", "one of 'START', 'END'"),
]


@pytest.mark.parametrize(("setting", "value", "allowed"), BAD_VALUES)
def test_bad_value_names_setting_value_and_what_is_allowed(setting: str, value: Any, allowed: str) -> None:
    with pytest.raises(SettingsError) as error:
        settings_with(**{setting: value})
    message = str(error.value)
    assert "\n" not in message
    assert f"setting {setting}:" in message
    assert allowed in message
    shown = ",".join(value) if isinstance(value, list) else str(value)
    assert shown in message


def test_too_long_stage_name_is_refused() -> None:
    with pytest.raises(SettingsError, match='setting stage: got "integration"; expected 1 to 10 lower-case letters'):
        load_settings(stage="integration", stages={"integration": {}})


def test_upper_case_stage_name_is_refused_in_one_line() -> None:
    """Names reach ARNs in IAM conditions lower-cased: "Prod" would build grants that match nothing."""
    with pytest.raises(SettingsError) as error:
        load_settings(stage="Prod", stages={"Prod": {}})
    assert str(error.value) == (
        'setting stage: got "Prod"; expected 1 to 10 lower-case letters, digits or single hyphens, '
        "starting with a letter"
    )


def test_unknown_stage_lists_the_known_ones() -> None:
    with pytest.raises(SettingsError, match=r"unknown stage 'qa'; known stages: default, prod"):
        load_settings(stage="qa", stages={"prod": {}}, overrides={})


@pytest.mark.parametrize(
    ("stages", "overrides", "where"),
    [
        ({"default": {"sampling_percent": 5}}, {}, "stage 'default'"),
        ({}, {"samplingpercentage": "5"}, "the command line"),
        ({"default": {"stage": "prod"}}, {}, "stage 'default'"),
    ],
)
def test_unknown_key_is_refused_with_where_it_came_from(
    stages: dict[str, Any], overrides: dict[str, Any], where: str
) -> None:
    with pytest.raises(SettingsError, match=rf"unknown setting .* in {where}.*; known settings: account, "):
        load_settings(stage=None, stages=stages, overrides=overrides)


@pytest.mark.parametrize(
    "expression",
    ["cron(0 * ? * * *)", "cron(0 12 ? * * *)", "cron(0 0 ? * * *)", "cron(0 17/12 ? * * *)", "cron(0 0/2 ? * * *)"],
)
def test_schedules_model_monitor_accepts(expression: str) -> None:
    assert settings_with(schedule_expression=expression).schedule_expression == expression


@pytest.mark.parametrize(
    "expression",
    [
        "cron(*/5 * ? * * *)",  # every five minutes: faster than hourly
        "cron(30 * ? * * *)",  # not on the hour
        "cron(0 24 ? * * *)",
        "cron(0 0/25 ? * * *)",
        "cron(0 * * * ? *)",
        "rate(1 hour)",
        "NOW",
    ],
)
def test_schedules_model_monitor_refuses_fail_in_one_line(expression: str) -> None:
    with pytest.raises(SettingsError, match=r"setting schedule_expression: got .*; expected a schedule Model Monitor"):
        settings_with(schedule_expression=expression)


@pytest.mark.parametrize(
    ("expression", "period"),
    [
        ("cron(0 * ? * * *)", 3600),
        ("cron(0 12 ? * * *)", 86400),
        ("cron(0 0 ? * * *)", 86400),
        ("cron(0 0/2 ? * * *)", 7200),  # 22:00 to midnight is two hours too
        ("cron(0 1/2 ? * * *)", 7200),  # 23:00 to 01:00 across midnight
        ("cron(0 17/12 ? * * *)", 86400),  # 17:00 only: 17 + 12 is past the day
        ("cron(0 5/10 ? * * *)", 36000),  # 05:00 and 15:00: 10 h, then 14 h across midnight
        ("cron(0 20/3 ? * * *)", 10800),  # 20:00, 23:00: 3 h, then 21 h across midnight
        ("cron(0 0/7 ? * * *)", 10800),  # 0, 7, 14, 21: 7 h apart, but 21:00 to midnight is only 3 h
        ("cron(0 3/24 ? * * *)", 86400),
    ],
)
def test_schedule_period_is_the_shortest_gap_between_runs(expression: str, period: int) -> None:
    assert schedule_period_seconds(expression) == period


@pytest.mark.parametrize(
    ("expression", "longest"),
    [("cron(0 * ? * * *)", 3600), ("cron(0 0/2 ? * * *)", 7200), ("cron(0 0/7 ? * * *)", 10800)],
)
def test_job_runtime_longer_than_the_schedule_period_is_refused_in_one_line(expression: str, longest: int) -> None:
    with pytest.raises(SettingsError) as error:
        settings_with(schedule_expression=expression, monitoring_max_runtime_seconds=86400)
    assert str(error.value) == (
        f"setting monitoring_max_runtime_seconds: got 86400; expected at most {longest}, "
        f"the shortest time between two runs of {expression}"
    )
    accepted = settings_with(schedule_expression=expression, monitoring_max_runtime_seconds=longest)
    assert accepted.monitoring_max_runtime_seconds == longest


def test_daily_schedule_allows_a_day() -> None:
    settings = settings_with(schedule_expression="cron(0 0 ? * * *)", monitoring_max_runtime_seconds=86400)
    assert settings.monitoring_max_runtime_seconds == 86400


def test_baseline_runtime_beyond_what_cloudformation_can_wait_for_is_refused_in_one_line() -> None:
    assert settings_with(baseline_max_runtime_minutes=36).baseline_max_runtime_minutes == 36
    with pytest.raises(SettingsError) as error:
        settings_with(baseline_max_runtime_minutes=37)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("setting baseline_max_runtime_minutes: got 37; expected an integer from 5 to 36 ")
    assert "CloudFormation waits at most an hour for a custom resource" in message


def test_the_replaced_baseline_timeout_setting_says_what_replaced_it() -> None:
    with pytest.raises(SettingsError) as error:
        load_settings(stage="default", stages={"default": {"baseline_timeout_minutes": 90}})
    assert str(error.value).startswith(
        "setting baseline_timeout_minutes in stage 'default' was replaced by baseline_max_runtime_minutes"
    )


def test_subnets_need_security_groups() -> None:
    with pytest.raises(SettingsError, match="expected both set or both empty"):
        settings_with(subnet_ids=["subnet-0123456789abcdef0"])


def test_output_columns_position_is_for_csv_baselines_only() -> None:
    assert settings_with(baseline_output_columns_position="END").baseline_output_columns_position == "END"
    with pytest.raises(SettingsError, match="it applies to CSV baselines only"):
        settings_with(
            baseline_dataset_format="jsonl",
            baseline_dataset_uri="s3://bucket/baseline.jsonl",
            baseline_output_columns_position="END",
        )


def test_jsonl_baseline_needs_its_own_dataset() -> None:
    with pytest.raises(SettingsError, match="the embedded demo baseline is CSV"):
        settings_with(baseline_dataset_format="jsonl")


def test_every_stage_in_cdk_json_is_valid() -> None:
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    for stage in context["stages"]:
        assert load_settings(stage=stage, stages=context["stages"]).stage == stage


# Started when this module is collected; runs on the other core while the tests here run.
_BAD_SAMPLING_APP = start_app({"stages": {"default": {}}, "settings.sampling_percentage": "150"})


def test_app_stops_with_one_line_and_no_traceback() -> None:
    """What a person sees from ``npx cdk synth -c settings.sampling_percentage=150``."""
    _, stderr = _BAD_SAMPLING_APP.communicate(timeout=120)
    assert _BAD_SAMPLING_APP.returncode == 1
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: setting sampling_percentage: got 150; expected an integer from 0 to 100"]
    assert "Traceback" not in stderr


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    undocumented = [name for name in Settings.__dataclass_fields__ if name != "stage" and f"`{name}`" not in readme]
    assert undocumented == [], "add these settings to the README's settings table"
