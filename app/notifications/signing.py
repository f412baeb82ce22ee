"""Webhook secrets and the `Batchery-Signature` HMAC that receivers verify."""
import hashlib
import hmac
import secrets


def new_webhook_secret() -> str:
    """A fresh random signing secret, shown to the client once."""
    return "whsec_" + secrets.token_urlsafe(32)


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    """`t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"
