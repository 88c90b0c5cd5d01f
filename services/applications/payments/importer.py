"""The bank-statement import (an accounting adapter of the payment port): each credit line is
matched to an application by the number in its purpose and recorded through the port; the
answer is a report per line. A line already recorded (the same reference and amount, in this
file or an earlier one) is a duplicate and records nothing, so importing a file again changes
nothing."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from services.applications.actor import Actor
from services.applications.payments.port import STATEMENT, Payment, PaymentPort
from services.applications.payments.statement import parse_statement
from shared.errors import DomainError, NotFound


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
    recorded), then record its lines one by one, in the file's order."""
    statement = parse_statement(data, today)
    report = Report(lines=len(statement.lines) + len(statement.refused))
    report.refused.extend(RefusedLine(b.line, b.code, b.message) for b in statement.refused)
    found = await port.numbered({n for line in statement.lines for n in line.numbers})
    for line in statement.lines:
        numbers = line.numbers
        if len(numbers) != 1 or next(iter(numbers)) not in found:
            report.unmatched.append(Unmatched(line.line, line.purpose))
            continue
        payment = Payment(line.amount_kopecks, line.paid_at, line.reference, STATEMENT)
        try:
            new = await port.record_payment(actor, found[next(iter(numbers))], payment)
        except NotFound:  # gone meanwhile (or not the caller's): left for staff, as unknown
            report.unmatched.append(Unmatched(line.line, line.purpose))
            continue
        except DomainError as refusal:
            report.refused.append(RefusedLine(line.line, refusal.code, refusal.message))
            continue
        if new:
            report.recorded += 1
        else:
            report.duplicates += 1
    report.refused.sort(key=lambda r: r.line)
    return report
