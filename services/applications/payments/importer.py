"""The bank-statement import (an accounting adapter of the payment port): each credit line is
matched to an application by the number in its purpose and recorded through the port; the
answer is a report per line. A line already recorded (the same reference and amount, in this
file or an earlier one) is a duplicate and records nothing, so importing a file again changes
nothing."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from services.applications.actor import Actor
from services.applications.payments.port import STATEMENT, Payment, PaymentPort
from services.applications.payments.statement import Line, parse_statement
from shared.errors import DomainError, NotFound

CONCURRENCY = 4  # applications recorded at a time


@dataclass(frozen=True)
class Unmatched:
    line: int
    purpose: str


@dataclass(frozen=True)
class RefusedLine:
    line: int
    code: str
    message: str


@dataclass
class Report:
    lines: int = 0
    recorded: int = 0
    duplicates: int = 0
    unmatched: list[Unmatched] = field(default_factory=list)
    refused: list[RefusedLine] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


async def import_statement(port: PaymentPort, actor: Actor, data: bytes, today: date) -> Report:
    """Read the statement (a file that is not one is refused whole, before anything is
    recorded), then record its lines: those of one application in the file's order, up to
    ``CONCURRENCY`` applications at a time (each is its own stream: they never conflict)."""
    statement = parse_statement(data, today)
    report = Report(lines=len(statement.lines) + len(statement.refused))
    report.refused.extend(RefusedLine(b.line, b.code, b.message) for b in statement.refused)
    found = await port.numbered({n for line in statement.lines for n in line.numbers})
    groups: dict[uuid.UUID, list[Line]] = {}
    for line in statement.lines:
        numbers = line.numbers
        if len(numbers) == 1 and (key := found.get(next(iter(numbers)))) is not None:
            groups.setdefault(key, []).append(line)
        else:
            report.unmatched.append(Unmatched(line.line, line.purpose))
    gate = asyncio.Semaphore(CONCURRENCY)

    async def record(key: uuid.UUID, lines: list[Line]) -> None:
        async with gate:
            for line in lines:
                await _record(port, actor, key, line, report)

    failed = [
        r
        for r in await asyncio.gather(*(record(k, ls) for k, ls in groups.items()), return_exceptions=True)
        if isinstance(r, BaseException)
    ]
    if failed:  # the store is down, say: what was recorded stays, a repeat records the rest
        raise failed[0]
    report.unmatched.sort(key=lambda u: u.line)
    report.refused.sort(key=lambda r: r.line)
    return report


async def _record(port: PaymentPort, actor: Actor, key: uuid.UUID, line: Line, report: Report) -> None:
    payment = Payment(line.amount_kopecks, line.paid_at, line.reference, STATEMENT)
    try:
        new = await port.record_payment(actor, key, payment)
    except NotFound:  # gone meanwhile (or not the caller's): left for staff, as unknown
        report.unmatched.append(Unmatched(line.line, line.purpose))
        return
    except DomainError as refusal:
        report.refused.append(RefusedLine(line.line, refusal.code, refusal.message))
        return
    if new:
        report.recorded += 1
    else:
        report.duplicates += 1
