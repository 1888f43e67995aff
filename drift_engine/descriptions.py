"""The ``description`` sentences of ``constraint_violations.json``, in the analyzer's wording.

Where each wording comes from:

* ``data_type_check``: verbatim analyzer output in the shared fixtures
  (``aws__amazon-sagemaker-examples/_extracted_from_notebook_outputs/dataquality_violations_table_*.txt``):
  ``Data type match requirement is not met. Expected data type: Integral, Expected match: 100.0%. Observed:
  Only 99.64592817400101% of data is Integral.``
* ``baseline_drift_check``: the analyzer's sentence as printed in *Data Science on AWS* (O'Reilly, 2021),
  chapter 9: ``Numerical distance: 0.2711598746081505 exceeds numerical threshold: 0``; the categorical
  sentence follows it.
* ``completeness_check``, ``categorical_values_check``, ``missing_column_check``, ``extra_column_check``: no
  public analyzer output was found; these follow the data-type sentence's pattern. Nothing downstream parses a
  description (the violation-metric function keeps it verbatim and reads only the check type and feature).

Numbers are printed as Java's ``Double.toString`` prints them (the analyzer runs on the JVM): ``100.0``,
``99.64592817400101``, ``1.0E-4``.
"""

from __future__ import annotations

import math

__all__ = [
    "categorical_drift",
    "categorical_values",
    "completeness",
    "data_type",
    "extra_column",
    "java_double",
    "missing_column",
    "numerical_drift",
]


def java_double(value: float) -> str:
    """``Double.toString``: plain notation in [1e-3, 1e7), computerized scientific notation outside it."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e7:
        text = repr(value)
        return text if "." in text else text + ".0"
    for precision in range(18):
        text = f"{value:.{precision}e}"
        if float(text) == value:
            break
    mantissa, _, exponent = text.partition("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0")
        mantissa = mantissa + "0" if mantissa.endswith(".") else mantissa
    else:
        mantissa += ".0"
    return f"{mantissa}E{int(exponent)}"


def _percent(ratio: float) -> str:
    return java_double(ratio * 100.0)


def data_type(expected_type: str, threshold: float, observed: float) -> str:
    return (
        f"Data type match requirement is not met. Expected data type: {expected_type}, Expected match: "
        f"{_percent(threshold)}%. Observed: Only {_percent(observed)}% of data is {expected_type}."
    )


def completeness(expected: float, observed: float) -> str:
    return (
        f"Data completeness requirement is not met. Expected completeness: {_percent(expected)}%. "
        f"Observed: Only {_percent(observed)}% of data is complete."
    )


def numerical_drift(distance: float, threshold: float) -> str:
    return f"Numerical distance: {java_double(distance)} exceeds numerical threshold: {java_double(threshold)}"


def categorical_drift(distance: float, threshold: float, method: str) -> str:
    if method == "ChiSquared":
        return (
            f"Categorical distance (ChiSquared p-value): {java_double(distance)} is below categorical threshold: "
            f"{java_double(threshold)}"
        )
    return f"Categorical distance: {java_double(distance)} exceeds categorical threshold: {java_double(threshold)}"


def categorical_values(threshold: float, observed: float) -> str:
    return (
        f"Data content requirement is not met. Expected domain content: {_percent(threshold)}%. "
        f"Observed: Only {_percent(observed)}% of data is within the baseline domain."
    )


def missing_column(current_columns: int, baseline_columns: int) -> str:
    return (
        "There are missing columns in current dataset. Number of columns in current dataset: "
        f"{current_columns}, Number of columns in baseline constraints: {baseline_columns}"
    )


def extra_column(current_columns: int, baseline_columns: int) -> str:
    return (
        "There are extra columns in current dataset. Number of columns in current dataset: "
        f"{current_columns}, Number of columns in baseline constraints: {baseline_columns}"
    )
