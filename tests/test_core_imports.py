"""chatlab/ never imports Streamlit: the core runs in the terminal chat, the benchmarks and run.sh's checks."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import chatlab

ROOT = Path(__file__).resolve().parent.parent


def test_no_chatlab_module_imports_streamlit():
    modules = sorted(
        m.name for m in pkgutil.walk_packages(chatlab.__path__, "chatlab.") if m.name != "chatlab.__main__"
    )
    assert {"chatlab.store.owners", "chatlab.listen", "chatlab.transcript.importer"} <= set(modules)
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "sys.exit(sorted(m for m in sys.modules if m == 'streamlit' or m.startswith('streamlit.')) != [])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr or "a chatlab module imported streamlit"
