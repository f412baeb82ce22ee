"""API keys: hashed storage, authentication, revocation, and the `batchery keys` commands."""
import pytest
from sqlalchemy import select

from app.cli import main
from app.db import session_scope
from app.errors import NotFound, ValidationFailed
from app.models import ApiKey
from app.access import keys


@pytest.fixture
def database(app):
    """An app's database (the app fixture configures settings and creates the tables)."""
    return app


def test_key_has_a_visible_prefix_and_only_its_hash_is_stored(database):
    key_id, plaintext = keys.create_key("team-a")
    assert key_id.startswith("bk_") and len(key_id) == 11
    assert plaintext.startswith(key_id + "_") and len(plaintext) > 40
    with session_scope() as session:
        row = session.get(ApiKey, key_id)
        stored = [str(v) for v in (row.id, row.namespace, row.secret_sha256)]
    secret = plaintext[len(key_id) + 1:]
    assert all(secret not in value for value in stored)
    assert keys.authenticate(plaintext) == (key_id, "team-a")


def test_wrong_unknown_malformed_and_revoked_keys_do_not_authenticate(database):
    key_id, plaintext = keys.create_key("team-a")
    assert keys.authenticate(plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")) is None
    assert keys.authenticate("bk_zzzzzzzz_" + plaintext.split("_", 2)[2]) is None
    for junk in ["", "bk_", "not-a-key", key_id, plaintext + "\x00", "x" * 5000]:
        assert keys.authenticate(junk) is None
    keys.revoke_key(key_id)
    keys.revoke_key(key_id)  # twice is harmless
    assert keys.authenticate(plaintext) is None
    with pytest.raises(NotFound):
        keys.revoke_key("bk_00000000")


def test_namespace_must_be_a_plain_name(database):
    for bad in ["", "a b", "../x", "-lead", "x" * 65]:
        with pytest.raises(ValidationFailed):
            keys.create_key(bad)


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    """The CLI reads settings from the environment: point it at a fresh data directory."""
    monkeypatch.setenv("BATCHERY_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["db", "upgrade"]) == 0   # as a deployment's release step does
    yield
    from app import db
    db.dispose_engine()


def test_keys_cli_create_list_revoke(cli_env, capsys):
    assert main(["keys", "create", "team-a"]) == 0
    plaintext = capsys.readouterr().out.strip().splitlines()[-1]
    assert plaintext.startswith("bk_") and " " not in plaintext
    assert main(["keys", "create", "team-b"]) == 0
    capsys.readouterr()

    assert main(["keys", "list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    first = lines[0].split("\t")
    assert first[0] == plaintext[:11] and first[1] == "team-a" and first[3] == "-"
    assert plaintext not in "\n".join(lines) and plaintext[12:] not in "\n".join(lines)

    assert main(["keys", "revoke", first[0]]) == 0
    capsys.readouterr()
    main(["keys", "list"])
    revoked = capsys.readouterr().out.strip().splitlines()[0].split("\t")
    assert revoked[0] == first[0] and revoked[3] != "-"
    assert keys.authenticate(plaintext) is None


def test_keys_cli_refusals_exit_1_with_a_message(cli_env, capsys):
    assert main(["keys", "create", "bad namespace"]) == 1
    assert "namespace" in capsys.readouterr().err
    assert main(["keys", "revoke", "bk_00000000"]) == 1
    assert "not found" in capsys.readouterr().err


def test_batchery_up_prints_the_auth_disabled_banner(tmp_path, monkeypatch, capsys):
    import signal
    import sys

    import app.cli as cli

    monkeypatch.setenv("BATCHERY_DATA_DIR", str(tmp_path / "up"))
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # no private Redis
    monkeypatch.delenv("AUTH_DISABLED", raising=False)
    monkeypatch.setattr(cli, "_children", lambda *a: {"web": [sys.executable, "-c", "pass"]})
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        assert cli.main(["up", "--port", "1"]) == 1  # the stand-in child exits at once
    finally:
        signal.signal(signal.SIGINT, handlers[0])
        signal.signal(signal.SIGTERM, handlers[1])
    assert "AUTH IS DISABLED" in capsys.readouterr().err
