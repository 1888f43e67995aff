"""``python -m drift_engine``: see :mod:`drift_engine.cli`."""

import sys

from .cli import main

sys.exit(main())
