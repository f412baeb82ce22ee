"""The web process refuses AUTH_DISABLED=1 on an address other machines can reach, unless told explicitly."""
import logging

import pytest

from app import serving
from app.settings import load_settings


def settings(**env):
    """Settings from exactly this environment."""
    return load_settings(environ={k: str(v) for k, v in env.items()})


@pytest.mark.parametrize("address", [("127.0.0.1", 8000), ("::1", 8000), ("[::1]", 8000), ("localhost", 80),
                                     ("127.0.0.2", 8000), "/run/batchery.sock"])
def test_loopback_and_unix_sockets_are_local(address):
    assert serving.is_loopback(address)
    assert serving.unauthenticated_bind_refusal([address], settings(AUTH_DISABLED=1)) is None


@pytest.mark.parametrize("address", [("0.0.0.0", 8000), ("", 8000), ("::", 8000), ("10.0.0.5", 8000),
                                     ("example.com", 80)])
def test_a_reachable_bind_without_auth_is_refused(address):
    assert not serving.is_loopback(address)
    refusal = serving.unauthenticated_bind_refusal([("127.0.0.1", 1), address], settings(AUTH_DISABLED=1))
    assert "ALLOW_UNAUTHENTICATED_BIND=1" in refusal and f"{address[0]}:{address[1]}" in refusal
    assert serving.unauthenticated_bind_refusal([address], settings()) is None  # auth on: any bind is fine
    assert serving.unauthenticated_bind_refusal(
        [address], settings(AUTH_DISABLED=1, ALLOW_UNAUTHENTICATED_BIND=1)) is None


class FakeServer:
    """What gunicorn hands on_starting: its configured addresses and its logger."""

    def __init__(self, *addresses):
        self.cfg = type("Cfg", (), {"address": list(addresses)})()
        self.log = logging.getLogger("gunicorn.error.test")


def test_on_starting_exits_or_warns_loudly(monkeypatch, caplog):
    monkeypatch.setenv("AUTH_DISABLED", "1")
    monkeypatch.delenv("ALLOW_UNAUTHENTICATED_BIND", raising=False)
    with pytest.raises(SystemExit) as exited:
        serving.on_starting(FakeServer(("0.0.0.0", 8000)))
    assert exited.value.code == 1 and "refusing to start" in caplog.text

    monkeypatch.setenv("ALLOW_UNAUTHENTICATED_BIND", "1")
    caplog.clear()
    serving.on_starting(FakeServer(("0.0.0.0", 8000)))
    assert "WITHOUT authentication" in caplog.text and "AUTH IS DISABLED" in caplog.text

    caplog.clear()
    monkeypatch.delenv("ALLOW_UNAUTHENTICATED_BIND")
    serving.on_starting(FakeServer(("127.0.0.1", 8000)))
    assert caplog.text == ""


def test_slow_client_timeouts_are_whole_positive_seconds(monkeypatch):
    monkeypatch.delenv("WEB_READ_TIMEOUT", raising=False)
    assert serving._seconds("WEB_READ_TIMEOUT", "30") == 30
    monkeypatch.setenv("WEB_READ_TIMEOUT", "7")
    assert serving._seconds("WEB_READ_TIMEOUT", "30") == 7
    monkeypatch.setenv("WEB_READ_TIMEOUT", "0")  # 0 would mean no timeout at all: refused, not silently allowed
    with pytest.raises(ValueError, match="WEB_READ_TIMEOUT must be at least 1 second"):
        serving._seconds("WEB_READ_TIMEOUT", "30")
    assert serving.keepalive == serving.HEADER_TIMEOUT  # gunicorn's header deadline is the header timeout
