#!/usr/bin/env python3
"""Entry point: read the stage's settings from the CDK context, build the stacks. Nothing else.

npx cdk synth                                  # the default stage: the embedded demo
npx cdk synth -c stage=prod                    # a stage from cdk.json
npx cdk synth -c settings.sampling_percentage=50   # one setting overridden
"""

import os
import sys

from aws_cdk import App

from cdk_constructs.fleet_dashboard import DashboardTooLargeError
from cdk_constructs.lambda_package import BundlingError
from settings import SettingsError, load_settings, overrides_from_context
from stacks import build_stacks


def main() -> None:
    # aws-cdk-lib's built-in CloudFormation validation (a WebAssembly schema validator and CDK's default rules) takes
    # longer than the rest of a synth together. Every template of every stage already goes through it, and through
    # cfn-lint, in the tests (tests/synth.py turns it on, tests/stacks/test_gates.py fails on any finding), so a
    # plain synth skips it unless CDK_VALIDATION=true asks for it; cdk-nag still runs on every synth.
    app = App(builtin_cloud_formation_validation=os.environ.get("CDK_VALIDATION") == "true")
    try:
        settings = load_settings(
            stage=app.node.try_get_context("stage"),
            stages=app.node.try_get_context("stages"),
            overrides=overrides_from_context(app.node.get_all_context()),
        )
        build_stacks(app, settings)
    except (SettingsError, DashboardTooLargeError, BundlingError) as error:
        # One line for a person, no traceback: the message names the setting, the value and what is allowed (or,
        # for a fleet too large for one dashboard, how many endpoints need how many widgets), or the function whose
        # packages could not be installed and why.
        sys.exit(f"error: {error}")
    app.synth()


if __name__ == "__main__":
    main()
