import sys
from pathlib import Path

# Test modules here share `snapshots.py` (hand-built snapshots); importlib mode does not put the
# test directory on sys.path by itself.
sys.path.insert(0, str(Path(__file__).parent))
