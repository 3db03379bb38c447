#!/usr/bin/env bash
# Set up mechcode on a fresh machine: .venv with the CPU build of torch and the project.
#   bash scripts/setup.sh          # runtime (enough for the demo and the CLI)
#   bash scripts/setup.sh --test   # + test tools and Debian's chromium for the browser tests
# Idempotent: re-running only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1
PY=${PYTHON:-python3}

if [[ ! -x .venv/bin/python ]]; then
  echo "== creating .venv"
  "$PY" -m venv .venv
fi
# pip's many harmless "Location ... is ignored" lines are filtered out; a failing pip call
# still fails the script (pipefail), naming the command that failed.
pip() {
  local rc=0
  .venv/bin/python -m pip --disable-pip-version-check "$@" 2>&1 | { grep -v "is ignored" || true; } || rc=$?
  if [[ $rc != 0 ]]; then echo "setup failed: pip $* (exit $rc)" >&2; exit "$rc"; fi
}

# torch first, pinned: the CPU build lying on this kind of machine. A bare `torch`
# requirement would pull a multi-GB CUDA build.
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  echo "== installing torch==2.13.0 (CPU)"
  pip install -q "torch==2.13.0"
fi

extras=""
[[ $want_test == 1 ]] && extras="[test]"
echo "== installing mechcode${extras} (pinned by constraints.txt)"
pip install -q -c constraints.txt -e ".${extras}"
.venv/bin/python -c "import mechcode, torch, sklearn, pdfplumber" \
  || { echo "setup failed: mechcode does not import" >&2; exit 1; }

if [[ $want_test == 1 && ! -x /usr/bin/chromium ]]; then
  echo "== installing Debian's chromium for the browser tests"
  if [[ $(id -u) == 0 ]]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
fi
echo "== mechcode is set up: .venv/bin/mechcode --help"
