"""Identity's stored events keep loading: events (and a snapshot) recorded by the code before
the event classes were declared on the aggregates (topics
``services.identity.domain:<Class>.<Event>``) rebuild the same accounts, go on taking commands,
and map to the very public events the old mapper made (links included)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent

from services.identity.app import IdentityApp
from services.identity.domain import EmailOwner
from services.identity.passwords import verify_password
from services.identity.public import EVENTS, make_mapper
from shared.settings import Settings

RECORDED = Path(__file__).parent / "data" / "identity_events_v0.json"
SECRET = "k" * 40  # the secret the links were recorded with
IVAN = uuid.UUID("e0865218-e88f-5813-b853-d8ac5e1b964d")
STAFF = uuid.UUID("de3e1994-ae06-543a-a0e5-811c246191ed")
LAST = "Синий-трамвай-у-моста-4"  # Ivan's password after the reset


def _records() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(RECORDED.read_text(encoding="utf-8"))
    return found


def _stored(record: dict[str, Any]) -> StoredEvent:
    return StoredEvent(
        originator_id=uuid.UUID(record["originator_id"]),
        originator_version=record["originator_version"],
        topic=record["topic"],
        state=json.dumps(record["state"], ensure_ascii=False, separators=(",", ":")).encode(),
    )


@pytest.fixture(params=["events", "snapshot"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[IdentityApp]:
    """The recorded events, and with ``snapshot`` also the account's snapshot."""
    instance = IdentityApp(
        Settings(mode="embedded", var_dir=tmp_path, secret_key=SECRET),
        {"PERSISTENCE_MODULE": "eventsourcing.popo"},
    )
    records = _records()
    instance.recorder.insert_events([_stored(r) for r in records if not r.get("snapshot")])
    if request.param == "snapshot":
        assert instance.snapshots is not None
        instance.snapshots.recorder.insert_events([_stored(r) for r in records if r.get("snapshot")])
    yield instance
    instance.close()


def test_old_events_rebuild_the_accounts(app: IdentityApp) -> None:
    ivan = app.account(IVAN)
    assert ivan is not None
    assert (ivan.version, ivan.login, ivan.email, ivan.account_type, ivan.roles) == (
        11,
        "Ivan_Petrov",
        "Ivan@Example.ru",
        "consumer",
        ["consumer"],
    )
    assert (ivan.email_confirmed, ivan.confirmation_nonce, ivan.reset_nonce, ivan.sessions) == (
        True,
        None,
        None,
        {},
    )
    assert (ivan.first_name, ivan.last_name, ivan.display_name) == ("Иван", "Петров", "Иван Петров")
    assert ivan.details == {}  # a ProfileUpdated from before the applicant's details
    assert verify_password(ivan.password_hash, LAST)
    assert app.by_email("ivan@example.ru") is not None
    staff = app.account(STAFF)
    assert staff is not None
    assert (staff.roles, staff.email_confirmed, staff.account_type) == (["staff", "admin"], True, "staff")


def test_old_accounts_take_new_commands(app: IdentityApp) -> None:
    token, _, account = app.log_in("ivan_petrov", LAST, {"ip": "192.0.2.9"})
    assert account.version == 12
    assert app.authenticate(token)[0].id == IVAN
    assert [h["type"] for h in app.history(IVAN)][-3:] == [
        "PasswordChanged",
        "SessionEnded",
        "SessionStarted",
    ]


def test_old_accounts_take_the_applicants_details(app: IdentityApp) -> None:
    ivan = app.account(IVAN)
    assert ivan is not None
    company = {"applicant_kind": "company", "organisation_name": "ООО «Ромашка»", "inn": "7707083893"}
    app.update_profile(ivan, "", "", details=company)
    again = app.account(IVAN)
    assert again is not None
    assert (again.version, again.details, again.display_name) == (12, company, "ООО «Ромашка»")


def test_old_events_map_to_the_same_public_events(app: IdentityApp) -> None:
    mapper = make_mapper(app)
    recorded = [r for r in _records() if not r.get("snapshot")]
    notifications = app.recorder.select_notifications(1, len(recorded) + 1)
    assert len(notifications) == len(recorded)
    for record, notification in zip(recorded, notifications, strict=True):
        event = app.mapper.to_domain_event(notification)
        assert type(event) in EVENTS.declared, record["topic"]
        public = mapper(event)
        expected = record["public"]
        if expected is None:
            assert public is None, record["topic"]  # kept internal
            continue
        assert public is not None, record["topic"]
        # What a consumer read from the old payload (fields added since take their defaults).
        assert expected["type"] == public.TYPE
        assert public == type(public).model_validate(expected["payload"])
        assert public.model_dump(mode="json", include=set(expected["payload"])) == expected["payload"]
    assert EmailOwner.Reserved in EVENTS.declared


def test_old_history_keeps_its_names(app: IdentityApp) -> None:
    assert [h["type"] for h in app.history(IVAN)] == [
        "Registered",
        "ConfirmationRequested",
        "EmailConfirmed",
        "SessionStarted",
        "SessionEnded",
        "SessionStarted",
        "ProfileUpdated",
        "PasswordChanged",
        "PasswordResetRequested",
        "PasswordChanged",
        "SessionEnded",
    ]
    assert {h["actor"] for h in app.history(IVAN)} == {"self", str(IVAN)}
