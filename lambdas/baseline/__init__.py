"""Runtime of the baseline custom resource: CloudFormation waits on a Model Monitor baseline job.

The package is copied as ``baseline/`` into the Lambda image, so its modules import each other
relatively; the tests import it as ``lambdas.baseline``.
"""
