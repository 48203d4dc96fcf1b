#!/usr/bin/env bash
# Install (first time) and launch Chat Lab on http://localhost:8501.
# With no API key configured, the chat uses a small model that runs on this machine.
set -euo pipefail
cd "$(dirname "$0")"
scripts/install.sh
exec .venv/bin/python -m streamlit run app.py --browser.gatherUsageStats false "$@"
