#!/usr/bin/env bash
# Idempotent setup for a fresh machine: Python venv with pal-audit and its dev tools, Azurite from npm.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# The tools' own venvs install side by side with the app's (each is a minute or more on a fresh
# machine): checkov and pycep for the infra checks, the pinned Azure CLI for the az tests.
bash scripts/setup-infra-tools.sh & infra_tools=$!
bash scripts/setup-azure-cli.sh & azure_cli=$!
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.pal-audit-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements.txt -nt "$stamp" ]; then
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt -e '.[dev]'
  touch "$stamp"
fi
if [ ! -x node_modules/.bin/azurite ] || [ ! -f node_modules/axe-core/axe.min.js ]; then
  npm install --no-audit --no-fund --loglevel=error >/dev/null
fi
# The dashboard's browser tests use Debian's chromium and its chromedriver (a browser download
# from the web cannot work offline); installed when missing, which needs root.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  if [ "$(id -u)" = 0 ]; then
    # A fresh machine may have no package lists yet: update them once if the install cannot start.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null && \
           DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null; }
  else
    echo "setup: /usr/bin/chromium is missing; run: sudo apt-get install chromium chromium-driver" >&2
  fi
fi
# checkov (and pycep) in a venv of their own: it would drag ~90 packages into the app's venv; the
# real Azure CLI in its own too (it pins azure-* and msal versions of its own), for tests/cli/test_azure_cli*.py.
wait "$infra_tools"
wait "$azure_cli"
