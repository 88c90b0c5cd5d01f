"""The simple electronic signature (ПЭП) of an offer that must be signed: a one-time code by
e-mail (issue 12, point 3), mixed into :class:`services.applications.domain.Application`.

The applicant asks for a code for the current offer's contract: a challenge is recorded
(``SignatureCodeIssued``: its id, the contract file and its SHA-256, when it expires) and the
notifier mails the code it derives from the challenge (shared/signature_code.py). The code
itself is in no event: it is recomputed here to check what the applicant typed. A wrong code
is recorded (``SignatureCodeFailed``, so the count survives a restart); after
``MAX_FAILURES`` the challenge is spent. A new code may be asked for once per interval (a
setting) and supersedes the last one; past ``DAILY_FAILURES`` wrong codes in a day no new code
is issued until the oldest of them is a day old, so guessing stays hopeless. The signature is
recorded on ``ContractConcluded``: the document's hash, the time, the client's address (the
edge's word) and the challenge.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

from services.applications.actor import Actor
from services.applications.calendar import local_day
from services.applications.rules import Document
from shared.errors import Conflict, DomainError, Forbidden, Invalid, TooMany
from shared.signature_code import code_matches

MAX_FAILURES = 5  # wrong codes per challenge
DAILY_FAILURES = 15  # wrong codes per application in 24 hours before no new code is issued
DAY = timedelta(days=1)

Signed = dict[str, str]  # challenge_id, file_id, name, document_sha256, signed_at, client_address


def _missing() -> Conflict:
    return Conflict(
        "signature_code_missing", "Сначала запросите код подписания: он придёт на вашу электронную почту."
    )


class SignatureSteps:
    # The latest challenge (a plain dict: challenge_id, file_id, name, sha256, issued_at,
    # expires_at, failures) and the moments of recent wrong codes; class defaults until set.
    signature_challenge: dict[str, Any] | None = None
    signature_failures: tuple[str, ...] = ()
    contract: Document | None = None

    # The events, made the aggregate's own (Application.SignatureCodeIssued …) by its class.
    class SignatureCodeIssued(Aggregate.Event):  # the challenge, never its code
        challenge_id: str
        document: Document  # the contract (offer): file_id, name
        document_sha256: str
        issued_at: str  # ISO moments
        expires_at: str
        actor_id: str

        def apply(self, aggregate: Any) -> None:
            aggregate.challenge_issued(self)

    class SignatureCodeFailed(Aggregate.Event):
        challenge_id: str
        at: str
        actor_id: str

        def apply(self, aggregate: Any) -> None:
            aggregate.challenge_failed(self)

    if TYPE_CHECKING:  # the aggregate's state and event machinery (domain.Application)
        id: uuid.UUID
        applicant_id: str
        concluded: bool

        def trigger_event(self, event_class: Any, **kwargs: Any) -> None: ...
        def _may_decide(self, actor: Actor) -> None: ...
        def decide(
            self,
            actor: Actor,
            accept: bool,
            comment: str,
            today: Any,
            due: str | None,
            signed: Signed | None = None,
        ) -> None: ...

    def request_signature_code(
        self, actor: Actor, challenge_id: str, sha256: str, now: datetime, ttl: int, interval: int
    ) -> None:
        """Issue a code for the current contract (``sha256``: its file's hash, as the files
        service computed it)."""
        self._may_decide(actor)
        if self.contract is None:
            raise _missing()  # an offer recorded before contracts were kept: none to sign
        last = self.signature_challenge
        if last is not None:
            wait = datetime.fromisoformat(last["issued_at"]) + timedelta(seconds=interval) - now
            if wait > timedelta(0):
                seconds = int(wait.total_seconds()) + 1
                raise TooMany(
                    "signature_code_too_soon",
                    f"Код уже отправлен. Новый код можно запросить через {seconds} с.",
                    retry_after=seconds,
                )
        recent = sorted(at for at in self.signature_failures if datetime.fromisoformat(at) > now - DAY)
        if len(recent) >= DAILY_FAILURES:
            wait = datetime.fromisoformat(recent[0]) + DAY - now
            raise TooMany(
                "signature_codes_exhausted",
                "Слишком много неверных кодов. Новый код можно будет запросить позже.",
                retry_after=int(wait.total_seconds()) + 1,
            )
        self.trigger_event(
            self.SignatureCodeIssued,
            challenge_id=challenge_id,
            document={
                "slot": "offer_contract",
                "file_id": self.contract["file_id"],
                "name": self.contract.get("name", ""),
            },
            document_sha256=sha256,
            issued_at=now.isoformat(),
            expires_at=(now + timedelta(seconds=ttl)).isoformat(),
            actor_id=actor.account_id,
        )

    def sign(
        self, actor: Actor, code: str | None, key: bytes, now: datetime, address: str, due: str | None
    ) -> DomainError | None:
        """Sign the offer with the code of the latest challenge; the contract is concluded. A
        wrong code records the failure and is returned (the caller saves it, then refuses);
        every other refusal is raised and records nothing."""
        if actor.account_id != self.applicant_id:
            raise Forbidden("forbidden", "Подписать договор или отказаться от него может только заявитель.")
        last = self.signature_challenge
        if code is not None and last is not None and self.concluded:
            raise Conflict("signature_code_used", "Этот код уже использован: договор подписан.")
        self._may_decide(actor)
        if last is None:
            raise _missing()
        if not code:
            raise Invalid("signature_code_required", "Введите код из письма, чтобы подписать договор.")
        if last["failures"] >= MAX_FAILURES:
            raise Conflict(
                "signature_code_spent",
                "Код больше не действует: неверных попыток было много. Запросите новый код.",
            )
        if now >= datetime.fromisoformat(last["expires_at"]):
            raise Invalid("signature_code_expired", "Срок действия кода истёк. Запросите новый код.")
        if not code_matches(key, str(self.id), last["challenge_id"], code):
            self.trigger_event(
                self.SignatureCodeFailed,
                challenge_id=last["challenge_id"],
                at=now.isoformat(),
                actor_id=actor.account_id,
            )
            left = MAX_FAILURES - int(last["failures"]) - 1
            more = f"Осталось попыток: {left}." if left else "Попытки исчерпаны: запросите новый код."
            return Invalid("signature_code_wrong", f"Неверный код. {more}")
        signed: Signed = {
            "challenge_id": last["challenge_id"],
            "file_id": last["file_id"],
            "name": last["name"],
            "document_sha256": last["sha256"],
            "signed_at": now.isoformat(),
            "client_address": address,
        }
        self.decide(actor, True, "", local_day(now), due, signed)  # the company's day
        return None

    # Applied by the events (domain.Application.SignatureCode*.apply) ------------------------
    def challenge_issued(self, event: Any) -> None:
        self.signature_challenge = {
            "challenge_id": event.challenge_id,
            "file_id": event.document["file_id"],
            "name": event.document.get("name", ""),
            "sha256": event.document_sha256,
            "issued_at": event.issued_at,
            "expires_at": event.expires_at,
            "failures": 0,
        }

    def challenge_failed(self, event: Any) -> None:
        last = self.signature_challenge
        if last is not None and last["challenge_id"] == event.challenge_id:
            self.signature_challenge = {**last, "failures": int(last["failures"]) + 1}
        self.signature_failures = (*self.signature_failures[-(DAILY_FAILURES - 1) :], event.at)
