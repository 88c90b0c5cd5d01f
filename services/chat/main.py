"""Chat service process. One per deployment: the live fan-out, the per-thread command locks
and the rate limiter are in memory (services/chat/README.md says why, and how to scale out)."""

from __future__ import annotations

from fastapi import FastAPI

from services.chat import api, link, socket
from services.chat.app import ChatApp
from services.chat.hub import Hub
from services.chat.projections import Directory, references
from services.chat.public import EVENTS
from services.chat.usecases import ChatState
from shared.service import Runtime, Service, create_service_app, events_of
from shared.settings import Settings


async def build(runtime: Runtime) -> ChatState:
    chat, auth, directory = events_of(runtime, ChatApp), runtime.auth, Directory(runtime.store)
    assert auth is not None  # the service checks tokens (Service.auth)
    # The relay is not woken at once per message: within a poll interval, in batches.
    relay = runtime.relay
    chat.on_saved = relay.wake_soon if relay is not None else (lambda: None)
    refs = runtime.consume(references(directory.forget), on_applied=directory.progressed)
    hub = await Hub.open(runtime.store, chat)
    runtime.start("hub", lambda: hub.maintain(lambda session: session in auth.registry.sessions))
    runtime.on_close(hub.presence.close)
    runtime.measure("lk_chat_open_sockets", "Chat WebSockets open on this process", lambda: hub.sockets)
    return ChatState(runtime.settings, chat, directory, hub, refs, auth)


async def health(s: ChatState) -> dict[str, object]:
    commits = s.chat.group_commit
    return {"sockets": s.hub.sockets, "transactions": commits.groups, "largest_transaction": commits.largest}


SERVICE = Service(
    "chat", build, (api.router, socket.router, link.router), ChatApp, lambda _: EVENTS, health=health
)


def create_app(settings: Settings) -> FastAPI:
    return create_service_app(SERVICE, settings)
