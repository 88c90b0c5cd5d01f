"""Who may move a grid-connection application from which status to which (../shared/DOMAIN.md);
the statuses themselves are the platform's vocabulary (shared/statuses.py)."""

from __future__ import annotations

from enum import Enum

from shared.statuses import FINAL, FORWARD, TITLES

REQUEST_DOCUMENTS_FROM = {"submitted", "in_work"}

STAFF = "staff"
CONSUMER = "consumer"


class Verdict(Enum):
    ALLOWED = "allowed"
    NOT_YOUR_ROLE = "forbidden"  # 403
    NOT_FROM_HERE = "conflict"  # 409


def judge(role: str, current: str, target: str) -> Verdict:
    """May ``role`` move an application from ``current`` to ``target``?"""
    if current in FINAL:
        return Verdict.NOT_FROM_HERE
    if target == "annulled":
        return Verdict.ALLOWED  # staff with a reason; the applicant as a withdrawal
    if role != STAFF:
        return Verdict.NOT_YOUR_ROLE  # only staff move statuses forward
    if current in FORWARD and current != "completed" and target == FORWARD[FORWARD.index(current) + 1]:
        return Verdict.ALLOWED
    if target == "needs_documents" and current in REQUEST_DOCUMENTS_FROM:
        return Verdict.ALLOWED
    if current == "needs_documents" and target == "in_work":
        return Verdict.ALLOWED
    return Verdict.NOT_FROM_HERE


def next_steps(role: str, current: str) -> list[str]:
    """The statuses ``role`` may move to from ``current`` (for the pages' buttons)."""
    return [s for s in TITLES if judge(role, current, s) is Verdict.ALLOWED]
