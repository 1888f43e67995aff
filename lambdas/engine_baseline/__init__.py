"""Runtime of the builtin engine's baseline custom resource: the engine computes the baseline, no Model Monitor.

Copied as ``lambdas/engine_baseline`` into the engine image (with ``lambdas/baseline``, whose request parsing,
job naming and polling it reuses, so both baseline resources validate and behave alike).
"""
