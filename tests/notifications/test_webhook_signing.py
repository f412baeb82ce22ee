"""The Batchery-Signature header: HMAC-SHA256(secret, "<t>.<body>") in hex, as receivers verify it."""
import hashlib
import hmac

from app.notifications.signing import new_webhook_secret, signature_header
from tests.webhook_receiver import verify_signature


def test_signature_is_hmac_of_timestamp_dot_body():
    body = b'{"event_id":"evt_1","type":"batch.completed"}'
    header = signature_header("whsec_test", body, 1700000000)
    expected = hmac.new(b"whsec_test", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify_signature("whsec_test", header, body)


def test_a_changed_body_secret_or_timestamp_does_not_verify():
    body = b'{"a":1}'
    header = signature_header("whsec_one", body, 1700000000)
    assert not verify_signature("whsec_one", header, b'{"a":2}')
    assert not verify_signature("whsec_two", header, body)
    assert not verify_signature("whsec_one", header.replace("t=1700000000", "t=1700000001"), body)


def test_generated_secrets_are_unique_and_prefixed():
    secrets = {new_webhook_secret() for _ in range(50)}
    assert len(secrets) == 50 and all(s.startswith("whsec_") and len(s) > 40 for s in secrets)
