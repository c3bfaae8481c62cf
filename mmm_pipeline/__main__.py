"""``python -m mmm_pipeline``: see :mod:`mmm_pipeline.cli`."""

import sys

from mmm_pipeline.cli import main

sys.exit(main())
