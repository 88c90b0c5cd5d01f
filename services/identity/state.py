"""The identity service's running state, reached in routes by ``state_of(IdentityState)``."""

from __future__ import annotations

from dataclasses import dataclass

from services.identity.app import IdentityApp
from services.identity.mail_requests import MailRequests
from services.identity.projections import Directory
from services.identity.throttle import Throttle
from shared.settings import Settings


@dataclass(frozen=True)
class IdentityState:
    """The command side, the attempt counters, the queue of mail requests, the directory."""

    identity: IdentityApp
    throttle: Throttle
    mail: MailRequests
    directory: Directory
    settings: Settings
