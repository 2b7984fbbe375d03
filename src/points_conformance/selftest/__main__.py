"""`python -m points_conformance.selftest`: the same as `points-conformance selftest`."""

from __future__ import annotations

import sys

from points_conformance.selftest import main

# Guarded: module walkers (the fuzz engine's) import every module, this one included.
if __name__ == "__main__":
    sys.exit(main())
