"""API keys: create (the plaintext is returned once), list, revoke, and authenticate a presented key."""
import hashlib
import hmac
import re
import secrets

from sqlalchemy import select, update

from app.db import session_scope
from app.errors import NotFound, ValidationFailed
from app.models import ApiKey, utcnow

NAMESPACE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_KEY = re.compile(r"^(bk_[0-9a-z]{8})_([A-Za-z0-9_-]{20,128})$")
_ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
# Compared against when the key id is unknown, so a miss costs the same as a wrong secret.
_NO_SUCH_HASH = hashlib.sha256(b"no such key").hexdigest()


def _digest(secret: str) -> str:
    """The stored form of a secret (256 random bits need no slow hash)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def check_namespace(namespace: str) -> str:
    """The namespace, or a validation error naming the allowed characters."""
    if not NAMESPACE_PATTERN.match(namespace or ""):
        raise ValidationFailed("A namespace is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.",
                               {"fields": {"namespace": ["Invalid namespace."]}})
    return namespace


def create_key(namespace: str) -> tuple[str, str]:
    """A new key for the namespace; returns (key id, plaintext key) — the plaintext is never stored."""
    check_namespace(namespace)
    key_id = "bk_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))
    secret = secrets.token_urlsafe(32)
    with session_scope() as session:
        session.add(ApiKey(id=key_id, namespace=namespace, secret_sha256=_digest(secret)))
    return key_id, f"{key_id}_{secret}"


def list_keys() -> list[dict]:
    """Every key, oldest first, without secrets."""
    with session_scope() as session:
        rows = session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)).all()
        return [{"key_id": k.id, "namespace": k.namespace, "created_at": k.created_at, "revoked_at": k.revoked_at}
                for k in rows]


def revoke_key(key_id: str) -> None:
    """Revoke a key at once (revoking twice is harmless); an unknown id is NotFound."""
    with session_scope() as session:
        if session.get(ApiKey, key_id) is None:
            raise NotFound(f"Key {key_id} not found.")
        session.execute(update(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
                        .values(revoked_at=utcnow()))


def authenticate(presented: str | None) -> tuple[str, str] | None:
    """(key id, namespace) for a valid, unrevoked key; None for anything else."""
    match = _KEY.match(presented or "")
    if not match:
        return None
    key_id, secret = match.groups()
    with session_scope() as session:
        row = session.get(ApiKey, key_id)
        stored = row.secret_sha256 if row is not None else _NO_SUCH_HASH
        valid = hmac.compare_digest(_digest(secret), stored)
        if row is None or not valid or row.revoked_at is not None:
            return None
        return row.id, row.namespace


def auth_disabled_banner() -> str:
    """The start-up warning of a process running with AUTH_DISABLED=1."""
    bar = "!" * 78
    return (f"{bar}\n!! AUTH IS DISABLED (AUTH_DISABLED=1): every request is trusted and X-Namespace picks the\n"
            f"!! namespace. Use this only for the embedded development stack, never where others can connect.\n{bar}")
