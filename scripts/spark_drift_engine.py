"""spark-submit's entry to the drift engine's Spark runner (spark-submit runs a file, not a module).

SageMaker Processing's Spark image (``PySparkProcessor``): ``submit_app`` is this file, ``submit_py_files`` a
zip of ``drift_engine/``, and the arguments are the CLI's::

    spark-submit --py-files drift_engine.zip scripts/spark_drift_engine.py analyze \\
        --capture s3://bucket/capture/endpoint/AllTraffic/2024/06/11/10 --baseline /opt/ml/processing/baseline \\
        --start 2024-06-11T10:00:00Z --end 2024-06-11T11:00:00Z --out /opt/ml/processing/output

It lives outside the package on purpose: a script's folder comes first on ``sys.path``, and the package's
``statistics.py`` would then shadow the standard library's ``statistics``.
"""

import sys

from drift_engine.spark import main

if __name__ == "__main__":
    sys.exit(main())
