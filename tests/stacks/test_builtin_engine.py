"""The builtin engine from the stacks: one setting chooses it, and everything downstream stays the same."""

from __future__ import annotations

from typing import Any

import pytest

from settings import MODEL_MONITOR_METRICS_NAMESPACE, Settings, SettingsError, load_settings


def settings_with(**overrides: Any) -> Settings:
    return load_settings(stage=None, stages=None, overrides=overrides)


# --- settings ------------------------------------------------------------------------------------------------


def test_model_monitor_stays_the_default_engine() -> None:
    settings = settings_with()
    assert settings.monitoring_engine == "model-monitor"
    assert (settings.builtin_runtime, settings.analysis_memory_mb, settings.analysis_timeout_seconds) == (
        "function",
        1769,
        900,
    )
    assert settings.drift_metrics_namespace == MODEL_MONITOR_METRICS_NAMESPACE


def test_command_line_strings_choose_the_builtin_engine() -> None:
    settings = settings_with(
        monitoring_engine="builtin",
        analysis_memory_mb="3008",
        analysis_timeout_seconds="600",
        drift_metrics_namespace="ModelMonitorAsCode/DataMetrics",
    )
    assert settings.monitoring_engine == "builtin"
    assert (settings.analysis_memory_mb, settings.analysis_timeout_seconds) == (3008, 600)
    assert settings.drift_metrics_namespace == "ModelMonitorAsCode/DataMetrics"


@pytest.mark.parametrize(
    ("setting", "value", "allowed"),
    [
        ("monitoring_engine", "deequ", "one of 'model-monitor', 'builtin'"),
        ("monitoring_engine", "Builtin", "one of 'model-monitor', 'builtin'"),
        ("builtin_runtime", "fargate", "one of 'function', 'processing'"),
        ("analysis_memory_mb", 64, "an integer from 128 to 10240"),
        ("analysis_memory_mb", 10241, "an integer from 128 to 10240"),
        ("analysis_timeout_seconds", 901, "an integer from 1 to 900"),
        ("analysis_timeout_seconds", 0, "an integer from 1 to 900"),
        ("drift_metrics_namespace", "AWS/SageMaker", "not starting with ':' or 'AWS/'"),
        ("drift_metrics_namespace", ":colon", "not starting with ':' or 'AWS/'"),
        ("drift_metrics_namespace", "x" * 256, "1 to 255 printable ASCII characters"),
        ("drift_metrics_namespace", "caf\u00e9", "1 to 255 printable ASCII characters"),
        ("schedule_expression", "rate(1 hour)", "cron(0 H/N ? * * *)"),
    ],
)
def test_bad_engine_settings_stop_synth_in_one_line(setting: str, value: Any, allowed: str) -> None:
    with pytest.raises(SettingsError) as error:
        settings_with(**{"monitoring_engine": "builtin", setting: value})
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"setting {setting}: got ")
    assert allowed in message


def test_the_processing_runtime_is_refused_until_it_is_built() -> None:
    with pytest.raises(SettingsError) as error:
        settings_with(monitoring_engine="builtin", builtin_runtime="processing")
    assert str(error.value) == (
        'setting builtin_runtime: got "processing"; the Processing-job runtime of the hourly analysis is not built '
        "yet: use 'function'"
    )


def test_only_the_builtin_engine_chooses_the_metrics_namespace() -> None:
    """Model Monitor publishes where it publishes: a namespace of our own would leave its alarms without data."""
    with pytest.raises(SettingsError) as error:
        settings_with(drift_metrics_namespace="ModelMonitorAsCode/DataMetrics")
    assert "only monitoring_engine 'builtin' can choose" in str(error.value)
    assert "\n" not in str(error.value)
