"""Secrets at rest: what Pipeday must read back (webhook signing secrets) is stored encrypted
with a Fernet key from PIPEDAY_SECRET_KEY; what it only compares (API keys) is hashed instead."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

from bot.settings import ConfigurationError

SECRET_KEY_VARIABLE = "PIPEDAY_SECRET_KEY"
MAKE_A_KEY = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'


class SecretBox:
    """Encrypts and decrypts short secrets with one Fernet key."""

    def __init__(self, key: str | None) -> None:
        if not key:
            raise ConfigurationError(
                f"{SECRET_KEY_VARIABLE} is not set: it encrypts webhook secrets at rest.\n"
                f"Make one with: {MAKE_A_KEY}\nand keep it: secrets stored with it can't be read without it."
            )
        try:
            self._fernet = Fernet(key.encode("utf-8"))
        except (ValueError, UnicodeEncodeError):
            raise ConfigurationError(
                f"{SECRET_KEY_VARIABLE} is not a Fernet key (32 url-safe base64-encoded bytes).\n"
                f"Make one with: {MAKE_A_KEY}"
            ) from None

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def decrypt(self, stored: str) -> str:
        try:
            return self._fernet.decrypt(stored.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise ConfigurationError(
                f"A stored secret can't be decrypted with this {SECRET_KEY_VARIABLE}: "
                "was the key changed? Set the key the secret was stored with, or remove and re-add the source."
            ) from None
