#!/usr/bin/env bash
# Runs the zero-config demo: armsim (a local Azure) + Azurite + the whole audit on examples/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/pal-audit demo "$@"
