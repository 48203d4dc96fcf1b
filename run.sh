#!/usr/bin/env bash
# Install (first time) and launch Chat Lab on http://localhost:8501 — reachable from this machine only.
#   ./run.sh --public   serve on every interface (needs CHATLAB_PASSWORD); CHATLAB_ADDRESS=ADDR for one address
# With no API key configured, the chat uses a small model that runs on this machine.
set -euo pipefail
cd "$(dirname "$0")"
# chatlab/listen.py (standard library only, so it runs before the install) decides the address:
# 127.0.0.1 unless asked, and never a wider one without a password.
address=$("${PYTHON:-python3}" -m chatlab.listen "$@")
scripts/install.sh
args=()
for arg in "$@"; do
  [ "$arg" = "--public" ] || args+=("$arg")
done
exec .venv/bin/python -m streamlit run app.py --browser.gatherUsageStats false --server.address "$address" \
  ${args[@]+"${args[@]}"}
