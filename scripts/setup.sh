#!/usr/bin/env bash
# Idempotent setup for a fresh machine: Python venv with pal-audit and its dev tools, Azurite from npm.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.pal-audit-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements.txt -nt "$stamp" ]; then
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt -e '.[dev]'
  touch "$stamp"
fi
if [ ! -x node_modules/.bin/azurite ]; then
  npm install --no-audit --no-fund --loglevel=error >/dev/null
fi
# checkov (and pycep) in a venv of their own: it would drag ~90 packages into the app's venv.
bash scripts/setup-infra-tools.sh
# the real Azure CLI (its own venv: azure-cli pins azure-* and msal versions of its own), for tests/cli/test_azure_cli.py
bash scripts/setup-azure-cli.sh
