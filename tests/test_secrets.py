"""Secret fields: sealing, masking, references, key handling, log redaction."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest
from atsbridge.errors import AtsbridgeError, BadInput, ConfigError
from atsbridge.secrets import (
    KEY_FILE_NAME,
    MASK,
    SecretBox,
    SecretRedactor,
    mask,
    resolve_references,
    seal,
    secret_paths,
    unseal,
)
from cryptography.fernet import Fernet

SCHEMA = {
    "type": "object",
    "properties": {
        "api_key": {"type": "string", "writeOnly": True},
        "user": {"type": "string"},
        "oauth": {
            "type": "object",
            "properties": {
                "client_id": {"type": "string"},
                "client_secret": {"type": "string", "x-secret": True},
            },
        },
    },
}


def test_secret_paths_include_nested_fields() -> None:
    assert secret_paths(SCHEMA) == [("api_key",), ("oauth", "client_secret")]


def test_seal_unseal_mask_round_trip(tmp_path: Path) -> None:
    box = SecretBox(tmp_path)
    config = {
        "api_key": "k-123456",
        "user": "ada",
        "oauth": {"client_id": "c", "client_secret": "s-98765"},
    }
    sealed = seal(config, SCHEMA, box)
    assert sealed["user"] == "ada" and sealed["oauth"]["client_id"] == "c"
    assert set(sealed["api_key"]) == {"$secret"}
    assert "k-123456" not in repr(sealed) and "s-98765" not in repr(sealed)
    assert unseal(sealed, box) == config
    assert seal(sealed, SCHEMA, box) == sealed  # sealing twice does not double-encrypt
    shown = mask(sealed)
    assert shown == {
        "api_key": MASK,
        "user": "ada",
        "oauth": {"client_id": "c", "client_secret": MASK},
    }
    assert mask(config, SCHEMA) == shown


def test_references_stay_readable_and_are_not_sealed(tmp_path: Path) -> None:
    box = SecretBox(tmp_path)
    config = {"api_key": {"$env": "GH_KEY"}, "user": "ada"}
    sealed = seal(config, SCHEMA, box)
    assert sealed == config
    assert mask(sealed, SCHEMA) == config
    assert not (tmp_path / KEY_FILE_NAME).exists()  # nothing to encrypt, no key made


def test_key_file_is_created_0600_on_first_use(tmp_path: Path) -> None:
    box = SecretBox(tmp_path / "keys")
    token = box.encrypt("v")
    key_file = tmp_path / "keys" / KEY_FILE_NAME
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert SecretBox(tmp_path / "keys").decrypt(token) == "v"


def test_env_key_wins_and_supports_rotation(tmp_path: Path) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = SecretBox(tmp_path, env={"ATSBRIDGE_SECRET_KEY": old}).encrypt("v")
    rotated = SecretBox(tmp_path, env={"ATSBRIDGE_SECRET_KEY": f"{new},{old}"})
    assert rotated.decrypt(token) == "v"
    assert SecretBox(tmp_path, env={"ATSBRIDGE_SECRET_KEY": new}).decrypt(rotated.encrypt(1)) == 1
    assert not (tmp_path / KEY_FILE_NAME).exists()


def test_bad_env_key_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="ATSBRIDGE_SECRET_KEY: not a Fernet key"):
        SecretBox(tmp_path, env={"ATSBRIDGE_SECRET_KEY": "short"}).encrypt("v")


def test_wrong_key_fails_clearly_without_token(tmp_path: Path) -> None:
    token = SecretBox(tmp_path / "a").encrypt("v")
    SecretBox(tmp_path / "b").encrypt("x")  # a different key file
    with pytest.raises(AtsbridgeError, match="wrong ATSBRIDGE_SECRET_KEY or key file") as exc:
        SecretBox(tmp_path / "b").decrypt(token)
    assert token["$secret"] not in str(exc.value)


def test_missing_key_file_on_decrypt(tmp_path: Path) -> None:
    token = SecretBox(tmp_path / "a").encrypt("v")
    with pytest.raises(AtsbridgeError, match="no ATSBRIDGE_SECRET_KEY and no key file"):
        SecretBox(tmp_path / "empty").decrypt(token)


def test_resolve_env_and_file_references(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_KEY", "from-env-123")
    monkeypatch.setenv("ATSBRIDGE_CONFIG_ENV_PREFIX", "FAKE_")
    monkeypatch.setenv("ATSBRIDGE_CONFIG_FILE_DIR", str(tmp_path))
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("from-file-456\n")
    config = {
        "api_key": {"$env": "FAKE_KEY"},
        "oauth": {"client_secret": {"$file": str(secret_file)}},
    }
    assert resolve_references(config) == {
        "api_key": "from-env-123",
        "oauth": {"client_secret": "from-file-456"},
    }


def test_unresolvable_references_are_all_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATSBRIDGE_CONFIG_ENV_PREFIX", "NOT_")
    monkeypatch.setenv("ATSBRIDGE_CONFIG_FILE_DIR", str(tmp_path))
    config = {"a": {"$env": "NOT_SET_ANYWHERE"}, "b": [{"$file": str(tmp_path / "missing")}]}
    with pytest.raises(ConfigError) as exc:
        resolve_references(config)
    assert exc.value.problems == [
        "config.a: environment variable NOT_SET_ANYWHERE is not set",
        f"config.b[0]: cannot read file {tmp_path / 'missing'}: No such file or directory",
    ]


def test_redactor_scrubs_messages_args_and_tracebacks() -> None:
    redactor = SecretRedactor()
    redactor.register("hunter2-secret")
    redactor.register("abc")  # too short to redact safely: ignored
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "key=%s abc", ("hunter2-secret",), None
    )
    try:
        raise ValueError("boom hunter2-secret")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    assert redactor.filter(record)
    assert record.getMessage() == f"key={MASK} abc"
    assert "hunter2-secret" not in (record.exc_text or "")
    assert "boom" in (record.exc_text or "")
    assert redactor.redact("a hunter2-secret b") == f"a {MASK} b"
