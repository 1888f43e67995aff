"""Runtime of the builtin engine's hourly analysis: one hour of captured traffic against the baseline.

The package runs in the engine's container image as ``lambdas.drift_analysis`` (handler
``lambdas.drift_analysis.handler.lambda_handler``); it imports ``lambdas.violation_metric`` for the violation
percentage, so both engines compute it with the same code.
"""
