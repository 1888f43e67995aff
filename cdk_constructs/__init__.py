"""Reusable L3 constructs for SageMaker Model Monitor, one concern per module.

The folder is not called ``constructs`` because a top-level package of that name would shadow the
``constructs`` library that aws-cdk-lib imports (aws/aws-cdk#19301).
"""
