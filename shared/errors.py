"""Domain errors: what a use case says when it refuses, in the domain's words.

Commands and aggregates raise these; they know nothing of HTTP. Each carries a stable
``code`` and a Russian ``message`` for the person; :mod:`shared.http` turns the kind into a
status once, at the edge of every service (``Refused`` → 400, ``Unauthenticated`` → 401,
``Forbidden`` → 403, ``NotFound`` → 404, ``Conflict`` → 409, ``TooLarge`` → 413,
``Unsupported`` → 415, ``Invalid`` → 422, ``TooMany`` → 429, ``Unavailable`` → 503). The CLI
prints the message. Create them fresh at each raise (a shared instance grows its traceback on
every raise).
"""

from __future__ import annotations


class DomainError(Exception):
    """A refusal the caller can act on."""

    status = 400

    def __init__(
        self,
        code: str,
        message: str,
        *,
        retry_after: int | None = None,
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after
        # Per field (``field``, ``code``, ``message``), when a refusal concerns several at once.
        self.errors = errors


class Refused(DomainError):
    """The request cannot be taken as it is (a broken link, a wrong current password)."""

    status = 400


class Unauthenticated(DomainError):
    """The caller is not who they claim: wrong credentials, a session that is not open."""

    status = 401


class Forbidden(DomainError):
    """The caller may see the thing but not do this to it."""

    status = 403


class NotFound(DomainError):
    """No such thing — or one the caller may not see (the same answer, on purpose)."""

    status = 404


class Conflict(DomainError):
    """The thing's current state does not allow it (taken, changed meanwhile, wrong step)."""

    status = 409


class Invalid(DomainError):
    """A value breaks a rule (a weak password, a power over the type's bound)."""

    status = 422


class TooLarge(DomainError):
    """More than a rule allows in size (a file, an archive unpacked)."""

    status = 413


class Unsupported(DomainError):
    """A kind of content that is not taken (a file type judged by its bytes)."""

    status = 415


class TooMany(DomainError):
    """Too many attempts; ``retry_after`` seconds until the next may succeed."""

    status = 429


class Unavailable(DomainError):
    """A dependency is down; try again shortly."""

    status = 503


class FieldErrors:
    """Refusals of several fields gathered, then raised at once as one :class:`Invalid` with
    the list (``field``, ``code``, ``message``); one refusal keeps its own message."""

    def __init__(self) -> None:
        self.found: list[dict[str, str]] = []

    def add(self, field: str, code: str, message: str) -> None:
        self.found.append({"field": field, "code": code, "message": message})

    def raise_any(self) -> None:
        if self.found:
            first = self.found[0]
            message = first["message"] if len(self.found) == 1 else "Проверьте заполнение полей."
            raise Invalid(first["code"], message, errors=self.found)
