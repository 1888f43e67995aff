"""The shared Model Monitor fixture files (../shared/fixtures/model-monitor, a sibling of the repo).

See that folder's SOURCES.md for where each file came from. Nobody on this project wrote them; the only
files built here are the modern-wording violations, assembled from the analyzer's real sentences that a
notebook printed as a pandas table (the notebook never saved the JSON), and the model-quality and
bias-drift reports rebuilt from their printed tables, used as wrong-shape inputs.
"""

import ast
import json
import re
from pathlib import Path
from typing import Any

FIXTURES_DIR = (Path(__file__).parents[3] / ".." / "shared" / "fixtures" / "model-monitor").resolve()

if not (FIXTURES_DIR / "SOURCES.md").is_file():  # fail the collection loudly, never skip silently
    raise FileNotFoundError(
        f"Model Monitor fixtures not found at {FIXTURES_DIR}: the tests expect the shared fixtures "
        "folder next to the repository (../shared/fixtures/model-monitor), as in CI"
    )

_EXTRACTED = "aws__amazon-sagemaker-examples/_extracted_from_notebook_outputs"

# --- violations files, as committed ----------------------------------------------------------------
SDK_OLD_WORDING_VIOLATIONS = "aws__sagemaker-python-sdk/tests/data/monitor/constraint_violations.json"
NLP_CUSTOM_CONTAINER_VIOLATIONS = (
    "aws__amazon-sagemaker-examples/sagemaker_model_monitor/data_quality/nlp/constraints_violations.json"
)
# --- pandas tables with the analyzer's current data-quality wording ---------------------------------
DATA_QUALITY_TABLE_2021 = f"{_EXTRACTED}/dataquality_violations_table_2021-05-18.txt"
DATA_QUALITY_TABLE_2022 = f"{_EXTRACTED}/dataquality_violations_table_2022-04-18.txt"
MODEL_QUALITY_TABLE = f"{_EXTRACTED}/modelquality_violations_table_2021-05-18.txt"
BIAS_DRIFT_PPRINTS = (
    f"{_EXTRACTED}/biasdrift_violations_pprint_json_adult_2024-01-19.txt",
    f"{_EXTRACTED}/biasdrift_violations_pprint_jsonlines_adult_2023-01-19.txt",
)

# --- constraints files ------------------------------------------------------------------------------
CHURN_CONSTRAINTS = f"{_EXTRACTED}/churn_dataquality_baseline_2021-05-18/constraints.json"
SCOTTREIDUX_CONSTRAINTS = "ScottReidux__aai-540/assets/constraints.json"
SDK_GOOD_CONSTRAINTS = (
    "aws__sagemaker-python-sdk/tests/data/pipeline/quality_check_step/data_quality/good_cases/constraints.json"
)
SDK_BAD_CONSTRAINTS = (
    "aws__sagemaker-python-sdk/tests/data/pipeline/quality_check_step/data_quality/bad_cases/constraints.json"
)
SDK_HAND_EDITED_CONSTRAINTS = "aws__sagemaker-python-sdk/tests/data/monitor/constraints.json"
SDK_MODEL_QUALITY_CONSTRAINTS = (
    "aws__sagemaker-python-sdk/tests/data/pipeline/quality_check_step/model_quality/good_cases/constraints.json",
    "aws__sagemaker-python-sdk/tests/data/pipeline/quality_check_step/model_quality/bad_cases/constraints.json",
)


def fixture_path(relative: str) -> Path:
    """Absolute path of a fixture file; raises if it is missing (never a silent skip)."""
    path = FIXTURES_DIR / relative
    if not path.is_file():
        raise FileNotFoundError(f"fixture file missing: {path}")
    return path


def fixture_bytes(relative: str) -> bytes:
    """The fixture file's bytes, as S3 would return them."""
    return fixture_path(relative).read_bytes()


def analyzer_style_json(document: object) -> str:
    """JSON the way the analyzer spaces it (``"k" : v``), e.g. for a file built in a test."""
    return json.dumps(document, indent=2, separators=(",", " : "))


def modern_wording_violations(table: str) -> str:
    """Rebuild ``constraint_violations.json`` from a data-quality violations table a notebook printed.

    The table (``pd.json_normalize(violations["violations"]).head(10)``) prints two blocks: the
    ``feature_name`` / ``constraint_check_type`` columns, then the ``description`` column. The rows are
    joined on their index; every cell is copied verbatim.
    """
    lines = fixture_path(table).read_text(encoding="utf-8").splitlines()
    split = next(i for i, line in enumerate(lines) if line.strip() == "description")
    head = re.compile(r"^\s*(\d+)\s+(\S.*?)\s+(\w+_check)\s*$")
    rows = {int(m[1]): (m[2], m[3]) for line in lines[:split] if (m := head.match(line))}
    descriptions = {int(m[1]): m[2] for line in lines[split + 1 :] if (m := re.match(r"^\s*(\d+)\s+(\S.*?)\s*$", line))}
    if not rows or rows.keys() != descriptions.keys():
        raise ValueError(f"{table}: could not pair the table's rows ({sorted(rows)} / {sorted(descriptions)})")
    violations = [
        {"feature_name": feature, "constraint_check_type": check, "description": descriptions[index]}
        for index, (feature, check) in sorted(rows.items())
    ]
    return analyzer_style_json({"violations": violations})


def model_quality_violations() -> str:
    """Rebuild the model-quality violations a notebook printed (``metric_name``, no ``feature_name``)."""
    lines = fixture_path(MODEL_QUALITY_TABLE).read_text(encoding="utf-8").splitlines()
    rows: dict[int, dict[str, str]] = {}
    column = ""
    for line in lines:
        stripped = line.strip().rstrip("\\").strip()
        if stripped in {"constraint_check_type", "description", "metric_name"}:
            column = stripped
        elif column and (match := re.match(r"^(\d+)\s+(\S.*?)$", stripped)):
            rows.setdefault(int(match[1]), {})[column] = match[2]
    return analyzer_style_json({"violations": [rows[index] for index in sorted(rows)]})


def bias_drift_violations(pprint_file: str) -> str:
    """The bias-drift violations a notebook pretty-printed (a Python literal), as JSON."""
    text = fixture_path(pprint_file).read_text(encoding="utf-8")
    literal: Any = ast.literal_eval("\n".join(line for line in text.splitlines() if not line.startswith("#")))
    return json.dumps(literal)
