"""PySpark's worker daemon for the drift engine's jobs in local mode (Spark's ``spark.python.daemon.module``).

Spark starts one Python daemon per executor and forks a worker from it for each concurrent task. PySpark's own
daemon (``pyspark.daemon``) leaves two costs to every worker, which this one pays once, before the fork:

* **Spark's zips and jar on ``sys.path``.** Spark puts its zipped copies of PySpark and py4j first on the workers'
  path, and its ``spark-core`` jar (5,221 entries, no Python file) after them. Each task starts with
  ``importlib.invalidate_caches()`` (``pyspark/worker.py``), which on Python 3.11 re-reads the directory of every
  zip on the path at once (3.12 defers it to the next import), and PySpark itself is then imported by compiling
  the zip's sources. Measured on the tests' five jobs: 3.3 CPU s of the workers' 8.4 went to re-reading those
  directories. The jar is dropped from the path always; the zips only where PySpark and py4j are installed as
  packages too (pip's ``pyspark``), so nothing the workers import goes missing.
* **Imports every task needs.** The engine's modules, pyarrow, and PySpark's Arrow types (``to_arrow_type``
  imports ``distutils``, through setuptools' shim, on each worker's first Arrow function) are imported here, so
  the forked workers share them instead of each importing them again.

:func:`drift_engine.spark.spark_session` sets it for a local master, where the workers run this interpreter and
import this package as the driver does. On a cluster the executors' daemon stays PySpark's.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path


def _without_spark_archives() -> None:
    """Drop Spark's jars from ``sys.path``, and its PySpark and py4j zips where both are installed as packages."""
    jars = [entry for entry in sys.path if entry.endswith(".jar")]
    zips = [entry for entry in sys.path if entry.endswith(".zip") and Path(entry).name.startswith(("pyspark", "py4j"))]
    with_zips = [entry for entry in sys.path if entry not in jars]
    sys.path[:] = [entry for entry in with_zips if entry not in zips]
    if importlib.util.find_spec("pyspark") is None or importlib.util.find_spec("py4j") is None:
        sys.path[:] = with_zips  # PySpark only in Spark's zips (a cluster's image): keep them
        zips = []
    for cached in list(sys.path_importer_cache):  # the archives' importers, and those of folders inside them
        if any(cached == entry or cached.startswith(entry + os.sep) for entry in [*jars, *zips]):
            del sys.path_importer_cache[cached]


def _import_what_every_task_needs() -> None:
    import pyspark.worker  # noqa: F401  (the workers' main loop)
    from pyspark.sql.pandas.types import to_arrow_type
    from pyspark.sql.types import BinaryType

    import drift_engine.spark  # noqa: F401  (the functions mapInArrow runs, and the engine they import)

    to_arrow_type(BinaryType())  # its lazy imports, which each worker's first Arrow function would repeat


def main() -> None:
    _without_spark_archives()
    _import_what_every_task_needs()
    import pyspark.daemon

    pyspark.daemon.manager()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    main()
