"""Staff users of the web console: create, list, delete, check a password.

Passwords are hashed with scrypt (standard library, memory-hard): unlike API keys, a
password is chosen by a person and can be guessed, so each check must cost. The stored
string carries its parameters, so the cost can rise later without a migration.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import hmac
import re
import secrets
from datetime import datetime
from typing import Any

import attrs
from sqlmodel import col, delete, select

from atsbridge.errors import BadInput, NotFound
from atsbridge.services.base import Service
from atsbridge.store.tables import ConsoleSession, ConsoleUser

__all__ = ["ConsoleUserService", "UserView", "hash_password", "verify_password"]

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
# n=2**14, r=8: 16 MiB and some 50 ms per check on a small server.
_N, _R, _P = 2**14, 8, 1


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        given = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=2**26,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(given, expected)


# Checked when the user is unknown too, so the answer's time does not tell who exists.
_DUMMY = hash_password(secrets.token_hex(16))


@attrs.frozen
class UserView:
    id: int
    username: str
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"username": self.username, "created_at": self.created_at.isoformat()}


def _view(row: ConsoleUser) -> UserView:
    assert row.id is not None
    return UserView(id=row.id, username=row.username, created_at=row.created_at)


def check_username(username: str) -> str:
    if not _USERNAME.match(username):
        raise BadInput(
            "username: 1 to 64 letters, digits or . _ @ -, starting with a letter or digit"
        )
    return username


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise BadInput(f"password: must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


class ConsoleUserService(Service):
    """The staff who may sign in to ``/console``."""

    def create(self, username: str, password: str) -> UserView:
        """Store a user; BadInput for a bad name or password, or a name already taken."""
        check_username(username)
        check_password(password)
        with self.store.system_session() as session:
            taken = session.exec(select(ConsoleUser).where(ConsoleUser.username == username))
            if taken.first() is not None:
                raise BadInput(f"username: {username!r} already exists")
            row = ConsoleUser(
                username=username, password_hash=hash_password(password), created_at=self.now()
            )
            session.add(row)
            session.flush()
            return _view(row)

    def list(self) -> builtins.list[UserView]:
        with self.store.system_session() as session:
            rows = session.exec(select(ConsoleUser).order_by(col(ConsoleUser.username)))
            return [_view(r) for r in rows]

    def delete(self, username: str) -> UserView:
        """Remove the user and end their sessions at once. NotFound when unknown."""
        with self.store.system_session() as session:
            row = session.exec(select(ConsoleUser).where(ConsoleUser.username == username)).first()
            if row is None:
                raise NotFound(f"no console user {username!r}")
            view = _view(row)
            # Explicit: SQLite enforces ON DELETE CASCADE only with foreign keys switched on.
            session.exec(delete(ConsoleSession).where(col(ConsoleSession.user_id) == row.id))  # type: ignore[call-overload]
            session.delete(row)
            return view

    def authenticate(self, username: str, password: str) -> UserView | None:
        """The user when the password is theirs; None otherwise (same cost either way)."""
        with self.store.system_session() as session:
            row = session.exec(select(ConsoleUser).where(ConsoleUser.username == username)).first()
            stored = row.password_hash if row is not None else _DUMMY
            ok = verify_password(password[:MAX_PASSWORD], stored)
            return _view(row) if ok and row is not None else None
