"""``python -m crossview``: see :mod:`crossview.cli`."""

import sys

from .cli import main

sys.exit(main())
