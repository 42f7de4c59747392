"""The webhook channel: a signed JSON POST per notification.

The body is `{"type", "id", "timestamp", "data"}`; `X-Leap-Signature: sha256=<hex>` is the HMAC-SHA256
of the exact body bytes under the endpoint's own secret, so the receiver verifies before parsing.
`id` is the notification id and stays the same across retries: receivers deduplicate on it.
Failure messages never include the URL, which often carries a token of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from leap_core.config import Settings
from leap_core.errors import ValidationError
from leap_core.notifications.addresses import allowed_networks, pinned
from leap_core.notifications.delivery import DeliveryError, Letter

SIGNATURE_HEADER = "X-Leap-Signature"
RETRYABLE_STATUSES = frozenset({408, 425, 429})


def body(letter: Letter) -> bytes:
    payload = {"type": letter.type, "id": letter.id, "timestamp": letter.created_at.isoformat(),
               "data": {"title": letter.title, "body": letter.body, **letter.data}}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(secret: str, raw_body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()


def verify(secret: str, raw_body: bytes, signature: str) -> bool:
    """What a receiver does, in constant time; LEAP uses it in its own tests and docs."""
    return hmac.compare_digest(sign(secret, raw_body), signature)


def post_webhook(settings: Settings, url: str, secret: str, letter: Letter) -> None:
    import httpx  # deferred: keeps each Dagster run worker's start-up fast

    try:  # again at delivery, and connect to exactly the address checked: the name may point elsewhere now
        target = pinned(url, allowed_networks(settings.webhook_allowed_networks))
    except ValidationError as exc:
        raise DeliveryError(str(exc), permanent=True) from None
    raw = body(letter)
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, raw),
               "X-Leap-Event": letter.type, "X-Leap-Delivery": letter.id, "User-Agent": "LEAP-Webhooks/1",
               "Host": target.host_header}
    extensions = {"sni_hostname": target.server_name} if target.server_name else {}
    try:
        with httpx.Client(timeout=settings.webhook_timeout_s) as client:  # redirects are not followed
            response = client.send(client.build_request("POST", target.url, content=raw, headers=headers,
                                                        extensions=extensions))
    except httpx.HTTPError as exc:
        raise DeliveryError(f"could not reach the webhook endpoint: {type(exc).__name__}") from None
    if response.is_success:
        return
    status = response.status_code
    permanent = 300 <= status < 500 and status not in RETRYABLE_STATUSES
    raise DeliveryError(f"the webhook endpoint answered HTTP {status}", permanent=permanent)
