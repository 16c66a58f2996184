#!/usr/bin/env bash
# The whole test suite, as CI runs it: setup, lint, layer contracts, strict types, then pytest
# (which starts armsim and Azurite itself).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/lint-imports --no-cache
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
