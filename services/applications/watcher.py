"""The deadline watcher of the applications service (issue 12, point 6).

A background loop (``runtime.start``) that, every ``deadline_watch_interval`` seconds, looks at
each application the read model lists as not final and, from its own stored events
(watch_facts.py) and "now" (an injected clock), computes its current deadlines
(deadlines.py) and records, on the aggregate, what is due:
- ``DeadlineReminded{code, due}``: the applicant's deadline (documents, payment, signature) is
  ``deadline_remind_days`` working days away or fewer → a reminder e-mail to the applicant;
- ``DeadlineOverdue{code, due}``: the grid company's deadline passed → an e-mail to staff;
- a status change to «Аннулирована» by the system: the requested documents did not come, or
  the invoice was not paid, by the applicant's due date (``auto_annul_documents``,
  ``auto_annul_unpaid``).
The events are the outbox of those e-mails (the notifier's deadline_mail.py, keyed by the
event id). The aggregate holds which (code, due) it was told of and records nothing twice, so
a restart, a second pass or a second watcher adds nothing; a staff command saved meanwhile
makes the save fail on the aggregate's version, and the next pass looks again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import structlog
from eventsourcing.persistence import IntegrityError

from services.applications.app import ApplicationsApp
from services.applications.calendar import local_day
from services.applications.deadlines import current_deadlines, due_reminders, overdue
from services.applications.watch_facts import watched
from shared.readstore import ReadStore, Row
from shared.runtime import blocking
from shared.settings import Settings
from shared.statuses import FINAL, TITLES

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]
Candidates = Callable[[], Awaitable[list[Row]]]
"""The applications to look at: rows with ``application_id`` and ``version``."""
OPEN = tuple(s for s in TITLES if s not in FINAL)


def utc_now() -> datetime:
    return datetime.now(UTC)


def open_applications(store: ReadStore) -> Candidates:
    """The read model's applications that are not final (every such stage has a deadline)."""

    async def fetch() -> list[Row]:
        marks = ", ".join(f"${i}" for i in range(1, len(OPEN) + 1))
        return await store.fetch(
            f"SELECT application_id, version FROM applications_rows WHERE status IN ({marks})",  # noqa: S608
            *OPEN,
        )

    return fetch


@dataclass
class Outcome:
    """What one pass (or one application) recorded."""

    checked: int = 0
    reminded: int = 0
    overdue: int = 0
    annulled: int = 0
    conflicts: int = 0
    failed: int = 0

    def add(self, other: Outcome) -> None:
        for name in ("checked", "reminded", "overdue", "annulled", "conflicts", "failed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


@dataclass
class Watcher:
    app: ApplicationsApp
    candidates: Candidates
    clock: Clock = utc_now
    # application id → (the row's version, the local day) of a pass that found nothing to do.
    _quiet: dict[str, tuple[int, date]] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return self.app.settings

    async def run(self) -> None:
        """The loop: a pass, then sleep; a failed pass is logged and tried again later."""
        if not self.settings.deadline_watcher:
            log.info("deadline_watcher.off")
            return
        while True:
            try:
                outcome = await self.run_once()
                if outcome.reminded or outcome.overdue or outcome.annulled or outcome.conflicts:
                    log.info("deadline_watcher.pass", **outcome.as_dict())
            except Exception as exc:  # noqa: BLE001 - a store that is down: the next pass tries again
                log.warning("deadline_watcher.pass_failed", error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(self.settings.deadline_watch_interval)

    async def run_once(self, now: datetime | None = None) -> Outcome:
        """One pass at ``now`` (the clock's time by default)."""
        now = now or self.clock()
        today = local_day(now, self.settings.time_zone)
        total = Outcome()
        for row in await self.candidates():
            key = str(row["application_id"])
            if self._quiet.get(key) == (int(row["version"]), today):
                continue  # nothing new since a pass of the same day found nothing to do
            try:
                outcome = await blocking(self.decide, uuid.UUID(key), now)
            except IntegrityError:  # a command saved meanwhile: look again next pass
                outcome = Outcome(checked=1, conflicts=1)
            except Exception as exc:  # noqa: BLE001 - one application stops no other
                log.warning(
                    "deadline_watcher.failed", application_id=key, error=f"{type(exc).__name__}: {exc}"
                )
                outcome = Outcome(checked=1, failed=1)
            if not (outcome.conflicts or outcome.failed):
                self._quiet[key] = (int(row["version"]), today)
            total.add(outcome)
        return total

    def decide(self, application_id: uuid.UUID, now: datetime) -> Outcome:
        """Record what is due on one application at ``now``, in one save on top of the version
        its events were read at (IntegrityError if another save came in between)."""
        events = list(self.app.repository.event_store.get(application_id))
        if not events:
            return Outcome()
        seen = watched(events, self.app.types, self.settings.time_zone)
        claim, s = seen.claim, self.settings
        done = Outcome(checked=1)
        if claim.status in FINAL:
            return done
        cal, tz = self.app.calendar, s.time_zone
        deadlines = current_deadlines(
            seen.profile,
            seen.marks,
            now,
            activities_term=seen.activities_term,
            needs_signature=seen.needs_signature,
            calendar=cal,
            tz=tz,
            status=claim.status,
        )
        for d in due_reminders(deadlines, now, within=s.deadline_remind_days, calendar=cal, tz=tz):
            done.reminded += claim.remind(d.code, d.due)
        for d in overdue(deadlines, now, calendar=cal, tz=tz):
            done.overdue += claim.flag_overdue(d.code, d.due)
        today = local_day(now, tz)
        for d in deadlines:
            if d.code == "documents" and s.auto_annul_documents:
                done.annulled += claim.annul_late("documents", d.due, today)
            elif d.code == "payment" and s.auto_annul_unpaid:
                done.annulled += claim.annul_late("payment", d.due, today)
        if claim.pending_events:
            self.app.commit(claim)
        return done
