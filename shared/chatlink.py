"""The chat link's protocol, spoken by both of its ends: the gateway (services/gateway/chat_ws.py)
and the chat service (services/chat/link.py).

One WebSocket from each gateway process (``ws /internal/chat/link``) carries the chat sockets
of all its browsers as channels. Only a gateway may open it: the ``X-Chat-Link`` header carries
an HMAC of the platform secret (:func:`link_key`). Lines are UTF-8 text, several per WebSocket
message, one per line:

  gateway → chat   ``<c>|o|{"application_id", "token", "after"}``  open channel c
                   ``<c>|f|<client frame>``                        one client frame
                   ``<c>|x|``                                      the browser went away
  chat → gateway   ``<c>|f|<frame>``                               a frame for the browser
                   ``<c>|x|<code>:<reason>``                       close the browser's socket
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass

LINK_PATH = "/internal/chat/link"
LINK_HEADER = "x-chat-link"
MAX_FRAME = 64 * 1024  # the largest client frame either end passes on (larger: close 1009)

OPEN = "o"
FRAME = "f"
CLOSE = "x"


def link_key(secret: str) -> str:
    """The gateway's proof that it may open the link, derived from the platform secret."""
    return hmac.new(secret.encode(), b"lk-chat-link-v1", hashlib.sha256).hexdigest()


def line(channel: str, kind: str, body: str = "") -> str:
    return f"{channel}|{kind}|{body}"


def parse(text: str) -> tuple[str, str, str]:
    """(channel, kind, body) of one line."""
    channel, _, rest = text.partition("|")
    kind, _, body = rest.partition("|")
    return channel, kind, body


def batch(lines: Iterable[str]) -> str:
    """Several lines in one WebSocket message."""
    return "\n".join(lines)


def lines_of(message: str) -> list[str]:
    return message.split("\n")


@dataclass(frozen=True)
class Opening:
    """What the gateway asks when it opens a channel: the user's own token, checked again."""

    application_id: str
    token: str
    after: int = 0

    def body(self) -> str:
        return json.dumps({"application_id": self.application_id, "token": self.token, "after": self.after})

    @classmethod
    def parse(cls, body: str) -> Opening:
        """ValueError, KeyError or TypeError for a malformed one."""
        spec = json.loads(body)
        if not isinstance(spec, dict):
            raise TypeError("an opening is a JSON object")
        after = max(0, int(spec.get("after") or 0))
        return cls(str(spec["application_id"]), str(spec["token"]), after)


def closing(code: int, reason: str) -> str:
    """The body of a close line."""
    return f"{code}:{reason}"


def parse_closing(body: str) -> tuple[int, str]:
    code, _, reason = body.partition(":")
    return (int(code) if code.isdigit() else 1011), reason
