"""Secrets handed out once and stored only as a hash: API keys and wallboard links.

A token is 256 random bits in url-safe text (43 characters, after any prefix). Because it is
that random, a fast unsalted SHA-256 is enough to store it by: there is nothing to brute-force,
and the database never holds a working secret.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32


def new_token(prefix: str = "") -> str:
    """A fresh token: `prefix` and 256 random bits as url-safe base64 (43 characters)."""
    return prefix + secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """The SHA-256 of `token` in hex: what is stored and looked up instead of the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
