"""Chat service process. Several may run (replicas): the event store decides between their
commands, each follows what the others commit, and they share typing and presence over the
live bus (services/chat/README.md)."""

from __future__ import annotations

from fastapi import FastAPI

from services.chat import api, link, socket
from services.chat.app import ChatApp
from services.chat.follow import Follower, Heard
from services.chat.hub import Hub
from services.chat.live import LiveBus, PostgresLiveBus
from services.chat.projections import Directory, references
from services.chat.public import EVENTS
from services.chat.usecases import ChatState
from shared.service import Runtime, Service, create_service_app, events_of
from shared.settings import Settings


def follows(settings: Settings) -> bool:
    """Does this chat process follow the others (are there replicas)?"""
    return settings.chat_follow if settings.chat_follow is not None else not settings.embedded


async def build(runtime: Runtime) -> ChatState:
    chat, auth, directory = events_of(runtime, ChatApp), runtime.auth, Directory(runtime.store)
    assert auth is not None  # the service checks tokens (Service.auth)
    settings = runtime.settings
    # The relay is not woken at once per message: within a poll interval, in batches.
    relay = runtime.relay
    chat.on_saved = relay.wake_soon if relay is not None else (lambda: None)
    refs = runtime.consume(references(directory.forget), on_applied=directory.progressed)
    shared = follows(settings) and not settings.embedded
    bus = (
        PostgresLiveBus(runtime.store, settings.postgres_dsn, f"{settings.topic_prefix}chat.live")
        if shared
        else LiveBus()
    )
    hub = await Hub.open(runtime.store, chat, bus)
    follower = None
    if follows(settings):

        def deliver(heard: Heard) -> None:
            if heard.message is not None:
                hub.message(heard.thread_id, heard.message)
            elif heard.receipt is not None:
                hub.read(heard.thread_id, heard.receipt)

        follower = Follower(
            chat,
            deliver,
            hub.threads.__contains__,
            listen_dsn=None if settings.embedded else settings.postgres_dsn,
            poll_interval=settings.poll_interval,
            idle_poll_max=settings.idle_poll_max,
            fallback_poll=settings.fallback_poll,
        )
        await follower.start()
        runtime.start("follower", follower.run)
        runtime.start("live", bus.run)
        runtime.on_close(bus.close)
    runtime.start("hub", lambda: hub.maintain(lambda session: session in auth.registry.sessions))
    runtime.on_close(hub.presence.close)
    runtime.measure("lk_chat_open_sockets", "Chat WebSockets open on this process", lambda: hub.sockets)
    return ChatState(settings, chat, directory, hub, refs, auth, follower)


async def health(s: ChatState) -> dict[str, object]:
    commits = s.chat.group_commit
    found: dict[str, object] = {
        "sockets": s.hub.sockets,
        "transactions": commits.groups,
        "largest_transaction": commits.largest,
        "conflicts": s.chat.conflicts,
    }
    if s.follower is not None:
        found.update(followed_elsewhere=s.follower.foreign, follower_listening=s.follower.listening)
    return found


SERVICE = Service(
    "chat", build, (api.router, socket.router, link.router), ChatApp, lambda _: EVENTS, health=health
)


def create_app(settings: Settings) -> FastAPI:
    return create_service_app(SERVICE, settings)
