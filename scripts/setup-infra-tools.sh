#!/usr/bin/env bash
# Idempotent: a separate venv with checkov (and pycep-parser, which it brings) for the infra checks in
# tests/infra. Kept apart from .venv because checkov pins many packages of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
CHECKOV_VERSION=3.3.30
venv=.venv-checkov
stamp=$venv/.pal-audit-installed
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "checkov==$CHECKOV_VERSION" ] && [ -x "$venv/bin/checkov" ]; then
  exit 0
fi
if [ ! -x "$venv/bin/python" ]; then
  "$PY" -m venv "$venv"
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! "$venv/bin/pip" install -q --disable-pip-version-check "checkov==$CHECKOV_VERSION" >"$log" 2>&1; then
  cat "$log" >&2
  echo "setup-infra-tools: installing checkov into $venv failed" >&2
  exit 1
fi
"$venv/bin/python" -c "import checkov, pycep" >/dev/null
echo "checkov==$CHECKOV_VERSION" >"$stamp"
