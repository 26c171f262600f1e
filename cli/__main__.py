"""``python -m cli``: the ``celltwin`` command (what the console script runs)."""

from __future__ import annotations

import sys

from cli.main import main

sys.exit(main())
