"""A stage's ``endpoints``: each entry validated on top of the stage's values, bad entries refused in one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from settings import DEMO_FEATURES, ENDPOINT_KEYS, Settings, SettingsError, load_settings
from tests.synth import start_app

ROOT = Path(__file__).resolve().parents[1]

CHURN = {
    "existing_endpoint_name": "churn-prod",
    "baseline_dataset_uri": "s3://team-data/churn/baseline.csv",
    "monitored_features": ["tenure", "monthly_charges"],
    "retrain_pipeline": "churn-retrain",
}


def stage(endpoints: Any, **stage_values: Any) -> dict[str, Any]:
    return {"prod": {**stage_values, "endpoints": endpoints}}


def load(endpoints: Any, overrides: dict[str, Any] | None = None, **stage_values: Any) -> Settings:
    return load_settings(stage="prod", stages=stage(endpoints, **stage_values), overrides=overrides)


def refused(endpoints: Any, overrides: dict[str, Any] | None = None, **stage_values: Any) -> str:
    with pytest.raises(SettingsError) as error:
        load(endpoints, overrides, **stage_values)
    message = str(error.value)
    assert "\n" not in message
    return message


def test_a_stage_without_endpoints_has_none() -> None:
    assert load_settings(stage="prod", stages={"prod": {"drift_threshold": 0.2}}).endpoints == ()


def test_a_mixed_stage_the_demo_and_two_existing_endpoints() -> None:
    settings = load(
        {
            "demo": {},
            "churn": CHURN,
            "fraud": {**CHURN, "existing_endpoint_name": "fraud-scorer", "drift_threshold": 0.3},
        },
        drift_threshold=0.2,
        sampling_percentage=20,
    )
    demo, churn, fraud = settings.endpoints
    assert [endpoint.id for endpoint in settings.endpoints] == ["demo", "churn", "fraud"]
    # The demo is deployed by this app, with the stage's values and the demo's features.
    assert not demo.is_existing
    assert demo.settings.sampling_percentage == 20
    assert demo.settings.monitored_features == DEMO_FEATURES
    # Existing endpoints: their own baseline and features; the stage's values as defaults for the rest.
    assert churn.existing_endpoint_name == "churn-prod"
    assert churn.settings.baseline_dataset_uri == "s3://team-data/churn/baseline.csv"
    assert churn.settings.monitored_features == ("tenure", "monthly_charges")
    assert churn.settings.drift_threshold == 0.2
    assert fraud.settings.drift_threshold == 0.3
    # Each endpoint's settings are complete settings of their own, with no nested endpoints.
    assert {endpoint.settings.stage for endpoint in settings.endpoints} == {"prod"}
    assert all(endpoint.settings.endpoints == () for endpoint in settings.endpoints)


def test_an_entry_has_its_own_baseline_column_order() -> None:
    settings = load({"churn": {**CHURN, "baseline_output_columns_position": "END"}, "demo": {}})
    assert [endpoint.settings.baseline_output_columns_position for endpoint in settings.endpoints] == ["END", "START"]


def test_an_entry_has_its_own_baseline_runtime_within_the_same_limit() -> None:
    settings = load({"churn": {**CHURN, "baseline_max_runtime_minutes": 20}})
    assert settings.endpoints[0].settings.baseline_max_runtime_minutes == 20
    assert "endpoint churn: setting baseline_max_runtime_minutes: got 999" in refused(
        {"churn": {**CHURN, "baseline_max_runtime_minutes": 999}}
    )


def test_one_value_of_one_entry_is_overridden_on_the_command_line() -> None:
    settings = load({"churn": CHURN}, overrides={"endpoints.churn.drift_threshold": "0.45"})
    assert settings.endpoints[0].settings.drift_threshold == 0.45


ERRORS = [
    # (endpoints, what the one line must say)
    ([], "setting endpoints: got []; expected an object mapping endpoint ids"),
    ({}, "setting endpoints: got {}; expected an object mapping endpoint ids"),
    ({"Churn": CHURN}, 'setting endpoints: got id "Churn"; expected 1 to 16 lower-case letters'),
    ({"a" * 17: {}}, "expected 1 to 16 lower-case letters"),
    ({"churn": "churn-prod"}, 'endpoint churn: got "churn-prod"; expected an object of settings'),
    (
        {"churn": {**CHURN, "drift_threshold": 3}},
        "endpoint churn: setting drift_threshold: got 3.0; expected a number from 0.0 to 1.0",
    ),
    (
        {"churn": {**CHURN, "schedule_expression": "rate(1 hour)"}},
        'endpoint churn: setting schedule_expression: got "rate(1 hour)"; expected a schedule Model Monitor accepts',
    ),
    (
        {"churn": {**CHURN, "existing_endpoint_name": "churn_prod"}},
        'endpoint churn: setting existing_endpoint_name: got "churn_prod"; expected a SageMaker endpoint name',
    ),
    (
        {"churn": {**CHURN, "model_data_uri": "s3://team-data/model.tar.gz"}},
        'endpoint churn: setting model_data_uri: got "s3://team-data/model.tar.gz"; an endpoint deployed elsewhere '
        "(existing_endpoint_name churn-prod) is not deployed by this app: leave model_data_uri out",
    ),
    (
        {"churn": {key: value for key, value in CHURN.items() if key != "baseline_dataset_uri"}},
        "endpoint churn: setting baseline_dataset_uri: missing; an endpoint deployed elsewhere",
    ),
    (
        {"churn": {key: value for key, value in CHURN.items() if key != "retrain_pipeline"}},
        "endpoint churn: settings retrain_pipeline and training_data_uri: both missing",
    ),
    ({"churn": {**CHURN, "alert_emails": ["a@example.com"]}}, "endpoint churn: setting alert_emails is stage-wide"),
    ({"churn": {**CHURN, "drift_treshold": 0.2}}, "endpoint churn: unknown setting 'drift_treshold'; known settings:"),
    (
        {"churn": CHURN, "churn2": CHURN},
        'endpoint churn2: setting existing_endpoint_name: got "churn-prod"; endpoint churn already monitors it',
    ),
    (
        {"churn": {**CHURN, "monitoring_max_runtime_seconds": 7200}},
        "endpoint churn: setting monitoring_max_runtime_seconds: got 7200; expected at most 3600",
    ),
]


@pytest.mark.parametrize(("endpoints", "expected"), ERRORS)
def test_a_bad_entry_is_one_line_naming_the_endpoint_the_key_and_the_value(endpoints: Any, expected: str) -> None:
    assert expected in refused(endpoints)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"endpoints.fraud.drift_threshold": "0.2"}, "unknown endpoint in the command line"),
        ({"endpoints.churn.drift_threshold": "high"}, 'endpoint churn: setting drift_threshold: got "high"'),
        ({"endpoints": "{}"}, "setting endpoints: the map is set in cdk.json"),
    ],
)
def test_bad_command_line_overrides_of_entries(overrides: dict[str, Any], expected: str) -> None:
    assert expected in refused({"churn": CHURN}, overrides)


def test_every_per_endpoint_key_is_a_setting() -> None:
    assert set(Settings.__dataclass_fields__) >= ENDPOINT_KEYS


# Started when this module is collected; runs on the other core while the tests here run.
_BAD_ENTRY_APP = start_app({"stage": "prod", "stages": stage({"demo": {}, "churn": {**CHURN, "drift_threshold": 2}})})


def test_synth_stops_on_a_bad_entry_with_one_line() -> None:
    """app.py prints a bad entry's error as one line naming the endpoint, the key and the value; no traceback."""
    _, stderr = _BAD_ENTRY_APP.communicate(timeout=120)
    assert _BAD_ENTRY_APP.returncode == 1
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert errors[0].startswith("error: endpoint churn: setting drift_threshold: got 2")
    assert "Traceback" not in stderr
