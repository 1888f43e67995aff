"""cfn-lint as the gates run it, for any test that lints a synthesized template."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor

from cfnlint.api import ManualArgs, lint

#: Regions whose resource specs cfn-lint checks the templates against (informational only: the stacks are
#: environment-agnostic).
LINT_REGIONS = ["us-east-1", "eu-west-1"]
#: W3005 ("DependsOn already enforced by a GetAtt"): aws-cdk-lib adds DependsOn on the role and its policy to
#: every Lambda function it builds, the Provider framework's included. Redundant, harmless, and not ours to
#: remove without rewriting CDK's output; every other rule stays on.
LINT_IGNORED = ["W3005"]


def lint_template(template: str) -> list[str]:
    """cfn-lint's findings on ``template`` (JSON text), one string each; empty when it is clean."""
    return [str(match) for match in lint(template, config=ManualArgs(regions=LINT_REGIONS, ignore_checks=LINT_IGNORED))]


_POOL: ProcessPoolExecutor | None = None
#: Whether the lint gate (tests/stacks/test_gates.py) is among the selected tests: only then does ``synth_stage``
#: start linting each stage as soon as it is synthesized. Set by tests/conftest.py after collection.
gate_selected = False


def lint_in_background(template: str) -> Future[list[str]]:
    """``lint_template`` in a worker process: linting is CPU-bound Python (seconds per stage), so the gate's
    templates are linted as soon as each stage is synthesized, on the core the synths leave idle, and the gate
    only collects the findings. Workers come from a fork server: no fork of a process running jsii's threads."""
    global _POOL  # one pool per test run
    if _POOL is None:
        _POOL = ProcessPoolExecutor(
            max_workers=os.cpu_count() or 1, mp_context=multiprocessing.get_context("forkserver")
        )
    return _POOL.submit(lint_template, template)
