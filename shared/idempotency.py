"""Idempotency keys: a retry after a lost answer must not store twice.

A client sends ``Idempotency-Key: <8–128 of A–Z a–z 0–9 _ ->`` on a create (upload,
submission, registration, payment); the pages send one per form. The command derives the
id of what it creates from the key (and the caller), so a repeat finds it instead of
creating another — crash-safe, because the event store itself refuses a second aggregate
with the same id — and answers with the first result (``Idempotent-Replayed: true``). The
same key with a different request is refused (422), never silently applied.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, event
from starlette.requests import HTTPConnection

from shared.http import ApiError

HEADER = "idempotency-key"
Keyed = tuple[uuid.UUID, str]
"""(record id, fingerprint) of a request made under an idempotency key."""
REPLAYED = "Idempotent-Replayed"
_PATTERN = r"^[A-Za-z0-9_-]{8,128}$"
_KEY = re.compile(_PATTERN)
# The header in the published contract (``openapi_extra=`` of a create route).
OPENAPI: dict[str, Any] = {
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "Повтор запроса с тем же ключом возвращает первый результат и ничего не создаёт",
            "schema": {"type": "string", "pattern": _PATTERN},
        }
    ]
}
_NS = uuid.UUID("2f6b3c1e-8d4a-4b7e-9c21-5e0a7d3f9b64")


def key_of(conn: HTTPConnection) -> str | None:
    """The request's idempotency key, None without one; 400 for a malformed one."""
    raw = conn.headers.get(HEADER)
    if raw is None:
        return None
    if not _KEY.match(raw.strip()):
        raise ApiError(
            400,
            "invalid_idempotency_key",
            "Заголовок Idempotency-Key: от 8 до 128 латинских букв, цифр, знаков «-» и «_».",
        )
    return raw.strip()


def derived_id(kind: str, caller: str, key: str) -> uuid.UUID:
    """The id of what ``caller`` creates of ``kind`` under ``key``: the same on every retry."""
    return uuid.uuid5(_NS, f"{kind}:{caller}:{key}")


def fingerprint(*parts: Any) -> str:
    """A digest of what the request asked for (never stored in clear: it may hold personal data)."""
    canonical = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def keyed(conn: HTTPConnection, kind: str, caller: str, *request: Any) -> Keyed | None:
    """(record id, fingerprint) for a create under the request's key; None without a key."""
    key = key_of(conn)
    if key is None:
        return None
    return derived_id(kind, caller, key), fingerprint(kind, caller, *request)


def reused() -> ApiError:
    return ApiError(
        422,
        "idempotency_key_reused",
        "Этот ключ Idempotency-Key уже использован для другого запроса: создайте новый ключ.",
    )


class IdempotencyRecord(Aggregate):
    """What a request under an idempotency key created: saved in the same atomic save as the
    thing itself, so a retry finds it (or is refused when it asks for something else)."""

    class Recorded(Aggregate.Created):
        record_id: uuid.UUID
        fingerprint: str
        result_id: str

    @staticmethod
    def create_id(record_id: uuid.UUID) -> uuid.UUID:
        return record_id

    @event(Recorded)
    def __init__(self, *, record_id: uuid.UUID, fingerprint: str, result_id: str) -> None:
        self.fingerprint = fingerprint
        self.result_id = result_id


def recorded(app: Application[uuid.UUID], record_id: uuid.UUID, fingerprint_: str) -> str | None:
    """The id of what an earlier identical request created; None if there was none; 422 if
    the key was used for a different request."""
    try:
        record: Any = app.repository.get(record_id)
    except AggregateNotFoundError:
        return None
    if not isinstance(record, IdempotencyRecord) or record.fingerprint != fingerprint_:
        raise reused()
    return record.result_id
