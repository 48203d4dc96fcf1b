"""Endpoint profiles and the order they are looked up in.

Each setting is taken from the first place that has it:
the sidebar (this browser session only) > .streamlit/secrets.toml > the environment > the offline model.
secrets.toml is read with tomllib rather than st.secrets, which raises when the file is missing and
would tie this package to Streamlit.
"""

from __future__ import annotations

import copy
import functools
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from chatlab.endpoint import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_S, Endpoint, split_keys

SECRETS_ENV = "CHATLAB_SECRETS"
OFFLINE_NAME = "offline"


class ProfilesError(ValueError):
    """secrets.toml exists but cannot be used; the message says which file and why."""


@dataclass(frozen=True)
class Preset:
    """A well-known OpenAI-compatible service the user can pick and add a key to."""

    name: str
    base_url: str | None
    default_model: str
    needs_key: bool = True


PRESETS = (
    Preset("OpenAI", None, "gpt-4o-mini"),
    Preset("DeepSeek", "https://api.deepseek.com/v1", "deepseek-chat"),
    Preset("Ollama (local)", "http://127.0.0.1:11434/v1", "llama3.2", needs_key=False),
    Preset("vLLM (local)", "http://127.0.0.1:8000/v1", "", needs_key=False),
    Preset("llama.cpp server (local)", "http://127.0.0.1:8080/v1", "", needs_key=False),
)


@dataclass(frozen=True)
class SidebarOverride:
    """What the user typed in the sidebar; empty fields leave the profile's own values."""

    base_url: str = ""
    api_keys: str = ""  # comma-separated
    proxy: str = ""


def secrets_paths(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Where secrets.toml may live, most specific first (the project's, then the user's)."""
    env = os.environ if environ is None else environ
    if env.get(SECRETS_ENV):
        return [Path(env[SECRETS_ENV]).expanduser()]
    return [Path.cwd() / ".streamlit" / "secrets.toml", Path.home() / ".streamlit" / "secrets.toml"]


def load_secrets(paths: list[Path] | None = None) -> dict:
    """Merged secrets (the first path wins per key); a missing file is not an error.

    Each file is parsed once per change: the page reads secrets on every rerun (the endpoint picker, the
    access check), so a parse is kept per (path, mtime, size, inode) and a saved edit is read at once.
    """
    merged: dict = {}
    for path in reversed(paths if paths is not None else secrets_paths()):
        try:
            stat = path.stat()
        except OSError:
            continue
        if not path.is_file():
            continue
        data, error = _parse_secrets(str(path), stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if error:
            raise ProfilesError(error)
        merged.update(copy.deepcopy(data))
    return merged


@functools.lru_cache(maxsize=8)
def _parse_secrets(path: str, mtime_ns: int, size: int, inode: int) -> tuple[dict, str | None]:
    """One file's secrets, or why they are not valid (kept too: a broken file is not parsed again).

    A file that cannot be read at all raises OSError, uncached, as before: the access check must not
    take an unreadable file for one without a password.
    """
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8")), None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return {}, f"{path} is not valid TOML: {exc}"


def _keys(value) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        return tuple(k.strip() for k in value if isinstance(k, str) and k.strip())
    return split_keys(value if isinstance(value, str) else None)


def _profile(name: str, table: Mapping, fallback_proxy: str | None) -> Endpoint:
    if not isinstance(table, Mapping):
        raise ProfilesError(f"secrets.toml: [profiles.{name}] must be a table")
    headers = table.get("headers") or {}
    if not isinstance(headers, Mapping):
        raise ProfilesError(f"secrets.toml: profiles.{name}.headers must be a table")
    try:
        timeout = float(table.get("timeout", DEFAULT_TIMEOUT_S))
        retries = int(table.get("max_retries", DEFAULT_MAX_RETRIES))
    except (TypeError, ValueError):
        raise ProfilesError(
            f"secrets.toml: profiles.{name}: timeout and max_retries must be numbers"
        ) from None
    return Endpoint(
        name=name,
        base_url=table.get("base_url") or None,
        api_keys=_keys(table.get("api_keys", table.get("api_key"))),
        proxy=table.get("proxy") or fallback_proxy,
        headers=tuple((str(k), str(v)) for k, v in headers.items()),
        timeout_s=timeout,
        max_retries=retries,
        default_model=table.get("default_model") or None,
        protocol=_protocol(name, table.get("protocol")),
    )


def _protocol(name: str, value) -> str:
    """A profile's `protocol` setting: "chat" (default) or "responses"."""
    if value in (None, ""):
        return "chat"
    if value not in ("chat", "responses"):
        raise ProfilesError(
            f'secrets.toml: profiles.{name}.protocol must be "chat" or "responses", got {value!r}'
        )
    return value


def configured_profiles(secrets: Mapping, environ: Mapping[str, str] | None = None) -> list[Endpoint]:
    """Profiles from secrets.toml's [profiles.*] tables, then the OPENAI_* settings (secrets over env)."""
    env = os.environ if environ is None else environ

    def setting(name: str) -> str | None:
        value = secrets.get(name)
        return value if value else env.get(name) or env.get(name.lower()) or None

    proxy = setting("HTTPS_PROXY")
    profiles = [_profile(name, table, proxy) for name, table in (secrets.get("profiles") or {}).items()]
    keys = _keys(secrets.get("OPENAI_API_KEY")) or split_keys(env.get("OPENAI_API_KEY"))
    base_url = setting("OPENAI_BASE_URL")
    if keys or base_url:
        source = (
            "secrets.toml"
            if secrets.get("OPENAI_API_KEY") or secrets.get("OPENAI_BASE_URL")
            else "environment"
        )
        timeout = env.get("CHATLAB_TIMEOUT")
        retries = env.get("CHATLAB_MAX_RETRIES")
        profiles.append(
            Endpoint(
                name=source,
                base_url=base_url,
                api_keys=keys,
                proxy=proxy,
                timeout_s=float(timeout) if timeout else DEFAULT_TIMEOUT_S,
                max_retries=int(retries) if retries else DEFAULT_MAX_RETRIES,
                default_model=setting("CHATLAB_MODEL"),
            )
        )
    return profiles


def default_profile_name(profiles: list[Endpoint], secrets: Mapping) -> str:
    """secrets' `default_profile` if it names one; else the first configured profile; else offline."""
    names = [p.name for p in profiles]
    wanted = secrets.get("default_profile")
    if wanted in names:
        return wanted
    return names[0] if names else OFFLINE_NAME


def from_preset(preset: Preset, environ: Mapping[str, str] | None = None) -> Endpoint:
    """A preset as an endpoint; keys are added from the sidebar (or, for OpenAI, the environment)."""
    env = os.environ if environ is None else environ
    return Endpoint(
        name=preset.name,
        base_url=preset.base_url,
        api_keys=split_keys(env.get("OPENAI_API_KEY")) if preset.name == "OpenAI" else (),
        proxy=env.get("HTTPS_PROXY") or env.get("https_proxy") or None,
        default_model=preset.default_model or None,
    )


def apply_override(endpoint: Endpoint, override: SidebarOverride) -> Endpoint:
    """Sidebar values win over the profile's own (keys typed there live only in that browser session)."""
    changes = {}
    if override.base_url.strip():
        changes["base_url"] = override.base_url.strip()
    if keys := split_keys(override.api_keys):
        changes["api_keys"] = keys
    if override.proxy.strip():
        changes["proxy"] = override.proxy.strip()
    return replace(endpoint, **changes) if changes else endpoint
