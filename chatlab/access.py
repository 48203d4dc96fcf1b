"""The optional access password for a shared deployment: where it is configured and how a guess is checked.

CHATLAB_PASSWORD is looked up like every other setting: .streamlit/secrets.toml > the environment.
Unset or empty means no password. It is one shared password, not user accounts.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import unicodedata
from collections.abc import Mapping
from pathlib import Path

from chatlab.profiles import ProfilesError, load_secrets, secrets_paths

PASSWORD_SETTING = "CHATLAB_PASSWORD"
MAX_DELAY_S = 8.0

# Unlocked sessions keep a keyed fingerprint of the password rather than a plain flag: changing the
# password locks every open session on its next rerun, and the password itself is never kept around.
_PROCESS_KEY = secrets.token_bytes(32)


class AccessConfigError(ValueError):
    """A password may be configured but cannot be read, so the app must stay locked."""


def configured_password(environ: Mapping[str, str] | None = None) -> str | None:
    """The access password from secrets.toml, else the environment; None when none is set (no lock)."""
    env = os.environ if environ is None else environ
    paths = secrets_paths(env)
    try:
        value = load_secrets(paths).get(PASSWORD_SETTING)
    except ProfilesError as exc:
        # Fail closed only when the broken file mentions the password: it may be protecting this
        # deployment. Other typos in secrets.toml keep the old behaviour (a warning in the sidebar).
        if any(_mentions_password(path) for path in paths):
            raise AccessConfigError(f"{exc}; it sets {PASSWORD_SETTING}") from None
        value = None
    if value is None or value == "":
        value = env.get(PASSWORD_SETTING)
    if value is not None and not isinstance(value, str):
        raise AccessConfigError(f"secrets.toml: {PASSWORD_SETTING} must be a quoted string")
    return value or None


def _mentions_password(path: Path) -> bool:
    try:
        return PASSWORD_SETTING in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def _canonical(text: str) -> bytes:
    # The same word can arrive composed or decomposed (é as one code point or e + accent) depending on
    # the keyboard and input method; compare the NFC form so both unlock.
    return unicodedata.normalize("NFC", text).encode("utf-8")


def check_password(typed: str | None, password: str) -> bool:
    """Whether `typed` is the password, compared in constant time so timing does not reveal a prefix."""
    if not typed or not password:
        return False
    return hmac.compare_digest(_canonical(typed), _canonical(password))


def unlock_token(password: str) -> str:
    """What an unlocked session remembers: a fingerprint valid for this password in this process only."""
    return hmac.new(_PROCESS_KEY, _canonical(password), hashlib.sha256).hexdigest()


def failure_delay(failures: int) -> float:
    """Seconds to wait after the n-th wrong password in a row: 0.5, 1, 2, 4, then 8 at most."""
    if failures <= 0:
        return 0.0
    return min(0.5 * 2 ** (failures - 1), MAX_DELAY_S)
