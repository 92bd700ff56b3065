"""Secret config fields: encryption at rest, masking, references, and log redaction.

A field is secret when the plugin's config schema marks it ``"writeOnly": true`` or
``"x-secret": true``. In the stored config its value is replaced by ``{"$secret": TOKEN}``,
a Fernet token of the JSON-encoded value, so the plain value never reaches the database.

Config values may also be references, resolved only when a session is opened (so a secret
kept in the environment or a mounted file never gets stored at all):
``{"$env": "VAR"}`` reads an environment variable, ``{"$file": "path"}`` a file's content
with trailing newlines stripped; both only as far as ``atsbridge.references`` allows.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from atsbridge_sdk.redact import forms as redact_forms
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from atsbridge.errors import AtsbridgeError, BadInput, ConfigError
from atsbridge.references import ReferencePolicy, ReferenceRefused

MASK = "••••"
SEALED = "$secret"
ENV_REF = "$env"
FILE_REF = "$file"
KEY_ENV = "ATSBRIDGE_SECRET_KEY"
KEY_FILE_NAME = "atsbridge-secret.key"

log = logging.getLogger(__name__)

Path_ = tuple[str, ...]


# --- which fields are secret -----------------------------------------------------------


def secret_paths(schema: dict) -> list[Path_]:
    """Paths (tuples of property names) of every secret field, nested objects included."""
    found: list[Path_] = []

    def walk(node: Any, prefix: Path_) -> None:
        if not isinstance(node, dict):
            return
        for name, sub in (node.get("properties") or {}).items():
            if not isinstance(sub, dict):
                continue
            path = (*prefix, name)
            if sub.get("writeOnly") is True or sub.get("x-secret") is True:
                found.append(path)
            else:
                walk(sub, path)

    walk(schema, ())
    return found


def dotted(path: Iterable[str]) -> str:
    return ".".join(path)


def get_path(config: dict, path: Path_) -> Any:
    node: Any = config
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def set_path(config: dict, path: Path_, value: Any) -> None:
    node = config
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


def _walk_values(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for v in node.values():
            yield from _walk_values(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk_values(v)


def _is_ref(value: Any, marker: str) -> bool:
    return isinstance(value, dict) and set(value) == {marker} and isinstance(value[marker], str)


def is_reference(value: Any) -> bool:
    return _is_ref(value, ENV_REF) or _is_ref(value, FILE_REF)


def has_sealed(config: Any) -> bool:
    """Whether a stored config holds at least one sealed (encrypted) value."""
    return any(isinstance(v, dict) and set(v) == {SEALED} for v in _walk_values(config))


# --- the key -------------------------------------------------------------------------------


class SecretBox:
    """Encrypts and decrypts secret values with Fernet.

    The key comes from ATSBRIDGE_SECRET_KEY (comma-separated keys: the first encrypts, all
    decrypt, which allows rotation), else from a 0600 key file in ``key_dir`` created on
    first need. Nothing touches the disk until a secret is actually sealed or opened.

    A new key would make every secret already sealed unreadable, so none is created when
    ``sealed_secrets_exist()`` says there are some (the key file went missing), nor for a
    ``shared_database`` (PostgreSQL: every host would mint its own), where the key must be
    configured. Both refusals are ``BadInput`` with one line saying what to do.
    """

    def __init__(
        self,
        key_dir: Path,
        *,
        env: Mapping[str, str] | None = None,
        shared_database: bool = False,
        sealed_secrets_exist: Callable[[], bool] | None = None,
    ):
        self.key_dir = key_dir
        self._env = os.environ if env is None else env
        self._shared = shared_database
        self._sealed_exist = sealed_secrets_exist
        self._fernet: MultiFernet | None = None
        self._lock = threading.Lock()

    @property
    def key_file(self) -> Path:
        return self.key_dir / KEY_FILE_NAME

    def _keys(self, create: bool) -> MultiFernet:
        with self._lock:
            if self._fernet is None:
                self._fernet = self._load(create)
            return self._fernet

    def _load(self, create: bool) -> MultiFernet:
        raw = self._env.get(KEY_ENV, "").strip()
        if raw:
            try:
                return MultiFernet([Fernet(k.strip()) for k in raw.split(",") if k.strip()])
            except ValueError:
                raise BadInput(
                    f"{KEY_ENV}: not a Fernet key (32 url-safe base64-encoded bytes); "
                    "make one with: python -c 'from cryptography.fernet import Fernet; "
                    "print(Fernet.generate_key().decode())'"
                ) from None
        path = self.key_file
        if not path.exists():
            if not create:
                raise AtsbridgeError(
                    f"cannot decrypt stored secrets: no {KEY_ENV} and no key file {path}"
                )
            if self._shared:
                raise BadInput(
                    f"{KEY_ENV}: required with PostgreSQL (set the same key on every host); "
                    "atsbridge does not create a key for a shared database"
                )
            if self._sealed_exist is not None and self._sealed_exist():
                raise BadInput(
                    f"{KEY_ENV}: not set and the key file {path} is missing, but stored "
                    "secrets were sealed with a key: restore that key (a new one would make "
                    "them unreadable)"
                )
            self._create_key_file(path)
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            log.warning("secret key file %s is readable by others (mode %o)", path, mode)
        try:
            return MultiFernet([Fernet(path.read_bytes().strip())])
        except ValueError:
            raise AtsbridgeError(f"secret key file {path} does not hold a Fernet key") from None

    @staticmethod
    def _create_key_file(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: when two processes race, exactly one writes and the other reads it.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        with os.fdopen(fd, "wb") as fh:
            fh.write(Fernet.generate_key())

    def encrypt(self, value: Any) -> dict:
        token = self._keys(create=True).encrypt(json.dumps(value).encode())
        return {SEALED: token.decode()}

    def decrypt(self, sealed: dict) -> Any:
        try:
            plain = self._keys(create=False).decrypt(sealed[SEALED].encode())
        except InvalidToken:
            raise AtsbridgeError(
                f"cannot decrypt stored secrets: wrong {KEY_ENV} or key file"
            ) from None
        return json.loads(plain)


# --- config transforms ----------------------------------------------------------------------


def _copy(config: dict) -> dict:
    return json.loads(json.dumps(config))


def seal(config: dict, schema: dict, box: SecretBox) -> dict:
    """A copy of ``config`` with every secret field's value encrypted."""
    out = _copy(config)
    for path in secret_paths(schema):
        value = get_path(out, path)
        already = isinstance(value, dict) and SEALED in value
        # A reference names where the secret lives; it is not one, so it stays readable.
        if value is not None and not already and not is_reference(value):
            set_path(out, path, box.encrypt(value))
    return out


def unseal(config: dict, box: SecretBox) -> dict:
    """A copy of a stored config with every sealed value decrypted (and registered)."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {SEALED}:
                value = box.decrypt(node)
                REDACTOR.register_all(value)
                return value
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(config)


def mask(config: dict, schema: dict | None = None) -> dict:
    """A copy safe to show: sealed values and schema-secret fields become ``MASK``.

    References stay visible (they name where the secret lives, not the secret).
    """

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {SEALED}:
                return MASK
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    out = walk(config)
    for path in secret_paths(schema or {}):
        value = get_path(out, path)
        if value is not None and not is_reference(value):
            set_path(out, path, MASK)
    return out


def resolve_references(
    config: dict, *, prefix: str = "config", policy: ReferencePolicy | None = None
) -> dict:
    """A copy with ``$env``/``$file`` references replaced by their values.

    ``policy`` says which references may be resolved (default: the operator's settings,
    see ``atsbridge.references``). Raises ``ConfigError`` naming every reference that is
    refused or cannot be resolved (never a value).
    """
    out, problems = resolve_leniently(config, prefix=prefix, policy=policy)
    if problems:
        raise ConfigError(problems)
    return out


_UNRESOLVED = object()


def resolve_leniently(
    config: dict, *, prefix: str = "config", policy: ReferencePolicy | None = None
) -> tuple[dict, list[str]]:
    """Like ``resolve_references`` but drops what cannot be resolved and lists why."""
    problems: list[str] = []
    rules = policy if policy is not None else ReferencePolicy.from_settings()

    def resolve(node: dict, path: str) -> Any:
        try:
            if _is_ref(node, ENV_REF):
                var = node[ENV_REF]
                value = rules.env_value(var)
                if value is None:
                    problems.append(f"{path}: environment variable {var} is not set")
                    return _UNRESOLVED
            else:
                value = rules.file_text(node[FILE_REF])
        except ReferenceRefused as exc:
            problems.append(f"{path}: {exc.reason}")
            return _UNRESOLVED
        REDACTOR.register(value)
        return value

    def walk(node: Any, path: str) -> Any:
        if is_reference(node):
            return resolve(node, path)
        if isinstance(node, dict):
            items = ((k, walk(v, f"{path}.{k}")) for k, v in node.items())
            return {k: v for k, v in items if v is not _UNRESOLVED}
        if isinstance(node, list):
            return [walk(v, f"{path}[{i}]") for i, v in enumerate(node)]
        return node

    return walk(config, prefix), problems


def register_secrets(config: dict, schema: dict) -> None:
    """Register a plain config's secret values with the log redactor."""
    for path in secret_paths(schema):
        REDACTOR.register_all(get_path(config, path))


# --- redaction -------------------------------------------------------------------------------


class SecretRedactor(logging.Filter):
    """Replaces every registered secret value in log records (message, args, traceback).

    Installed on the CLI's handlers; values are registered as they are decrypted or
    resolved, so whatever a plugin or library logs, a known secret never reaches output.
    """

    MIN_LENGTH = 4  # shorter values would redact ordinary words and digits

    def __init__(self) -> None:
        super().__init__()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def register(self, value: str) -> None:
        if not isinstance(value, str) or len(value) < self.MIN_LENGTH:
            return
        with self._lock:
            if value not in self._values:
                # Its escaped and URL-encoded forms too: an ATS may echo it inside JSON.
                self._values.update(redact_forms(value))
                ordered = sorted(self._values, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(v) for v in ordered))

    def register_all(self, value: Any) -> None:
        for v in _walk_values(value):
            if isinstance(v, str):
                self.register(v)

    def redact(self, text: str) -> str:
        pattern = self._pattern
        return pattern.sub(MASK, text) if pattern is not None else text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._pattern is None:
            return True
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        record.msg, record.args = self.redact(message), None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = self.redact(text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


REDACTOR = SecretRedactor()


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Attach the redactor to ``logger`` (root by default) and each of its handlers."""
    target = logger or logging.getLogger()
    for f in (target, *target.handlers):
        if REDACTOR not in f.filters:
            f.addFilter(REDACTOR)
