#!/usr/bin/env bash
# Install everything (Chromium included) and run every test: unit, AppTest, fake-server, browser.
set -euo pipefail
cd "$(dirname "$0")"
scripts/install.sh --browser
# Browser tests must run, not skip: CHATLAB_REQUIRE_BROWSER makes a missing Chromium a failure.
export CHATLAB_REQUIRE_BROWSER=1
# The real offline-model tests too: a missing llama.cpp or model file fails the run instead of skipping.
export CHATLAB_REQUIRE_OFFLINE=1
exec .venv/bin/python -m pytest "$@"
