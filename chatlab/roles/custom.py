"""Roles the user creates, edits or imports, kept in their own YAML file beside the history database.

The file uses the roles.yaml schema (version 1), so it can be exported, shared and re-imported. Built-in
roles stay read-only in roles.yaml; custom roles may not reuse a built-in name. Every write replaces the
whole file atomically (a temporary file in the same folder, then os.replace) under a lock, so a crash
mid-write leaves the previous file intact and concurrent writers never interleave.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from chatlab.roles.library import load_roles_or_default, parse_roles, roles_to_yaml
from chatlab.roles.role import MAX_NAME_CHARS, Role, RolesError
from chatlab.store.db import default_db_path
from chatlab.yamlguard import read_text_capped

try:  # a second process (the CLI, another `streamlit run`) may write the same file
    import fcntl
except ImportError:  # Windows: the thread lock still serializes writers within this process
    fcntl = None  # type: ignore[assignment]

CUSTOM_ROLES_ENV = "CHATLAB_CUSTOM_ROLES"
CUSTOM_ROLES_FILE = "custom_roles.yaml"
# Larger than the built-in file's cap: imported collections can hold a thousand prompts.
MAX_CUSTOM_FILE_BYTES = 32 * 1024 * 1024

_HEADER = (
    "# Chat Lab custom roles, written by the Roles page (schema: see the top of the shipped roles.yaml).\n"
    "# You may edit it by hand: Chat Lab re-reads it when it changes and reports a mistake with its line.\n"
)

Stamp = tuple[int, int, int]  # (mtime_ns, size, inode) of the file
_parsed: dict[Path, tuple[Stamp, tuple[Role, ...]]] = {}  # per file: the roles last read or written
_locks: dict[Path, _FileLock] = {}
_locks_guard = threading.Lock()


def custom_roles_path() -> Path:
    """`$CHATLAB_CUSTOM_ROLES` when set, otherwise custom_roles.yaml in the history database's folder."""
    override = os.environ.get(CUSTOM_ROLES_ENV, "").strip()
    return Path(override).expanduser() if override else default_db_path().parent / CUSTOM_ROLES_FILE


class _FileLock:
    """Re-entrant lock for one file: a thread lock, plus flock on a sidecar file against other processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._rlock = threading.RLock()
        self._depth = 0
        self._handle = None

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        with self._rlock:
            if self._depth == 0 and fcntl is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._handle = open(self.path.with_name(self.path.name + ".lock"), "a")  # noqa: SIM115
                fcntl.flock(self._handle, fcntl.LOCK_EX)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._handle is not None:
                    fcntl.flock(self._handle, fcntl.LOCK_UN)
                    self._handle.close()
                    self._handle = None


def _lock_for(path: Path) -> _FileLock:
    with _locks_guard:
        return _locks.setdefault(path, _FileLock(path))


def _key(name: str) -> str:
    return name.strip().casefold()


def copy_name(name: str, taken: Iterable[str], suffix: str = "copy") -> str:
    """A name not in `taken` (case-insensitive), within MAX_NAME_CHARS.

    With a suffix: 'X (copy)', 'X (copy 2)', …; with suffix "": 'X (2)', 'X (3)', … (an import that
    repeats a name).
    """
    used = {_key(n) for n in taken}
    if suffix:
        tails = (f" ({suffix})" if n == 1 else f" ({suffix} {n})" for n in range(1, 100_000))
    else:
        tails = (f" ({n})" for n in range(2, 100_000))
    for tail in tails:
        candidate = name.strip()[: MAX_NAME_CHARS - len(tail)].rstrip() + tail
        if _key(candidate) not in used:
            return candidate
    raise ValueError(f"no free name for '{name}'")


def all_roles(builtin: Sequence[Role], custom: CustomRoles | Sequence[Role]) -> list[Role]:
    """Built-in roles first, then custom ones; a custom role whose name a built-in already uses is left out."""
    extra = custom.list() if isinstance(custom, CustomRoles) else list(custom)
    seen = {_key(r.name) for r in builtin}
    out = list(builtin)
    for role in extra:
        if _key(role.name) not in seen:
            seen.add(_key(role.name))
            out.append(role)
    return out


class CustomRoles:
    """The custom-roles file: list, save (create or edit), delete, duplicate. Raises RolesError/ValueError."""

    def __init__(self, path: str | Path | None = None, *, builtin: Sequence[Role] | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else custom_roles_path()
        self._builtin = list(builtin) if builtin is not None else None
        self._key = self.path.resolve()
        self._lock = _lock_for(self._key)

    # -- reading ---------------------------------------------------------------------------------

    def list(self) -> list[Role]:
        """The custom roles in file order; [] when the file does not exist. RolesError names the line."""
        stamp = self.stamp()
        if stamp is None:
            return []
        cached = _parsed.get(self._key)
        if cached is not None and cached[0] == stamp:
            return list(cached[1])
        text = read_text_capped(self.path, RolesError, MAX_CUSTOM_FILE_BYTES)
        roles = parse_roles(text, self.path, builtin=False, allow_empty=True, max_bytes=MAX_CUSTOM_FILE_BYTES)
        # Stamped as seen *before* reading: if a writer replaced the file meanwhile, the next call re-reads.
        _parsed[self._key] = (stamp, tuple(roles))
        return roles

    def stamp(self) -> Stamp | None:
        """Changes whenever the file is rewritten (each write is a new inode): a cache key."""
        try:
            return _stamp(self.path.stat())
        except OSError:
            return None

    def builtin(self) -> list[Role]:
        """The built-in roles that custom names must not clash with (roles.yaml unless given)."""
        if self._builtin is None:
            self._builtin = load_roles_or_default()[0]
        return self._builtin

    # -- writing ---------------------------------------------------------------------------------

    def save(self, role: Role, *, replacing: str | None = None) -> Role:
        """Create a role, or replace the custom role named `replacing` (which may be renamed)."""
        with self._locked():
            roles = self.list()
            index = None if replacing is None else self._index(roles, replacing)
            taken = {_key(r.name): r.name for i, r in enumerate(roles) if i != index}
            stored = self._check(role, taken)
            if index is None:
                roles.append(stored)
            else:
                roles[index] = stored
            self._write(roles)
            return stored

    def save_many(self, new_roles: Iterable[Role], *, rename: bool = False) -> list[Role]:
        """Append several roles in one write; with `rename`, a clashing name gets ' (2)', ' (3)', …"""
        with self._locked():
            roles = self.list()
            taken = {_key(r.name): r.name for r in roles}
            builtin = {_key(r.name) for r in self.builtin()}
            added = []
            for role in new_roles:
                if rename and (_key(role.name) in taken or _key(role.name) in builtin):
                    role = replace(role, name=copy_name(role.name, [*taken, *builtin], suffix=""))
                stored = self._check(role, taken)
                taken[_key(stored.name)] = stored.name
                added.append(stored)
            if added:
                self._write([*roles, *added])
            return added

    def delete(self, name: str) -> None:
        """Remove the custom role with this name; a built-in or unknown name is a ValueError."""
        with self._locked():
            roles = self.list()
            index = self._index(roles, name)
            del roles[index]
            self._write(roles)

    def duplicate(self, role: Role, new_name: str | None = None) -> Role:
        """Save a custom copy of any role (built-in or custom), named `new_name` or 'X (copy)'."""
        with self._locked():
            if new_name is None:
                new_name = copy_name(role.name, [r.name for r in [*self.builtin(), *self.list()]])
            return self.save(replace(role, name=new_name, builtin=False))

    # -- internals -------------------------------------------------------------------------------

    def _index(self, roles: list[Role], name: str) -> int:
        for i, existing in enumerate(roles):
            if _key(existing.name) == _key(name):
                return i
        if any(_key(r.name) == _key(name) for r in self.builtin()):
            raise ValueError(
                f"'{name}' is a built-in role and cannot be changed; duplicate it to edit a copy"
            )
        raise ValueError(f"there is no custom role named '{name}'")

    def _check(self, role: Role, taken: dict[str, str]) -> Role:
        """Validate the role fully (name, prompt, params); refuse a built-in name or one in `taken`."""
        stored = Role.from_dict(role.to_dict(), builtin=False)
        key = _key(stored.name)
        if any(_key(r.name) == key for r in self.builtin()):
            raise ValueError(f"a built-in role is already named '{stored.name}'; choose another name")
        if key in taken:
            raise ValueError(f"a custom role is already named '{taken[key]}'; choose another name")
        return stored

    def _locked(self) -> contextlib.AbstractContextManager[None]:
        return self._lock.hold()

    def _write(self, roles: list[Role]) -> None:
        text = _HEADER + (roles_to_yaml(roles, header=False) if roles else "version: 1\nroles: []\n")
        data = text.encode("utf-8")
        if len(data) > MAX_CUSTOM_FILE_BYTES:
            raise ValueError(
                f"the custom roles would take {len(data) / 1e6:.1f} MB, over the "
                f"{MAX_CUSTOM_FILE_BYTES // (1024 * 1024)} MB limit; delete some roles first"
            )
        stamp = atomic_write(self.path, data)
        _parsed[self._key] = (stamp, tuple(roles))  # what was just written needs no parsing


def atomic_write(path: Path, data: bytes) -> Stamp:
    """Write `data` to a temporary file beside `path`, flush it to disk, then rename it over `path`.

    Returns the new file's stamp, taken before the rename (which keeps inode, size and mtime), so a
    writer in another process that replaces it right after cannot be mistaken for this one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            with contextlib.suppress(OSError):  # keep a hand-set mode; new files stay private (0600)
                os.chmod(handle.fileno(), path.stat().st_mode & 0o777)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            stamp = _stamp(os.fstat(handle.fileno()))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return stamp


def _stamp(st: os.stat_result) -> Stamp:
    return (st.st_mtime_ns, st.st_size, st.st_ino)
