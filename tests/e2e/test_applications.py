"""Applications, one body per mode: the catalog, submission with documents, the whole
status workflow (the stages by their facts) with e-mails exactly once, requested documents, withdrawal,
concurrency, deadlines, IDOR, and a rebuild of the read model from its topic."""

from __future__ import annotations

import asyncio
import re
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from services.applications.projections import ApplicationsView, DocumentsView
from shared.consumer import ConsumerRunner, Projection
from shared.readstore import SQLiteReadStore, build_readstore
from shared.topology import topics
from shared.transport import build_transport
from tests.conftest import Person, new_person
from tests.e2e.files_helpers import upload_pdf, upload_zip
from tests.e2e.helpers import log_in, mails_with, register_and_confirm
from tests.e2e.process_steps import step
from tests.e2e.test_identity_complete import NEW_PASSWORD, create_staff
from tests.harness import System

STAFF_DESK = "chat-desk@grid.example.ru"  # LK_STAFF_MAIL of every system in tests/harness.py

FORWARD = ["in_work", "contract", "activities", "tu_check", "acts", "completed"]
TITLES = {
    "in_work": "В работе",
    "contract": "Заключение договора ТП",
    "activities": "Выполнение мероприятий по ТП",
    "tu_check": "Проверка выполнения ТУ",
    "acts": "Подготовка актов ТП",
    "completed": "Заявка выполнена",
}


@pytest.fixture
def staff(system: System) -> dict[str, str]:
    person = new_person()
    create_staff(system, person.login, person.email)
    with system.client() as http:
        return log_in(http, person.login, NEW_PASSWORD)


def consumer(system: System, http: httpx.Client, person: Person) -> dict[str, str]:
    register_and_confirm(system, http, person)
    return log_in(http, person.login, person.password)


def application_body(docs: list[dict[str, str]], **change: Any) -> dict[str, Any]:
    return {
        "type_code": "individual_15kw",
        "power_kw": 12.5,
        "object_address": "Тверская обл., г. Тверь, ул. Садовая, д. 7",
        "contact": {"phone": "+7 (900) 123-45-67", "email": "contact@example.ru"},
        "documents": docs,
        "comment": "Прошу рассмотреть",
        **change,
    }


def submit(http: httpx.Client, auth: dict[str, str]) -> dict[str, Any]:
    docs = [
        {"slot": "archive", "file_id": upload_zip(http, auth)},
        {"slot": "application_form", "file_id": upload_pdf(http, auth)},
    ]
    answer = http.post("/api/v1/applications", headers=auth, json=application_body(docs))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def move(http: httpx.Client, auth: dict[str, str], app_id: str, to: str, comment: str = "") -> httpx.Response:
    return http.post(
        f"/api/v1/applications/{app_id}/transitions", headers=auth, json={"to_status": to, "comment": comment}
    )


def test_catalog_is_public_and_complete(system: System) -> None:
    with system.client() as http:
        items = http.get("/api/v1/application-types").json()["items"]
        codes = {item["code"] for item in items}
        assert {
            "individual_15kw",
            "legal_150kw",
            "legal_150_670kw",
            "over_670kw",
            "temporary",
            "microgeneration_150kw",
        } <= codes
        one = http.get("/api/v1/application-types/individual_15kw").json()
        assert one["max_power_kw"] == 15 and one["terms"] and one["procedure"] and one["payment"]
        assert any(doc["required"] for doc in one["documents"]) and all(
            doc["title"] for doc in one["documents"]
        )
        assert http.get("/api/v1/application-types/nope").status_code == 404
        page = http.get("/apply/individual_15kw")
        assert page.status_code == 200 and "Подать заявку на ТП" in page.text and "Срок" in page.text


def test_the_whole_workflow_with_one_email_per_change(
    system: System, person: Person, staff: dict[str, str]
) -> None:
    with system.client() as http:
        auth = consumer(system, http, person)
        created = submit(http, auth)
        assert re.fullmatch(r"ТП-\d{4}-\d{6}", created["number"]) and created["status"] == "submitted"
        app_id = created["id"]

        mine = http.get("/api/v1/applications", headers=auth).json()["items"]
        assert [row["number"] for row in mine] == [created["number"]]
        assert mine[0]["status_title"] == "Подана" and mine[0]["deadline"]["working_days_left"] >= 0

        # The stages follow their facts (tests/e2e/process_steps.py): the completeness check
        # (a plain move, with the staff's comment), the offer, the full payment, the
        # applicant's notice, the connection, the closing document.
        for stage in FORWARD:
            answer = step(http, staff, auth, app_id, stage, "Комментарий: in_work")
            assert answer.status_code in (200, 201), answer.text
            assert answer.json()["status"] == stage
        seen = http.get(f"/api/v1/applications/{app_id}", headers=auth).json()
        assert seen["status_title"] == "Заявка выполнена" and seen["deadline"] is None
        changes = [t for t in seen["timeline"] if t["kind"] == "status"]
        assert [t["to_status"] for t in changes] == ["submitted", *FORWARD]
        assert [t["actor_role"] for t in changes[1:]] == [
            "staff",
            "staff",
            "staff",
            "consumer",
            "staff",
            "staff",
        ]
        assert changes[1]["comment"] == "Комментарий: in_work" and all(t["comment"] for t in changes[2:])
        assert move(http, staff, app_id, "annulled", "поздно").status_code == 409

    receipt = mails_with(system, person.email, f"Заявка {created['number']} принята")
    assert len(receipt) == 1
    # One e-mail per change: the offer's and the closing document's own e-mails tell theirs.
    told = {"contract": "договор, технические условия и счёт размещены"}
    for stage in FORWARD:
        mails = mails_with(
            system, person.email, f"Заявка {created['number']}: {told.get(stage, TITLES[stage])}"
        )
        assert len(mails) == 1, stage
        assert f"/applications/{app_id}" in mails[0].text
    assert "Комментарий: in_work" in mails_with(system, person.email, TITLES["in_work"])[0].text
    # Every e-mail above arrived (the closing one last): nothing more came.
    assert len(system.mailbox.messages_to(person.email)) == 1 + 1 + len(FORWARD)  # confirm + receipt + steps


def test_documents_requested_and_supplied(system: System, person: Person, staff: dict[str, str]) -> None:
    """Issue 10 §3: a history first, then staff ask for documents; the applicant sends them per
    checklist slot (one file serving two slots); the application is back «В работе» with its
    term from the upload, the history names the files, staff see the flag and get an e-mail."""
    with system.client() as http:
        auth = consumer(system, http, person)
        created = submit(http, auth)
        app_id = created["id"]
        # Documents are requested within the completeness check, from «Подана».
        assert move(http, staff, app_id, "needs_documents", "").status_code == 422  # a reason is required
        assert move(http, staff, app_id, "needs_documents", "Нужен план участка").status_code == 200
        # Another application found complete today: its term is the one the upload restarts.
        in_work = move(http, staff, submit(http, auth)["id"], "in_work", "Комплект полный")
        assert in_work.status_code == 200
        plan = upload_pdf(http, auth, "План и право собственности.pdf")
        added = http.post(
            f"/api/v1/applications/{app_id}/documents",
            headers=auth,
            json={
                "documents": [
                    {"slot": "site_plan", "file_id": plan},
                    {"slot": "title_document", "file_id": plan},
                ]
            },
        )
        assert added.status_code == 200, added.text
        seen = added.json()
        # Back in work, the term counted from today's upload (as from today's first «В работе»).
        assert (seen["status"], seen["deadline"]["due"]) == ("in_work", in_work.json()["deadline"]["due"])
        assert sorted(d["slot"] for d in seen["documents"] if d["file_id"] == plan) == [
            "site_plan",
            "title_document",
        ]
        entry = next(t for t in seen["timeline"] if t["kind"] == "documents")
        assert entry["to_title"] == "Заявитель добавил документы"
        assert {(d["slot"], d["name"]) for d in entry["documents"]} == {
            ("site_plan", "План и право собственности.pdf"),
            ("title_document", "План и право собственности.pdf"),
        }
        kinds = [(t["kind"], t["to_status"]) for t in seen["timeline"]]
        assert kinds[-2:] == [("documents", None), ("status", "in_work")]  # documents, then back in work

        def queued() -> dict[str, Any]:
            rows = http.get("/api/v1/applications", headers=staff, params={"q": created["number"]}).json()
            return dict(rows["items"][0])

        assert queued()["documents_received"] is True
        again = http.post(
            f"/api/v1/applications/{app_id}/documents",
            headers=auth,
            json={"documents": [{"slot": "archive", "file_id": upload_zip(http, auth, "Ещё.zip")}]},
        )
        assert again.status_code == 409 and again.json()["code"] == "documents_not_requested"
        assert step(http, staff, auth, app_id, "contract").status_code == 200  # the offer placed
        assert queued()["documents_received"] is False  # staff moved it on
    # The desk address is shared by every system of the test run (numbers repeat across their
    # databases on the real stack's one Mailpit): this application's mail is the one linking it.
    desk = mails_with(system, STAFF_DESK, f"Заявка {created['number']}: заявитель добавил документы")
    [mail] = [m for m in desk if f"/applications/{app_id}" in m.text]
    assert "План и право собственности.pdf" in mail.text
    assert len(mails_with(system, person.email, f"Заявка {created['number']}: Требуются документы")) == 1
    assert len(mails_with(system, person.email, f"Заявка {created['number']}: В работе")) == 1


def test_staff_see_the_contact_and_comment(system: System, person: Person, staff: dict[str, str]) -> None:
    with system.client() as http, system.client() as theirs:
        auth = consumer(system, http, person)
        app_id = submit(http, auth)["id"]
        for who in (staff, auth):
            seen = http.get(f"/api/v1/applications/{app_id}", headers=who).json()
            assert seen["contact"] == {"phone": "+7 (900) 123-45-67", "email": "contact@example.ru"}
            assert seen["comment"] == "Прошу рассмотреть"
        stranger = consumer(system, theirs, new_person())
        assert theirs.get(f"/api/v1/applications/{app_id}", headers=stranger).status_code == 404
        listed = http.get("/api/v1/applications", headers=staff, params={"q": "садовая"}).json()["items"]
        assert all("contact" not in row and "comment" not in row for row in listed)
        assert staff_page(system, staff, app_id).count("+7 (900) 123-45-67") >= 1


def staff_page(system: System, staff: dict[str, str], app_id: str) -> str:
    """The application page as staff see it (the bearer token as the session cookie)."""
    token = staff["Authorization"].removeprefix("Bearer ")
    with httpx.Client(base_url=system.base_url, cookies={"lk_session": token}, timeout=30) as browser:
        page = browser.get(f"/applications/{app_id}")
        assert page.status_code == 200, page.text
        return page.text


def test_a_refused_submission_takes_no_number(system: System, person: Person) -> None:
    """Issue 10 §3: every rule is checked before a number is taken from the series."""
    with system.client() as http:
        auth = consumer(system, http, person)
        first = submit(http, auth)["number"]
        pdf = upload_pdf(http, auth)
        for change in (
            {"documents": [{"slot": "application_form", "file_id": pdf}]},  # documents_missing
            {"power_kw": 16},  # power_exceeds_limit
            {"type_code": "nope"},  # unknown_type
            {"documents": [{"slot": "archive", "file_id": str(uuid.uuid4())}]},  # file_not_found
        ):
            body = application_body([{"slot": "archive", "file_id": upload_zip(http, auth)}]) | change
            refused = http.post("/api/v1/applications", headers=auth, json=body)
            assert refused.status_code == 422, refused.text
        second = submit(http, auth)["number"]
    year, number = first.rsplit("-", 1)
    assert second == f"{year}-{int(number) + 1:06d}"  # no gap


def test_the_applicants_name_follows_the_profile(
    system: System, person: Person, staff: dict[str, str]
) -> None:
    with system.client() as http:
        auth = consumer(system, http, person)
        created = submit(http, auth)
        renamed = http.patch("/api/v1/me", headers=auth, json={"first_name": "Анна", "last_name": "Ёлкина"})
        assert renamed.status_code == 200, renamed.text

        def row(q: str) -> list[dict[str, Any]]:
            items = http.get("/api/v1/applications", headers=staff, params={"q": q}).json()["items"]
            return [dict(r) for r in items if r["id"] == created["id"]]

        deadline = time.monotonic() + 15
        while not row("ёлкина") and time.monotonic() < deadline:
            time.sleep(0.1)
        [found] = row("ёлкина")
        assert found["applicant_name"] == "Ёлкина Анна"
        assert row(person.login) == []  # the login frozen at submission is gone from the search
        assert http.get(f"/api/v1/applications/{created['id']}", headers=staff).json()["applicant_name"] == (
            "Ёлкина Анна"
        )


def test_unread_chat_messages_are_listed_per_side(
    system: System, person: Person, staff: dict[str, str]
) -> None:
    with system.client() as http:
        auth = consumer(system, http, person)
        app_id = submit(http, auth)["id"]
        chat = f"/api/v1/applications/{app_id}/messages"
        for text in ("Нужен план участка.", "И копия паспорта.", "Срок — 3 рабочих дня."):
            assert http.post(chat, headers=staff, json={"text": text}).status_code == 201
        assert http.post(chat, headers=auth, json={"text": "Хорошо, пришлю."}).status_code == 201

        def unread(who: dict[str, str]) -> int:
            params = {"q": submitted_number(http, who, app_id)} if who is staff else {}
            rows = http.get("/api/v1/applications", headers=who, params=params).json()["items"]
            return int(next(r for r in rows if r["id"] == app_id)["unread_messages"])

        assert until(lambda: unread(auth) == 3) and until(lambda: unread(staff) == 1)
        assert http.post(f"{chat}/read", headers=auth, json={"up_to_seq": 2}).status_code == 200
        assert until(lambda: unread(auth) == 1)
        assert http.post(f"{chat}/read", headers=staff, json={"up_to_seq": 4}).status_code == 200
        assert until(lambda: unread(staff) == 0) and unread(auth) == 1


def submitted_number(http: httpx.Client, who: dict[str, str], app_id: str) -> str:
    return str(http.get(f"/api/v1/applications/{app_id}", headers=who).json()["number"])


def until(check: Any, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_withdrawal_and_role_checks(system: System, person: Person, staff: dict[str, str]) -> None:
    with system.client() as http:
        auth = consumer(system, http, person)
        app_id = submit(http, auth)["id"]
        forbidden = move(http, auth, app_id, "in_work")
        assert forbidden.status_code == 403 and forbidden.json()["code"] == "forbidden"
        skip = move(http, staff, app_id, "contract")  # a stage entered by its fact, the offer
        assert skip.status_code == 409 and skip.json()["code"] == "fact_required"
        assert skip.json()["message"].startswith("Этот этап наступает по факту: сотрудник размещает договор")
        assert move(http, staff, app_id, "tu_check").json()["code"] == "fact_required"
        withdrawn = move(http, auth, app_id, "annulled")
        assert withdrawn.status_code == 200 and withdrawn.json()["status_title"] == "Аннулирована"
        assert move(http, staff, app_id, "in_work").status_code == 409
        assert http.post("/api/v1/applications", headers=staff, json=application_body([])).status_code in (
            403,
            422,
        )


def test_two_staff_at_once_one_wins(system: System, person: Person, staff: dict[str, str]) -> None:
    other = new_person()
    create_staff(system, other.login, other.email)
    with system.client() as http:
        auth = consumer(system, http, person)
        app_id = submit(http, auth)["id"]
        second = log_in(http, other.login, NEW_PASSWORD)
        version = http.get(f"/api/v1/applications/{app_id}", headers=staff).json()["version"]
        answers: list[int] = []

        def act(headers: dict[str, str], to: str) -> None:
            with system.client() as own:
                answer = own.post(
                    f"/api/v1/applications/{app_id}/transitions",
                    headers=headers,
                    json={"to_status": to, "comment": "причина", "expected_version": version},
                )
                answers.append(answer.status_code)

        threads = [
            threading.Thread(target=act, args=(staff, "in_work")),
            threading.Thread(target=act, args=(second, "needs_documents")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(answers) == [200, 409]
        final = http.get(f"/api/v1/applications/{app_id}", headers=auth).json()
        assert len(final["timeline"]) == 2  # exactly one change recorded


def test_someone_elses_application_is_not_found(system: System, person: Person) -> None:
    with system.client() as http, system.client() as theirs:
        auth = consumer(system, http, person)
        app_id = submit(http, auth)["id"]
        stranger = consumer(system, theirs, new_person())
        assert theirs.get(f"/api/v1/applications/{app_id}", headers=stranger).status_code == 404
        assert move(theirs, stranger, app_id, "annulled").status_code == 404
        docs = theirs.post(
            f"/api/v1/applications/{app_id}/documents",
            headers=stranger,
            json={"documents": [{"slot": "archive", "file_id": "x"}]},
        )
        assert docs.status_code == 404
        assert theirs.get("/api/v1/applications", headers=stranger).json()["items"] == []
        assert theirs.get(f"/api/v1/applications/{uuid.uuid4()}", headers=stranger).status_code == 404
        assert theirs.get("/api/v1/applications/not-a-uuid", headers=stranger).status_code == 404
        # Someone else's file cannot be attached.
        my_file = upload_zip(http, auth)
        steal = theirs.post(
            "/api/v1/applications",
            headers=stranger,
            json=application_body([{"slot": "archive", "file_id": my_file}]),
        )
        assert steal.status_code == 422 and steal.json()["code"] == "file_not_found"


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"type_code": "nope"}, 422, "unknown_type"),
        ({"power_kw": 16}, 422, "power_exceeds_limit"),
        ({"power_kw": -1}, 422, "validation_error"),
        ({"power_kw": "много"}, 422, "validation_error"),
        ({"documents": []}, 422, "validation_error"),
        ({"contact": {"phone": "<script>", "email": "x@example.ru"}}, 422, "validation_error"),
        ({"documents": [{"slot": "archive", "file_id": str(uuid.uuid4())}]}, 422, "file_not_found"),
        ({"object_address": "x" * 600}, 422, "validation_error"),
    ],
)
def test_bad_submissions(
    system: System, person: Person, change: dict[str, Any], status: int, code: str
) -> None:
    with system.client() as http:
        auth = consumer(system, http, person)
        pdf = upload_pdf(http, auth)
        body = application_body([{"slot": "application_form", "file_id": pdf}], **change)
        answer = http.post("/api/v1/applications", headers=auth, json=body)
        assert answer.status_code == status, answer.text
        assert answer.json()["code"] == code
        assert http.get("/api/v1/applications", headers=auth).json()["items"] == []  # nothing stored


def test_missing_required_documents(system: System, person: Person) -> None:
    with system.client() as http:
        auth = consumer(system, http, person)
        pdf = upload_pdf(http, auth)
        answer = http.post(
            "/api/v1/applications",
            headers=auth,
            json=application_body([{"slot": "application_form", "file_id": pdf}]),
        )
        assert answer.status_code == 422 and answer.json()["code"] == "documents_missing"
        assert "План расположения" in answer.json()["message"]
        assert http.get("/api/v1/applications", headers=auth).json()["items"] == []  # nothing half-made


def test_staff_queue_filters_and_search(system: System, person: Person, staff: dict[str, str]) -> None:
    with system.client() as http:
        auth = consumer(system, http, person)
        created = submit(http, auth)
        found = http.get("/api/v1/applications", headers=staff, params={"q": created["number"]}).json()
        assert [row["id"] for row in found["items"]] == [created["id"]]
        by_address = http.get(
            "/api/v1/applications", headers=staff, params={"q": "садовая", "status": "submitted"}
        )
        assert created["id"] in {row["id"] for row in by_address.json()["items"]}
        none = http.get(
            "/api/v1/applications", headers=staff, params={"q": created["number"], "overdue": "true"}
        )
        assert none.json()["items"] == []
        assert http.get("/api/v1/applications", headers=staff, params={"status": "bogus"}).status_code == 422
        paged = http.get("/api/v1/applications", headers=staff, params={"limit": 1}).json()
        assert len(paged["items"]) == 1 and paged["total"] >= 1


def test_read_model_rebuilds_to_the_same_rows(system: System, person: Person, staff: dict[str, str]) -> None:
    """Both topics of the view (the applicant renamed after filing) and the documents per slot."""
    with system.client() as http:
        auth = consumer(system, http, person)
        app_id = submit(http, auth)["id"]
        assert move(http, staff, app_id, "needs_documents", "Нужен план").status_code == 200
        plan = upload_pdf(http, auth, "План.pdf")
        both = [{"slot": "site_plan", "file_id": plan}, {"slot": "title_document", "file_id": plan}]
        assert (
            http.post(
                f"/api/v1/applications/{app_id}/documents", headers=auth, json={"documents": both}
            ).status_code
            == 200
        )
        assert (
            http.patch(
                "/api/v1/me", headers=auth, json={"first_name": "Иван", "last_name": "Петров"}
            ).status_code
            == 200
        )
        assert until(
            lambda: (
                http.get(f"/api/v1/applications/{app_id}", headers=staff).json()["applicant_name"]
                == "Петров Иван"
            )
        )

    async def compare() -> None:
        settings = system.settings
        live = build_readstore(settings, "applications")
        await live.open()
        fresh = SQLiteReadStore(system.root / f"rebuild-{uuid.uuid4().hex}.sqlite")
        await fresh.open()
        transport = build_transport(settings)
        await transport.start()
        projections: list[Projection] = [ApplicationsView(), DocumentsView()]
        for projection in projections:
            projection.topics = topics(projection.name, settings)
        runners = [ConsumerRunner(projection, transport, fresh) for projection in projections]
        tasks = [asyncio.create_task(runner.run()) for runner in runners]
        try:
            queries = [
                ("SELECT * FROM applications_rows WHERE application_id = $1", ()),
                ("SELECT * FROM applications_timeline WHERE application_id = $1 ORDER BY version", ()),
                ("SELECT * FROM applications_slots WHERE application_id = $1 ORDER BY slot, file_id", ()),
                ("SELECT * FROM applications_contacts WHERE application_id = $1", ()),
            ]
            expected = [await live.fetch(sql, app_id) for sql, _ in queries]
            deadline = time.monotonic() + 30
            while True:
                rebuilt = (
                    [await fresh.fetch(sql, app_id) for sql, _ in queries] if await _ready(fresh) else []
                )
                if rebuilt == expected or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            assert rebuilt == expected
            assert expected[0] and len(expected[1]) == 3 and len(expected[2]) == 4  # filed, asked, back
            assert expected[0][0]["applicant_name"] == "Петров Иван"
        finally:
            for task in tasks:
                task.cancel()
            await transport.stop()
            await fresh.close()
            await live.close()

    asyncio.run(compare())


async def _ready(store: SQLiteReadStore) -> bool:
    rows = await store.fetch(
        "SELECT name FROM sqlite_master WHERE name IN ('applications_rows', 'applications_slots')"
    )
    return len(rows) == 2


def test_admins_edit_the_catalog(system: System, person: Person, staff: dict[str, str]) -> None:
    boss = new_person()
    create_staff(system, boss.login, boss.email, admin=True)
    code = "t" + uuid.uuid4().hex[:8]
    entry = {
        "title": "Заявка на перераспределение мощности",
        "description": "Перераспределение максимальной мощности между потребителями.",
        "max_power_kw": 150,
        "terms": "10 рабочих дней",
        "procedure": "1. Подайте заявку.\n2. Получите договор.",
        "payment": "По ставке региона",
        "fees": [{"region": "69", "category": "все", "basis": "ставка за 1 кВт", "rate_rub": 1000}],
        "documents": [{"code": "application_form", "title": "Заявка", "required": True}],
        "deadlines": {"submitted": {"working_days": 3}, "in_work": {"months": 1}},
    }
    with system.client() as http:
        auth = consumer(system, http, person)
        admin = log_in(http, boss.login, NEW_PASSWORD)
        assert http.put(f"/api/v1/application-types/{code}", headers=auth, json=entry).status_code == 403
        assert http.put(f"/api/v1/application-types/{code}", headers=staff, json=entry).status_code == 403
        bad = http.put(
            f"/api/v1/application-types/{code}",
            headers=admin,
            json={**entry, "deadlines": {"bogus": {"months": 1}}},
        )
        assert bad.status_code == 422 and bad.json()["code"] == "unknown_status"
        created = http.put(f"/api/v1/application-types/{code}", headers=admin, json=entry)
        assert created.status_code == 200, created.text
        assert http.get(f"/api/v1/application-types/{code}").json()["fees"][0]["rate_rub"] == 1000
        edited = http.put(
            f"/api/v1/application-types/{code}", headers=admin, json={**entry, "max_power_kw": 100}
        )
        assert edited.json()["max_power_kw"] == 100
        assert code in {t["code"] for t in http.get("/api/v1/application-types").json()["items"]}


HOSTILE_NEXT = (
    "//evil.example/applications",
    "///evil.example",
    "/\\evil.example",
    "/applications/\\evil.example",
    "https://evil.example/applications",
    "javascript:alert(1)",
    "/%2F%2Fevil.example",
    "%2F%2Fevil.example",
    "/applications/%2e%2e/%2e%2e/evil",
    "/applications/../../evil.example",
    "/applications//evil.example",
    "/applications?next=https://evil.example",
    "/applications\r\nSet-Cookie: x=1",
    " /applications",
    "/cabinet@evil.example",
    "/elsewhere",
)


def page_login(http: httpx.Client, login: str, password: str, next_page: str) -> httpx.Response:
    """The login form as a browser posts it (the CSRF field from the cookie the page set)."""
    assert http.get("/?tab=login").status_code == 200
    form = {"login": login, "password": password, "csrf": http.cookies["lk_csrf"], "next": next_page}
    return http.post("/login", data=form)


def test_an_emailed_link_survives_the_login(system: System, person: Person, staff: dict[str, str]) -> None:
    """Issue 10 §2: the status e-mail links to the application page; an anonymous visitor is
    sent to the login with ``next`` and comes back to that page; hostile targets are refused."""
    with system.client() as http:
        auth = consumer(system, http, person)
        created = submit(http, auth)
        assert move(http, staff, created["id"], "in_work", "Принята").status_code == 200
    [mail] = mails_with(system, person.email, f"Заявка {created['number']}: В работе")
    link = next(word for word in mail.text.split() if f"/applications/{created['id']}" in word)
    assert link == f"{system.base_url}/applications/{created['id']}"
    target = f"/applications/{created['id']}"
    with system.client() as browser:
        opened = browser.get(link)
        assert opened.status_code == 303
        assert opened.headers["location"] == "/?tab=login&" + urlencode({"next": target})
        form = browser.get(opened.headers["location"])
        assert f'name="next" value="{target}"' in form.text
        wrong = page_login(browser, person.login, "не тот пароль", target)
        assert wrong.status_code == 303 and wrong.headers["location"] == opened.headers["location"]
        done = page_login(browser, person.login, person.password, target)
        assert done.status_code == 303 and done.headers["location"] == target
        assert created["number"] in browser.get(target).text
        # Already logged in: the login tab forwards to a safe ``next`` at once.
        assert browser.get("/", params={"next": target}).headers["location"] == target
    for hostile in HOSTILE_NEXT:
        with system.client() as browser:
            login_tab = browser.get("/", params={"tab": "login", "next": hostile})
            assert 'name="next"' not in login_tab.text, hostile
            answer = page_login(browser, person.login, person.password, hostile)
            assert (answer.status_code, answer.headers["location"]) == (303, "/cabinet"), hostile
            assert browser.get("/", params={"next": hostile}).headers["location"] == "/cabinet", hostile
