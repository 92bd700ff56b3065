"""``$env``/``$file`` references are opt-in and bounded: no config can read the host's secrets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from atsbridge.api import Atsbridge
from atsbridge.errors import ConfigError
from atsbridge.references import MAX_FILE_BYTES, ReferencePolicy
from atsbridge.secrets import KEY_FILE_NAME, resolve_references
from fakeats import GOOD_KEY, FakeAts

GOOD = {"api_key": GOOD_KEY, "account": "acme-co"}


def _problems(app: Atsbridge, config: dict, **kwargs: bool) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        app.connections.connect("acme", "fakeats", {**GOOD, **config}, **kwargs)
    return exc.value.problems


def test_references_are_refused_until_the_operator_allows_them(
    registry, fake: FakeAts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GH_KEY", GOOD_KEY)
    (tmp_path / "key.txt").write_text(GOOD_KEY)
    with Atsbridge(db=f"sqlite:///{tmp_path / 'a.db'}", registry=registry) as app:
        assert _problems(app, {"api_key": {"$env": "GH_KEY"}}) == [
            "config.api_key: $env references are disabled (set ATSBRIDGE_CONFIG_ENV_PREFIX "
            "to allow variables under a prefix)"
        ]
        assert _problems(app, {"api_key": {"$file": str(tmp_path / "key.txt")}}) == [
            "config.api_key: $file references are disabled (set ATSBRIDGE_CONFIG_FILE_DIR "
            "to allow files in one directory)"
        ]
    assert fake.sessions == []  # nothing was resolved, so nothing reached the ATS


def test_the_host_key_and_database_cannot_be_exfiltrated(
    registry, fake: FakeAts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("ATSBRIDGE_SECRET_KEY_BACKUP", "x" * 44)
    # The operator allows the very directory the key and the database live in, and a prefix
    # that covers atsbridge's own variables: still neither may be read.
    monkeypatch.setenv("ATSBRIDGE_CONFIG_FILE_DIR", str(data))
    monkeypatch.setenv("ATSBRIDGE_CONFIG_ENV_PREFIX", "ATSBRIDGE_")
    with Atsbridge(db=f"sqlite:///{data / 'atsbridge.db'}", registry=registry) as app:
        app.connections.connect("acme", "fakeats", GOOD)  # seals a secret: the key file exists
        key_file = data / KEY_FILE_NAME
        assert key_file.exists()
        (data / "alias").symlink_to(key_file)
        for ref in (str(key_file), KEY_FILE_NAME, "alias", "atsbridge.db", "./atsbridge.db"):
            (problem,) = _problems(app, {"api_key": {"$file": ref}})
            assert "may not name atsbridge's own key or database" in problem, ref
        for var in ("ATSBRIDGE_SECRET_KEY", "ATSBRIDGE_SECRET_KEY_BACKUP", "ATSBRIDGE_DB"):
            assert _problems(app, {"api_key": {"$env": var}}) == [
                f"config.api_key: $env may not name atsbridge's own setting {var}"
            ]
    assert len(fake.sessions) == 1  # only the plain connect above opened a session


def test_allowed_references_are_bounded_to_their_prefix_and_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    (secrets_dir / "gh.txt").write_text("from-file-1234\n")
    (tmp_path / "outside.txt").write_text("not yours")
    (secrets_dir / "escape").symlink_to(tmp_path / "outside.txt")
    (secrets_dir / "huge").write_bytes(b"a" * (MAX_FILE_BYTES + 1))
    os.mkfifo(secrets_dir / "pipe")  # would block a plain read forever
    monkeypatch.setenv("ACME_GH", "from-env-1234")
    monkeypatch.setenv("OTHER", "not-yours-1234")
    policy = ReferencePolicy(env_prefix="ACME_", file_dir=secrets_dir)
    assert resolve_references(
        {"a": {"$env": "ACME_GH"}, "b": {"$file": "gh.txt"}}, policy=policy
    ) == {"a": "from-env-1234", "b": "from-file-1234"}
    with pytest.raises(ConfigError) as exc:
        resolve_references(
            {
                "a": {"$env": "OTHER"},
                "b": {"$file": "../outside.txt"},
                "c": {"$file": "escape"},
                "d": {"$file": "huge"},
                "e": {"$file": "pipe"},
                "f": {"$file": "/etc/passwd"},
            },
            policy=policy,
        )
    inside = f"$file may only name files inside {secrets_dir.resolve()} (ATSBRIDGE_CONFIG_FILE_DIR)"
    assert exc.value.problems == [
        "config.a: $env may only name variables starting with ACME_ (ATSBRIDGE_CONFIG_ENV_PREFIX)",
        f"config.b: {inside}",
        f"config.c: {inside}",
        f"config.d: file huge is larger than {MAX_FILE_BYTES} bytes",
        "config.e: $file may only name a regular file (pipe)",
        f"config.f: {inside}",
    ]


def test_allow_references_false_refuses_whatever_the_settings_say(
    registry, fake: FakeAts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_KEY", GOOD_KEY)
    monkeypatch.setenv("ATSBRIDGE_CONFIG_ENV_PREFIX", "ACME_")
    with Atsbridge(db=f"sqlite:///{tmp_path / 'a.db'}", registry=registry) as app:
        ref = {"api_key": {"$env": "ACME_KEY"}}
        assert _problems(app, ref, allow_references=False) == [
            "config.api_key: $env references are not accepted through this interface"
        ]
        with pytest.raises(ConfigError):
            app.connections.validate("fakeats", {**GOOD, **ref}, allow_references=False)
        assert fake.sessions == []
        app.connections.connect("acme", "fakeats", {**GOOD, **ref})  # the operator's CLI may
        assert fake.sessions[-1].config["api_key"] == GOOD_KEY
