"""Names of the run metrics the hourly analysis publishes besides the violation-metric ones.

Namespace and dimensions are those of the violation-metric function (``POWERTOOLS_METRICS_NAMESPACE``;
``Endpoint`` and ``MonitoringSchedule``), so the stacks can alarm and chart them next to ``ViolationPercentage``
and ``ExecutionFailed``. Constants only: the CDK code imports this module.
"""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

#: 1 when the analyzed hour had no captured record (an idle endpoint, or capture switched off), 0 otherwise.
#: "No data" is neither a failure (``ExecutionFailed`` stays 0) nor a clean run (no ``ViolationPercentage`` is
#: published, so the violation alarm keeps its state). Unit: Count.
NO_CAPTURED_DATA: Final = "NoCapturedData"

#: Capture lines of the hour that could not be read (not JSON, no capture data, undecodable payload, input and
#: output record counts that differ): counted and skipped, never fatal. Unit: Count.
MALFORMED_CAPTURE_RECORDS: Final = "MalformedCaptureRecords"

#: Records analyzed in the hour (captured records inside the window). Unit: Count.
ANALYZED_RECORDS: Final = "AnalyzedRecords"

METRIC_UNITS: Final[Mapping[str, str]] = MappingProxyType(
    {NO_CAPTURED_DATA: "Count", MALFORMED_CAPTURE_RECORDS: "Count", ANALYZED_RECORDS: "Count"}
)
