"""cfn-lint as the gates run it, for any test that lints a synthesized template."""

from __future__ import annotations

import functools
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cfnlint.runner import Runner

#: Regions whose resource specs cfn-lint checks the templates against (informational only: the stacks are
#: environment-agnostic).
LINT_REGIONS = ["us-east-1", "eu-west-1"]
#: W3005 ("DependsOn already enforced by a GetAtt"): aws-cdk-lib adds DependsOn on the role and its policy to
#: every Lambda function it builds, the Provider framework's included. Redundant, harmless, and not ours to
#: remove without rewriting CDK's output; every other rule stays on.
LINT_IGNORED = ["W3005"]


@functools.cache
def _runner() -> Runner:
    """One cfn-lint runner per process, as its command line uses one for many templates: building it loads every
    rule (about 0.6 s), which ``cfnlint.api.lint`` repeats on each call, for each of the run's 20-odd templates.
    cfn-lint is imported here, in the lint worker only: the test process and the synth worker never lint, and
    its import is 0.8 s of each."""
    from cfnlint.api import ManualArgs
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    return Runner(ConfigMixIn(**ManualArgs(regions=LINT_REGIONS, ignore_checks=LINT_IGNORED)))


def lint_template(template: str) -> list[str]:
    """cfn-lint's findings on ``template`` (JSON text), one string each; empty when it is clean."""
    from cfnlint.decode.decode import decode_str

    decoded, errors = decode_str(template)
    if errors:
        return [str(match) for match in errors]
    return [str(match) for match in _runner().validate_template(decoded)]


_POOL: ProcessPoolExecutor | None = None


def lint_in_background(template: str) -> Future[list[str]]:
    """``lint_template`` in the lint worker: linting is CPU-bound Python (seconds per stage), so the gate's
    templates are linted as soon as each stage is synthesized, while this process runs other tests, and the gate
    only collects the findings. One worker: a second loads cfn-lint, its rules and each resource type's schema
    again (3.4 CPU s measured) on the core this process needs. It comes from a fork server: no fork of a process
    running jsii's threads."""
    global _POOL  # one pool per test run
    if _POOL is None:
        _POOL = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("forkserver"))
    return _POOL.submit(lint_template, template)
