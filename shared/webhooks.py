"""Standard Webhooks signing: `whsec_` secrets, `v1,` HMAC-SHA256 of `id.timestamp.body`."""

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

__all__ = ["new_secret", "signature_header", "webhook_headers"]

_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh signing secret in the Standard Webhooks format (24 random bytes, base64)."""
    return _PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(_PREFIX))


def signature_header(
    secrets_in_use: Iterable[str], msg_id: str, timestamp: int, body: bytes
) -> str:
    """One `v1,<base64>` signature per secret, space-separated (several during a rotation)."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(_key(s), signed, hashlib.sha256).digest()).decode()
        for s in secrets_in_use
    )


def webhook_headers(
    secrets_in_use: Iterable[str], msg_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets_in_use, msg_id, timestamp, body),
    }
