"""Two replicas of every service on the real stack, each projection's partitions split between
them, and SIGKILL of the relay's leader of identity and of applications, of one notifier
(which applies some of the outbox's partitions) and of one chat process under a small load of
registrations, submissions and chat: every acknowledged command is kept (read back), every
e-mail arrives exactly once (what the receiver dropped by its Message-ID is counted), every
acknowledged chat message reaches every socket of the thread once and in order (sockets of
both chat processes and through both gateways; one closed by the kill resumes with
``?after=``), and the other replica's relay takes over (its /health says so). Mailpit's count
of dropped duplicates is the server's, shared with whatever else runs against it at the same
time: the test reads it before and after each phase of its own."""

from __future__ import annotations

import asyncio
import functools
import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from tests.conftest import MODES, Person, new_person
from tests.e2e.files_helpers import upload_pdf, upload_zip
from tests.e2e.helpers import register_and_confirm, token_in
from tests.e2e.test_applications import application_body
from tests.e2e.test_chat import Side, messages, new_application, side_of, ws_url
from tests.e2e.test_identity_complete import NEW_PASSWORD, create_staff
from tests.harness import System

PEOPLE = 12
BURST = 40  # registrations at once besides (only a confirmation each): a backlog of mail for both senders
WORKERS = 4
RETRY_FOR = 60.0  # seconds a client keeps retrying one command while replicas die
CHAT_MESSAGES = (
    36  # in turn by the applicant and the staff member: 18 each, under the flood limit (20 per 10 s)
)
CHAT_PAUSE = 0.2  # seconds between two posts


@pytest.fixture(params=MODES)
def replicated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    if request.param == "embedded":
        pytest.skip(
            "replicas are processes of the real stack; the embedded mode is one process, whose relay "
            "and consumers lead trivially (tests/contract/test_leader.py)"
        )
    system = System.create("stack", tmp_path_factory.mktemp("replicas"), replicas=2)
    try:
        system.start()
        for name in system.components():
            if name != "edge":
                wait_until(functools.partial(ready, system, name), 90, f"{name} ready")
        yield system
    finally:
        system.destroy()


def ready(system: System, component: str) -> bool:
    return health(system, component) is not None


def health(system: System, component: str) -> dict[str, Any] | None:
    try:
        answer = httpx.get(system.url_of(component) + "/health", timeout=3)
    except httpx.TransportError:
        return None
    return dict(answer.json()) if answer.status_code == 200 else None


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not in {timeout} s: {what}"
        time.sleep(0.2)


def replicas(system: System, service: str) -> list[str]:
    return [name for name in system.components() if name.partition("#")[0] == service]


def leads(system: System, component: str, lead: str) -> bool:
    return lead in ((health(system, component) or {}).get("leading") or ())


def relay_leads(system: System, component: str) -> bool:
    return (health(system, component) or {}).get("relay_leader") is True


def has_mail(system: System, address: str, subject: str) -> bool:
    return any(subject in m.subject for m in system.mailbox.messages_to(address))


PARTITIONS = 3  # of every topic on the stack (LK_KAFKA_PARTITIONS)


def partition_leaders(system: System, service: str, projection: str) -> dict[int, str]:
    """Which replica applies each partition of ``projection``, once each partition has exactly
    one and the partitions are split: every replica of the service applies some."""
    found: dict[int, str] = {}

    def split() -> bool:
        leading = {r: set((health(system, r) or {}).get("leading") or ()) for r in replicas(system, service)}
        owners = {
            p: [r for r, led in leading.items() if f"consumer:{projection}#{p}" in led]
            for p in range(PARTITIONS)
        }
        found.clear()
        found.update({p: rs[0] for p, rs in owners.items() if len(rs) == 1})
        return len(found) == PARTITIONS and set(found.values()) == set(leading)

    wait_until(split, 30, f"{projection}'s partitions split across the replicas of {service}")
    return dict(found)


def leader_of(system: System, service: str, lead: str) -> str:
    """The replica of ``service`` that leads ``lead`` (``relay:identity``, ``consumer:…``)."""
    found: list[str] = []

    def one() -> bool:
        found[:] = [
            r for r in replicas(system, service) if lead in ((health(system, r) or {}).get("leading") or ())
        ]
        return len(found) == 1

    wait_until(one, 30, f"one leader of {lead}")
    return found[0]


def command(http: httpx.Client, method: str, url: str, ok: tuple[int, ...], **kw: Any) -> httpx.Response:
    """Send until acknowledged: a replica killed under a request answers 503 (nginx) or drops
    the connection; the same Idempotency-Key makes each retry safe."""
    deadline = time.monotonic() + RETRY_FOR
    while True:
        try:
            answer = http.request(method, url, **kw)
            if answer.status_code in ok:
                return answer
            assert answer.status_code >= 500, f"{method} {url}: {answer.status_code} {answer.text}"
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{method} {url} never acknowledged"
        time.sleep(0.3)


@dataclass
class Done:
    person: Person
    application_id: str = ""
    number: str = ""


class Load:
    """Registrations, confirmations and submissions of ``PEOPLE`` people, a few at once."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.registered = 0
        self.submitted = 0
        self.lock = threading.Lock()

    def register(self, person: Person) -> Person:
        with self.system.client() as http:
            key = {"Idempotency-Key": str(uuid.uuid4())}
            command(http, "POST", "/api/v1/accounts", (201,), json=person.registration(), headers=key)
        return person

    def one(self, person: Person) -> Done:
        system = self.system
        with system.client() as http:
            key = {"Idempotency-Key": str(uuid.uuid4())}
            command(http, "POST", "/api/v1/accounts", (201,), json=person.registration(), headers=key)
            with self.lock:
                self.registered += 1
            mail = system.mailbox.wait_for(person.email, timeout=90)[0]
            confirmed = command(
                http, "POST", "/api/v1/accounts/confirm-email", (200, 409), json={"token": token_in(mail)}
            )
            assert confirmed.status_code == 200 or confirmed.json()["code"] == "already_confirmed"
            login = {"login": person.login, "password": person.password}
            token = command(http, "POST", "/api/v1/sessions", (201,), json=login).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            docs = [
                {"slot": "archive", "file_id": retried(lambda: upload_zip(http, auth))},
                {"slot": "application_form", "file_id": retried(lambda: upload_pdf(http, auth))},
            ]
            key = {**auth, "Idempotency-Key": str(uuid.uuid4())}
            created = command(
                http, "POST", "/api/v1/applications", (201,), json=application_body(docs), headers=key
            )
            with self.lock:
                self.submitted += 1
            return Done(person, created.json()["id"], created.json()["number"])


def retried(upload: Callable[[], str]) -> str:
    """An upload (a new file each time: a lost answer only leaves an unused file)."""
    deadline = time.monotonic() + RETRY_FOR
    while True:
        try:
            return upload()
        except (AssertionError, httpx.TransportError):
            assert time.monotonic() < deadline, "upload never acknowledged"
            time.sleep(0.3)


@dataclass
class Reader:
    """One socket of the thread that keeps itself open: when it is closed (its chat process or
    its gateway's link died) it opens again with ``?after=`` its last message, at the next of
    its addresses if one refuses. What it got, across all its connections, by ``seq``."""

    name: str
    urls: list[str]  # the socket's address at each place it may open (one: the public entry)
    token: str
    seen: Counter[int] = field(default_factory=Counter)
    out_of_order: list[tuple[int, int]] = field(default_factory=list)  # (expected, got)
    refusals: list[tuple[int, str]] = field(default_factory=list)  # 44xx: never for this socket
    opened: int = 0
    last: int = 0

    async def run(self) -> None:
        index = 0
        while True:
            url = f"{self.urls[index % len(self.urls)]}?access_token={self.token}&after={self.last}"
            try:
                async with connect(url, open_timeout=5, close_timeout=1) as ws:
                    self.opened += 1
                    async for raw in ws:
                        self.heard(json.loads(raw))
            except ConnectionClosed as closed:
                if closed.rcvd is not None and 4400 <= closed.rcvd.code < 4500:
                    self.refusals.append((closed.rcvd.code, closed.rcvd.reason))
            except (OSError, TimeoutError, InvalidHandshake):
                index += 1  # that process is gone: the next address
            await asyncio.sleep(0.1)

    def heard(self, frame: dict[str, Any]) -> None:
        if frame["type"] != "message":
            return
        seq = int(frame["message"]["seq"])
        self.seen[seq] += 1
        if seq != self.last + 1:
            self.out_of_order.append((self.last + 1, seq))
        self.last = max(self.last, seq)


@dataclass
class Posted:
    seq: int
    client_id: str
    author: str


class ChatLoad:
    """An applicant and a staff member chat in the thread of a just-filed application through
    the public entry (nginx spreads the posts over both chat processes), each retrying a post
    with its ``client_id`` until acknowledged; meanwhile four sockets of the thread stay open —
    each party on a chat process of its own and each through the gateways (whose one link goes
    to either process). At a random moment the chat process holding the most of those sockets
    is killed."""

    def __init__(self, system: System, kill_after: int) -> None:
        self.system = system
        self.kill_after = kill_after
        self.posted: list[Posted] = []
        self.killed = ""
        self.killed_sockets = 0
        staff = new_person()
        create_staff(system, staff.login, staff.email)
        self.applicant_person = new_person()
        with system.client() as http:
            register_and_confirm(system, http, self.applicant_person)
            person = self.applicant_person
            self.applicant = side_of(http, person.login, person.email, person.password)
            self.staff = side_of(http, staff.login, staff.email, NEW_PASSWORD)
            self.application = new_application(http, self.applicant)
        direct = [
            system.url_of(name).replace("http://", "ws://")
            + f"/api/v1/applications/{self.application}/chat/ws"
            for name in replicas(system, "chat")
        ]
        entry = ws_url(system, self.application)
        self.readers = [
            Reader("applicant on chat", direct, self.applicant.token),
            Reader("staff on chat#1", direct[::-1], self.staff.token),
            Reader("applicant through the gateway", [entry], self.applicant.token),
            Reader("staff through the gateway", [entry], self.staff.token),
        ]

    def run(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        tasks = [asyncio.create_task(reader.run()) for reader in self.readers]
        try:
            await self._until(lambda: all(r.opened for r in self.readers), "every socket open")
            async with httpx.AsyncClient(base_url=self.system.base_url, timeout=30) as http:
                for i in range(CHAT_MESSAGES):
                    side = self.staff if i % 2 else self.applicant
                    self.posted.append(await self._post(http, side, f"№ {i + 1}"))
                    if len(self.posted) == self.kill_after:
                        await self._kill_busiest()
                    await asyncio.sleep(CHAT_PAUSE)
            wanted = {p.seq for p in self.posted}
            await self._until(lambda: all(wanted <= set(r.seen) for r in self.readers), "every message")
            await asyncio.sleep(2)  # anything late would be a duplicate
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _post(self, http: httpx.AsyncClient, side: Side, text: str) -> Posted:
        """Sent until acknowledged (201, or 200: a retry the first attempt had stored)."""
        client_id = uuid.uuid4().hex
        deadline = time.monotonic() + RETRY_FOR
        while True:
            try:
                answer = await http.post(
                    messages(self.application), headers=side.auth, json={"text": text, "client_id": client_id}
                )
                if answer.status_code in (200, 201):
                    body = answer.json()
                    assert body["client_id"] == client_id, body
                    return Posted(int(body["seq"]), client_id, side.account_id)
                assert answer.status_code >= 500, f"post: {answer.status_code} {answer.text}"
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"{text} never acknowledged"
            await asyncio.sleep(0.3)

    async def _kill_busiest(self) -> None:
        counts = {}
        for name in replicas(self.system, "chat"):
            found = await asyncio.to_thread(health, self.system, name)
            counts[name] = int((found or {}).get("sockets", 0))
        self.killed = max(counts, key=lambda name: counts[name])
        self.killed_sockets = counts[self.killed]
        print(f"chat sockets per process {counts}; killing {self.killed} after {self.kill_after} messages")
        await asyncio.to_thread(self.system.kill, self.killed)

    async def _until(self, check: Callable[[], bool], what: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            assert time.monotonic() < deadline, f"not in {timeout} s: {what}"
            await asyncio.sleep(0.1)

    def check(self) -> None:
        """Every acknowledged message stored once, seqs without gaps, and on every socket once
        and in order; the killed process held a direct socket and a gateway's link."""
        seqs = sorted(p.seq for p in self.posted)
        assert seqs == list(range(1, CHAT_MESSAGES + 1)), seqs
        with self.system.client() as http:
            history = http.get(
                messages(self.application), headers=self.staff.auth, params={"limit": 200}
            ).json()["items"]
        assert [m["seq"] for m in history] == seqs
        assert sorted(m["client_id"] for m in history) == sorted(p.client_id for p in self.posted)
        for reader in self.readers:
            assert reader.refusals == [], (reader.name, reader.refusals)
            assert reader.out_of_order == [], (reader.name, reader.out_of_order)
            twice = {seq: n for seq, n in reader.seen.items() if n != 1}
            assert set(reader.seen) == set(seqs) and not twice, (reader.name, twice)
        # The kill reached both kinds of socket: one on the killed process, one through a link to it.
        assert self.killed_sockets >= 2, "the killed chat process held no gateway's link"
        direct, linked = self.readers[:2], self.readers[2:]
        assert any(r.opened > 1 for r in direct) and any(r.opened > 1 for r in linked), [
            (r.name, r.opened) for r in self.readers
        ]


@pytest.mark.crash
def test_killing_leaders_loses_nothing_and_sends_each_mail_once(replicated: System) -> None:
    system = replicated
    dropped_before = system.mailbox.dropped()
    for service in ("identity", "applications", "chat"):
        assert len(replicas(system, service)) == 2
    identity_leader = leader_of(system, "identity", "relay:identity")
    applications_leader = leader_of(system, "applications", "relay:applications")
    # Each projection's partitions are split across the two replicas of its service.
    for service, projection in (
        ("identity", "identity.directory"),
        ("applications", "applications.view"),
        ("notifier", "notifier.outbox"),
    ):
        owners = partition_leaders(system, service, projection)
        print(f"{projection}: {owners}")
    mail_leader = partition_leaders(system, "notifier", "notifier.outbox")[0]
    seed = random.randrange(1 << 30)
    print(f"random seed of the chat kill: {seed}")
    chat = ChatLoad(system, kill_after=random.Random(seed).randint(6, CHAT_MESSAGES // 2))

    load = Load(system)
    people = [new_person() for _ in range(PEOPLE)]
    with ThreadPoolExecutor(WORKERS) as pool, ThreadPoolExecutor(1) as chat_pool:
        chatting = chat_pool.submit(chat.run)
        futures = [pool.submit(load.one, person) for person in people]
        # At random-ish moments of the load: each kill once its part of the flow is moving.
        wait_until(lambda: load.registered >= 3, 120, "registrations flowing")
        system.kill(identity_leader)
        wait_until(lambda: load.submitted >= 1, 180, "submissions flowing")
        system.kill(applications_leader)
        wait_until(lambda: load.submitted >= 3, 180, "more submissions")
        with ThreadPoolExecutor(8) as burst:
            crowd = list(burst.map(load.register, [new_person() for _ in range(BURST)]))
        for person in crowd:  # both senders drain the backlog: no notifier died yet
            wait_until(
                functools.partial(has_mail, system, person.email, "Подтвердите адрес"), 90, person.email
            )
        assert system.mailbox.dropped() == dropped_before, "two senders sent the same e-mail"
        system.kill(mail_leader)
        done = [f.result(timeout=600) for f in futures]
        chatting.result(timeout=300)

    # The relays were handed over: the other replica of each says it leads.
    for service, dead in (("identity", identity_leader), ("applications", applications_leader)):
        other = next(r for r in replicas(system, service) if r != dead)
        wait_until(functools.partial(relay_leads, system, other), 30, f"{other} leads")
    other_notifier = next(r for r in replicas(system, "notifier") if r != mail_leader)
    for p in range(PARTITIONS):
        wait_until(
            functools.partial(leads, system, other_notifier, f"consumer:notifier.outbox#{p}"),
            30,
            f"outbox partition {p} handed over",
        )
    other_chat = next(r for r in replicas(system, "chat") if r != chat.killed)
    wait_until(functools.partial(relay_leads, system, other_chat), 30, f"{other_chat} leads")

    # Every acknowledged chat message once in the thread and once on every socket of it.
    chat.check()

    # Every acknowledged command is kept: the accounts log in, the applications are there.
    with system.client() as http:
        for item in done:
            login = {"login": item.person.login, "password": item.person.password}
            token = command(http, "POST", "/api/v1/sessions", (201,), json=login).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            found = command(http, "GET", f"/api/v1/applications/{item.application_id}", (200,), headers=auth)
            assert found.json()["number"] == item.number

    # Every e-mail exactly once: the confirmation and the receipt of each person.
    for item in done:
        receipt = f"Заявка {item.number} принята"
        wait_until(functools.partial(has_mail, system, item.person.email, receipt), 90, receipt)
    applicant = chat.applicant_person.email  # the staff's messages wait unread (LK_CHAT_MAIL_DELAY)
    wait_until(functools.partial(has_mail, system, applicant, "Новое сообщение"), 90, "the chat's e-mail")
    time.sleep(3)  # anything late would be a duplicate
    chat_mails = [m for m in system.mailbox.messages_to(applicant) if m.subject.startswith("Новое сообщение")]
    assert len(chat_mails) == 1, [m.subject for m in chat_mails]
    for person in crowd:
        assert len(system.mailbox.messages_to(person.email)) == 1, person.email
    for item in done:
        subjects = sorted(m.subject for m in system.mailbox.messages_to(item.person.email))
        confirmations = [s for s in subjects if s.startswith("Подтвердите адрес")]
        receipts = [s for s in subjects if s.startswith(f"Заявка {item.number} принята")]
        assert (len(confirmations), len(receipts)) == (1, 1), f"{item.person.email}: {subjects}"
    # One notifier was killed: at most the one message between the server's "250" and its
    # "sent" mark went again, and the receiver dropped it by its Message-ID — counted here.
    dropped = system.mailbox.dropped() - dropped_before
    print(f"mail dropped by Message-ID during the test: {dropped}")
    assert dropped <= 1
