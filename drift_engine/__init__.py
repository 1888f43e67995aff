"""A drift engine that speaks SageMaker Model Monitor's formats, for accounts that cannot use Model Monitor.

It computes what Model Monitor's analyzer (Deequ on Spark) computes, reading and writing the same three files:
``statistics.json`` and ``constraints.json`` from a baseline dataset, and ``statistics.json`` and
``constraint_violations.json`` from a window of captured endpoint traffic checked against a baseline, plus the
per-feature CloudWatch metrics. No CDK and no boto3 at its core; a CloudWatch publisher sits at the edge.

The public API, for the CLI and for other runners (Spark's ``mapInArrow``, a Lambda):

* :func:`profile_batch` (an Arrow batch → a partial :class:`DatasetProfile`), :meth:`DatasetProfile.merge` /
  :func:`merge_profiles` (associative), :meth:`DatasetProfile.to_bytes` / :meth:`DatasetProfile.from_bytes`;
* :func:`statistics_document` (finalize: profile → statistics.json), :func:`suggest_constraints`;
* :func:`parse_statistics`, :func:`parse_constraints` (baselines from the analyzer or this engine);
* :func:`analyze_profile` (current profile + baseline → :class:`Analysis`), :func:`metric_data`;
* readers: :func:`iter_csv_batches`, :func:`iter_jsonl_batches`, :func:`iter_capture_file` (column-wise),
  :func:`iter_capture_batches` (per line); per file: :func:`profile_dataset_file`, :func:`profile_capture_file`
  (a path, or the file's bytes);
* the S3 edge, :mod:`drift_engine.s3` (imported on its own: it needs botocore): capture objects of a window,
  baseline files, writes that happen once (conditional puts).
"""

from .capture import CaptureOptions, CaptureReadResult, iter_capture_batches, iter_capture_file
from .checks import Analysis, Violation, analyze_profile
from .constraints import MonitoringConfig, ParsedConstraints, parse_constraints, suggest_constraints
from .engine import Baseline, build_baseline, profile_capture_file, profile_dataset_file, run_analysis
from .metrics import (
    DATA_METRICS_NAMESPACE,
    CloudWatchPublisher,
    InMemoryPublisher,
    MetricDatum,
    MetricPublisher,
    metric_data,
)
from .profile import ColumnProfile, DatasetProfile, merge_profiles, profile_batch
from .readers import iter_csv_batches, iter_jsonl_batches
from .statistics import BaselineStatistics, parse_statistics, statistics_document

__all__ = [
    "DATA_METRICS_NAMESPACE",
    "Analysis",
    "Baseline",
    "BaselineStatistics",
    "CaptureOptions",
    "CaptureReadResult",
    "CloudWatchPublisher",
    "ColumnProfile",
    "DatasetProfile",
    "InMemoryPublisher",
    "MetricDatum",
    "MetricPublisher",
    "MonitoringConfig",
    "ParsedConstraints",
    "Violation",
    "analyze_profile",
    "build_baseline",
    "iter_capture_batches",
    "iter_capture_file",
    "iter_csv_batches",
    "iter_jsonl_batches",
    "merge_profiles",
    "metric_data",
    "parse_constraints",
    "parse_statistics",
    "profile_batch",
    "profile_capture_file",
    "profile_dataset_file",
    "run_analysis",
    "statistics_document",
    "suggest_constraints",
]
