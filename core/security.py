"""Password hashing (Argon2id, argon2-cffi) and encryption of secrets at rest (Fernet)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

_hasher = PasswordHasher()

# Compared against when the e-mail is unknown, so that a login attempt costs the same time
# whether or not the account exists (no user enumeration by timing).
_DUMMY_HASH = _hasher.hash("rayonne-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token(nbytes: int = 32) -> str:
    """A random url-safe token (invitations, API tokens, feed URLs)."""
    return secrets.token_urlsafe(nbytes)


def hash_token(token: str) -> str:
    """Tokens are stored as SHA-256 digests: a leaked database does not leak usable tokens."""
    return hashlib.sha256(token.encode()).hexdigest()


def tokens_match(token: str, digest: str) -> bool:
    return hmac.compare_digest(hash_token(token), digest)


def _fernet() -> Fernet:
    return Fernet(current_app.config["RAYONNE_SETTINGS"].encryption_key().encode())


def encrypt(value: str) -> str:
    """Encrypt a secret (Facebook token, app secret) with RAYONNE_ENCRYPTION_KEY."""
    return _fernet().encrypt(value.encode()).decode()


def decrypt(value: str) -> str:
    """Decrypt a secret; a key change makes old values unreadable (the admin reconnects)."""
    try:
        return _fernet().decrypt(value.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("secret cannot be decrypted with the current RAYONNE_ENCRYPTION_KEY") from exc
