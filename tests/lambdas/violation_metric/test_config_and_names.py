"""The settings the function reads, and the names module the CDK code imports."""

import subprocess
import sys
from pathlib import Path

import pytest

from lambdas.violation_metric import metric_names
from lambdas.violation_metric.config import (
    ENV_BASELINE_CONSTRAINTS_URI,
    ENV_ENDPOINT_NAME,
    ENV_METRICS_NAMESPACE,
    ENV_MONITORING_SCHEDULE_NAME,
    ConfigurationError,
    Settings,
)

REPO_ROOT = Path(__file__).parents[3]
VALID = {
    ENV_MONITORING_SCHEDULE_NAME: "churn-data-quality",
    ENV_ENDPOINT_NAME: "churn-endpoint",
    ENV_METRICS_NAMESPACE: "ModelMonitorAsCode",
}


def test_settings_from_the_environment() -> None:
    settings = Settings.from_environ({**VALID, ENV_BASELINE_CONSTRAINTS_URI: "s3://b/baseline/constraints.json"})

    assert settings == Settings(
        monitoring_schedule_name="churn-data-quality",
        endpoint_name="churn-endpoint",
        metrics_namespace="ModelMonitorAsCode",
        baseline_constraints_uri="s3://b/baseline/constraints.json",
    )


def test_the_fallback_constraints_are_optional() -> None:
    assert Settings.from_environ({**VALID, ENV_BASELINE_CONSTRAINTS_URI: " "}).baseline_constraints_uri is None


@pytest.mark.parametrize("name", [ENV_MONITORING_SCHEDULE_NAME, ENV_ENDPOINT_NAME, ENV_METRICS_NAMESPACE])
@pytest.mark.parametrize("value", [None, "", "  "])
def test_a_required_variable_missing_or_blank(name: str, value: str | None) -> None:
    environ = {key: val for key, val in VALID.items() if key != name}
    if value is not None:
        environ[name] = value

    with pytest.raises(ConfigurationError, match=f"^environment variable {name} is required"):
        Settings.from_environ(environ)


@pytest.mark.parametrize("uri", ["s3://b", "s3://b/prefix/", "https://b/constraints.json", "constraints.json"])
def test_a_fallback_that_is_not_an_s3_object(uri: str) -> None:
    with pytest.raises(ConfigurationError, match=f"{ENV_BASELINE_CONSTRAINTS_URI} must be .*{uri!r}"):
        Settings.from_environ({**VALID, ENV_BASELINE_CONSTRAINTS_URI: uri})


def test_metric_names_imports_neither_boto3_nor_powertools() -> None:
    """The CDK app imports metric_names; it must not need the Lambda runtime's libraries."""
    code = (
        "import sys; import lambdas.violation_metric.metric_names; "
        "heavy = {'boto3', 'botocore', 'aws_lambda_powertools'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True)  # noqa: S603


def test_every_metric_has_a_unit_and_the_names_are_distinct() -> None:
    names = [
        metric_names.VIOLATION_PERCENTAGE,
        metric_names.VIOLATED_FEATURES,
        metric_names.MONITORED_FEATURES,
        metric_names.CONSTRAINT_VIOLATIONS,
        metric_names.EXECUTION_FAILED,
        metric_names.REPORT_ERRORS,
    ]

    assert len(set(names)) == len(names)
    assert set(metric_names.METRIC_UNITS) == set(names)
    assert set(metric_names.METRIC_UNITS.values()) == {"Percent", "Count"}


def test_the_six_documented_data_quality_check_types() -> None:
    assert metric_names.KNOWN_CHECK_TYPES == (
        "data_type_check",
        "completeness_check",
        "baseline_drift_check",
        "missing_column_check",
        "extra_column_check",
        "categorical_values_check",
    )
