#!/usr/bin/env bash
# Idempotent: the real Azure CLI (azure-cli from PyPI, pinned) in a venv of its own, for the tests that
# drive `az` against armsim. Kept apart from .venv because azure-cli pins its own azure-* and msal versions.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
AZURE_CLI_VERSION=2.91.0
venv=.venv-azure-cli
stamp=$venv/.pal-audit-installed
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "azure-cli==$AZURE_CLI_VERSION" ] && [ -x "$venv/bin/az" ]; then
  exit 0
fi
if [ ! -x "$venv/bin/python" ]; then
  "$PY" -m venv "$venv"
fi
log=$(mktemp)
config=$(mktemp -d)   # a throwaway AZURE_CONFIG_DIR for the smoke check below, not the user's ~/.azure
trap 'rm -rf "$log" "$config"' EXIT
if ! "$venv/bin/pip" install -q --disable-pip-version-check "azure-cli==$AZURE_CLI_VERSION" >"$log" 2>&1; then
  cat "$log" >&2
  echo "setup-azure-cli: installing azure-cli==$AZURE_CLI_VERSION into $venv failed" >&2
  exit 1
fi
AZURE_CONFIG_DIR=$config AZURE_CORE_COLLECT_TELEMETRY=0 "$venv/bin/az" version --output none
echo "azure-cli==$AZURE_CLI_VERSION" >"$stamp"
