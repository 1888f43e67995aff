"""Names of the metrics the violation-metric function publishes: the single source of truth.

The CDK code imports this module to build the alarms and the dashboard, and the function imports it to
publish, so a name can only change in one place. It holds constants only and imports nothing that a CDK
app lacks (no boto3, no Powertools).

The namespace is deliberately NOT here: the function reads it from ``POWERTOOLS_METRICS_NAMESPACE``, which
the CDK code sets, so the stack that creates the alarms also chooses where the metrics live.

Every metric carries exactly the dimensions ``Endpoint`` and ``MonitoringSchedule`` (the same names and
values SageMaker uses in ``aws/sagemaker/Endpoints/data-metrics``); ``CONSTRAINT_VIOLATIONS`` also carries
``ConstraintCheckType``. No other dimension is ever added (in particular no Powertools ``service``
dimension), so an alarm built from these names and dimensions matches the published data points exactly.
"""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

# --- Metric names -----------------------------------------------------------------------------------

#: Distinct violated features / monitored features x 100, capped at 100. 0 when the execution found no
#: violation, so an alarm on it returns to OK. Unit: Percent.
VIOLATION_PERCENTAGE: Final = "ViolationPercentage"

#: Number of distinct feature names that have at least one violation. Unit: Count.
VIOLATED_FEATURES: Final = "ViolatedFeatures"

#: Number of distinct features in the baseline constraints the execution was checked against. Unit: Count.
MONITORED_FEATURES: Final = "MonitoredFeatures"

#: Number of violations of one check type (dimension ``ConstraintCheckType``), published for every
#: check type in ``KNOWN_CHECK_TYPES`` (0 when none) and for any other type the report contains.
#: Unit: Count.
CONSTRAINT_VIOLATIONS: Final = "ConstraintViolations"

#: 1 when the monitoring execution ended Failed or Stopped, 0 when it Completed. Unit: Count.
EXECUTION_FAILED: Final = "ExecutionFailed"

#: 1 when a Completed execution's report could not be used (missing object, malformed JSON, wrong shape,
#: no monitored features), 0 when it was read. No ViolationPercentage is published with a 1. Unit: Count.
REPORT_ERRORS: Final = "ReportErrors"

#: CloudWatch unit of each metric, as the plain strings CloudWatch and EMF use.
METRIC_UNITS: Final[Mapping[str, str]] = MappingProxyType(
    {
        VIOLATION_PERCENTAGE: "Percent",
        VIOLATED_FEATURES: "Count",
        MONITORED_FEATURES: "Count",
        CONSTRAINT_VIOLATIONS: "Count",
        EXECUTION_FAILED: "Count",
        REPORT_ERRORS: "Count",
    }
)

# --- Dimension names --------------------------------------------------------------------------------

#: Endpoint name (value: the function's ``ENDPOINT_NAME``).
DIMENSION_ENDPOINT: Final = "Endpoint"

#: Monitoring schedule name (value: the function's ``MONITORING_SCHEDULE_NAME``).
DIMENSION_MONITORING_SCHEDULE: Final = "MonitoringSchedule"

#: Constraint check type, on ``CONSTRAINT_VIOLATIONS`` only (value: e.g. ``baseline_drift_check``).
DIMENSION_CONSTRAINT_CHECK_TYPE: Final = "ConstraintCheckType"

# --- Check types ------------------------------------------------------------------------------------

#: The six check types the prebuilt Model Monitor container documents for data quality
#: (docs: "Schema for Violations (constraint_violations.json file)").
KNOWN_CHECK_TYPES: Final[tuple[str, ...]] = (
    "data_type_check",
    "completeness_check",
    "baseline_drift_check",
    "missing_column_check",
    "extra_column_check",
    "categorical_values_check",
)
