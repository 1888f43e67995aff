"""Code of a zip-packaged function kept in ``lambdas/<package>/``, shipped as a package of that name.

The asset root is ``lambdas/`` so that the function's modules keep their package and can import each other
relatively, exactly as the tests import them (``lambdas.<package>.handler``); only that package's ``.py``
files are shipped.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_lambda as lambda_

LAMBDAS_DIR = Path(__file__).resolve().parents[1] / "lambdas"


def package_code(package: str) -> lambda_.Code:
    if not (LAMBDAS_DIR / package / "handler.py").is_file():
        raise ValueError(f"package must name a folder of {LAMBDAS_DIR} with a handler.py, got {package!r}")
    return lambda_.Code.from_asset(str(LAMBDAS_DIR), exclude=["*", f"!{package}", f"!{package}/*.py"])
