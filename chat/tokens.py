"""API token format, pure: make, parse and check tokens; no database here.

A token is `chat_<key id>_<secret>`: a fixed prefix (so secret scanners and people can tell
what it is, as GitHub's `ghp_` does), a public key id of 12 hex digits that finds the row,
and a secret of 32 random bytes (43 URL-safe base64 characters). Only the SHA-256 of the
secret is stored, and it is compared with hmac.compare_digest. A 256-bit random secret needs
no slow password hash (nobody can guess it, so there is nothing to stretch): this is the
scheme of GitHub's tokens and of django-rest-knox (docs/security.md).
"""

import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass

__all__ = [
    "PREFIX", "MAX_NAME", "ParsedToken", "InvalidName", "new_token", "parse", "digest",
    "matches", "clean_name", "bearer",
]  # fmt: skip

PREFIX = "chat_"
KEY_ID_HEX = 12
SECRET_BYTES = 32
MAX_NAME = 64
MAX_HEADER = 200  # a token is 61 characters; anything much longer is not one
_TOKEN = re.compile(rf"{PREFIX}([0-9a-f]{{{KEY_ID_HEX}}})_([A-Za-z0-9_-]{{43}})\Z")


@dataclass(frozen=True)
class ParsedToken:
    key_id: str
    secret: str


class InvalidName(ValueError):
    """A token name that is missing, too long, or holds characters a name cannot hold."""


def digest(secret):
    """The hex SHA-256 of a token's secret: what the database stores."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def new_token():
    """(token text, key id, digest of its secret) for a new, random token."""
    key_id = secrets.token_hex(KEY_ID_HEX // 2)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return f"{PREFIX}{key_id}_{secret}", key_id, digest(secret)


def parse(text):
    """ParsedToken when text has a token's form, else None (never raises)."""
    if not isinstance(text, str) or len(text) > MAX_HEADER:
        return None
    found = _TOKEN.match(text)
    return ParsedToken(found.group(1), found.group(2)) if found else None


def matches(parsed, stored_digest):
    """True when parsed's secret is the one whose digest is stored (constant time)."""
    return hmac.compare_digest(digest(parsed.secret), stored_digest)


def clean_name(value):
    """A token's name, stripped: 1..64 characters, no control characters and no '/' (the
    name is the last part of DELETE /api/tokens/<name>); InvalidName otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidName("'name' is required: 1 to 64 characters.")
    name = value.strip()
    if len(name) > MAX_NAME:
        raise InvalidName(f"'name' is over {MAX_NAME} characters.")
    if "/" in name or any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name):
        raise InvalidName("'name' must not contain '/' or control characters.")
    return name


def bearer(header):
    """The credentials of an `Authorization: Bearer <credentials>` header value (str), or
    None when the header is absent or uses another scheme; '' for a Bearer without any."""
    if not header:
        return None
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip()
