#!/usr/bin/env bash
# Install everything (Chromium included) and run every test: unit, AppTest, fake-server, browser.
set -euo pipefail
cd "$(dirname "$0")"
scripts/install.sh --browser  # also Chromium and PostgreSQL from Debian
# Browser tests must run, not skip: CHATLAB_REQUIRE_BROWSER makes a missing Chromium a failure.
export CHATLAB_REQUIRE_BROWSER=1
# The real offline-model tests too: a missing llama.cpp or model file fails the run instead of skipping.
export CHATLAB_REQUIRE_OFFLINE=1
# And the store on a real PostgreSQL server (installed by scripts/install.sh --browser).
export CHATLAB_REQUIRE_POSTGRES=1
exec .venv/bin/python -m pytest "$@"
