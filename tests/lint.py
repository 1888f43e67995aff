"""cfn-lint as the gates run it, for any test that lints a synthesized template."""

from __future__ import annotations

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
