"""The dashboard tests import dashboard_support (importlib mode: put this folder on the path)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
