"""Which ``$env``/``$file`` config references may be resolved: opt-in and bounded.

A config value ``{"$env": "VAR"}`` or ``{"$file": "PATH"}`` is resolved in this process
and then sent to whatever URL the config names. Resolving any name or path would let a
config exfiltrate the host's own secrets (its key, its database URL), so both kinds are
off until the operator allows them:

- ``ATSBRIDGE_CONFIG_ENV_PREFIX=ACME_ATS_``: ``$env`` may name only variables starting with
  that prefix, and never one of atsbridge's own (``ATSBRIDGE_*``);
- ``ATSBRIDGE_CONFIG_FILE_DIR=/run/secrets``: ``$file`` may name only regular files inside
  that directory (after following symlinks; a relative path is relative to it), at most
  ``MAX_FILE_BYTES``, and never atsbridge's key file or database.

Configs submitted through the product HTTP API refuse references whatever these say
(``ReferencePolicy.refuse_all``; see ``ConnectionService.connect(allow_references=...)``).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs

__all__ = [
    "ENV_PREFIX_SETTING",
    "FILE_DIR_SETTING",
    "MAX_FILE_BYTES",
    "ReferencePolicy",
    "ReferenceRefused",
]

ENV_PREFIX_SETTING = "ATSBRIDGE_CONFIG_ENV_PREFIX"
FILE_DIR_SETTING = "ATSBRIDGE_CONFIG_FILE_DIR"
MAX_FILE_BYTES = 64 * 1024
# atsbridge's own settings (the key, the database URL with its password) are never a config's.
_OWN_PREFIX = "ATSBRIDGE_"


class ReferenceRefused(Exception):
    """A reference the policy does not allow; ``reason`` is one line without any value."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@attrs.frozen
class ReferencePolicy:
    """What may be resolved. ``None`` for a kind means references of that kind are refused.

    ``protected_files`` are never read even inside ``file_dir`` (the key file, the SQLite
    database and its journals).
    """

    env_prefix: str | None = None
    file_dir: Path | None = None
    protected_files: tuple[Path, ...] = ()
    # Why references are refused altogether (e.g. "through the HTTP API"); None = by setting.
    refused_because: str | None = None

    @classmethod
    def refuse_all(cls, because: str) -> ReferencePolicy:
        return cls(refused_because=because)

    @classmethod
    def from_settings(
        cls, environ: Mapping[str, str] | None = None, *, protected: Iterable[Path] = ()
    ) -> ReferencePolicy:
        env = os.environ if environ is None else environ
        prefix = env.get(ENV_PREFIX_SETTING, "").strip() or None
        raw_dir = env.get(FILE_DIR_SETTING, "").strip()
        file_dir = Path(raw_dir).expanduser() if raw_dir else None
        return cls(env_prefix=prefix, file_dir=file_dir, protected_files=tuple(protected))

    def env_value(self, name: str, environ: Mapping[str, str] | None = None) -> str | None:
        """The variable's value (None when unset), or ``ReferenceRefused``."""
        if self.refused_because:
            raise ReferenceRefused(f"$env references are not accepted {self.refused_because}")
        if self.env_prefix is None:
            raise ReferenceRefused(
                f"$env references are disabled (set {ENV_PREFIX_SETTING} to allow "
                "variables under a prefix)"
            )
        if name.upper().startswith(_OWN_PREFIX):
            raise ReferenceRefused(f"$env may not name atsbridge's own setting {name}")
        if not name.startswith(self.env_prefix):
            raise ReferenceRefused(
                f"$env may only name variables starting with {self.env_prefix} "
                f"({ENV_PREFIX_SETTING})"
            )
        env = os.environ if environ is None else environ
        return env.get(name)

    def file_text(self, name: str) -> str:
        """The file's text with trailing newlines stripped, or ``ReferenceRefused``."""
        if self.refused_because:
            raise ReferenceRefused(f"$file references are not accepted {self.refused_because}")
        if self.file_dir is None:
            raise ReferenceRefused(
                f"$file references are disabled (set {FILE_DIR_SETTING} to allow files "
                "in one directory)"
            )
        if "\x00" in name:
            raise ReferenceRefused("$file: the path contains a NUL character")
        base = self.file_dir.resolve()
        try:
            path = (base / Path(name).expanduser()).resolve(strict=True)
        except (OSError, RuntimeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "unusable"
            raise ReferenceRefused(f"cannot read file {name}: {reason}") from None
        if not path.is_relative_to(base):
            raise ReferenceRefused(f"$file may only name files inside {base} ({FILE_DIR_SETTING})")
        if any(_same_file(path, p) for p in self.protected_files):
            raise ReferenceRefused(f"$file may not name atsbridge's own key or database ({name})")
        return _read_bounded(path, name)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a == b.resolve() or os.path.samefile(a, b)
    except OSError:
        return False


def _read_bounded(path: Path, name: str) -> str:
    try:
        # O_NOFOLLOW: the path was resolved above, so a symlink swapped in since is refused;
        # O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused just below).
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(path, flags)
    except OSError as exc:
        raise ReferenceRefused(f"cannot read file {name}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise ReferenceRefused(f"$file may only name a regular file ({name})")
        data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ReferenceRefused(f"file {name} is larger than {MAX_FILE_BYTES} bytes")
    try:
        return data.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise ReferenceRefused(f"cannot read file {name}: not UTF-8 text") from None
