"""Files and standard forms, one body per mode (embedded: a local folder; stack: the real S3
server): round trip, Russian names, access rules, every hostile upload, an interrupted
upload, the forms library, filled-in applications, new form versions, the pages."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import re
import socket
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest
from docx import Document

from shared.events import Envelope, FileDeletedV1, FileUploadedV1, MessagePostedV1
from shared.transport import build_transport
from tests.conftest import Person, new_person
from tests.e2e.helpers import log_in, read_events, register_and_confirm
from tests.harness import ROOT, System

STAFF_PASSWORD = "Лампа-над-столом-1987!"
TYPE_CODES = {
    "individual_15kw",
    "legal_150kw",
    "legal_150_670kw",
    "over_670kw",
    "temporary",
    "microgeneration_150kw",
}
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"


@dataclass
class Account:
    person: Person
    id: str
    auth: dict[str, str]


@dataclass
class People:
    owner: Account
    other: Account
    staff: Account


def consumer(system: System, http: httpx.Client) -> Account:
    person = new_person()
    register_and_confirm(system, http, person)
    auth = log_in(http, person.login, person.password)
    return Account(person, http.get("/api/v1/me", headers=auth).json()["id"], auth)


def staff_member(system: System, http: httpx.Client) -> Account:
    person = new_person()
    args = [sys.executable, "-m", "shared.cli", "admin", "create-staff", "--login", person.login]
    args += ["--email", person.email, "--password", STAFF_PASSWORD]
    done = subprocess.run(args, env=system.env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    auth = log_in(http, person.login, STAFF_PASSWORD)
    return Account(person, http.get("/api/v1/me", headers=auth).json()["id"], auth)


@pytest.fixture(scope="module")
def people(system: System) -> Iterator[People]:
    """Two consumers and a staff member, logged in once per system (bearer tokens)."""
    with system.client() as http:
        yield People(consumer(system, http), consumer(system, http), staff_member(system, http))


def upload(
    http: httpx.Client, auth: dict[str, str], name: str, data: bytes, ctype: str = "application/pdf"
) -> httpx.Response:
    return http.post("/api/v1/files", headers=auth, files={"file": (name, data, ctype)})


def stored_blobs(system: System) -> list[str]:
    """Every object in the system's blob store, its unfinished uploads and temp files."""
    settings = system.settings
    files_dir = settings.var_dir / "files"
    temps = sorted(str(p) for p in (files_dir / "tmp").glob("*")) if (files_dir / "tmp").exists() else []
    if system.mode == "embedded":
        return sorted(str(p) for p in (files_dir / "blobs").glob("*/*")) + temps
    from minio import Minio

    client = Minio(
        settings.s3_endpoint, settings.s3_access_key, settings.s3_secret_key, secure=settings.s3_secure
    )
    prefix = settings.topic_prefix.strip(".") + "/"
    objects = sorted(
        str(o.object_name) for o in client.list_objects(settings.s3_bucket, prefix=prefix, recursive=True)
    )
    pending = client._list_multipart_uploads(settings.s3_bucket, prefix=prefix).uploads
    return objects + [f"incomplete:{u.object_name}" for u in pending] + temps


def uploads_of(system: System, owner_id: str, barrier: str, timeout: float = 30.0) -> list[FileUploadedV1]:
    """``FileUploaded`` events of ``owner_id`` on files.events, read until ``barrier`` (a file id
    uploaded last) has been seen and a moment more (Kafka partitions interleave)."""

    async def collect() -> list[FileUploadedV1]:
        settings = system.settings
        transport = build_transport(settings)
        await transport.start()
        found: list[FileUploadedV1] = []
        deadline, stop_at = time.monotonic() + timeout, None
        try:
            async for batch in transport.consume([settings.topic("files")], {}):
                for message in batch:
                    event = Envelope.from_bytes(message.value).parse()
                    if isinstance(event, FileUploadedV1) and event.owner_id == owner_id:
                        found.append(event)
                        if event.file_id == barrier:
                            stop_at = time.monotonic() + 1.0
                now = time.monotonic()
                if now > deadline or (stop_at is not None and now > stop_at):
                    break
        finally:
            await transport.stop()
        return found

    return asyncio.run(collect())


def zip_of(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def docx_text(data: bytes) -> str:
    document = Document(io.BytesIO(data))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


# files ------------------------------------------------------------------------------------------------
def test_round_trip_with_a_russian_name(system: System, people: People) -> None:
    data = PDF + os.urandom(3 * 1024 * 1024 + 123)
    with system.client() as http:
        created = upload(http, people.owner.auth, "C:\\fakepath\\Заявка\x07 на ТП «Берёзки».pdf", data)
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["name"] == "Заявка на ТП «Берёзки».pdf"
        assert (body["size"], body["content_type"]) == (len(data), "application/pdf")
        assert body["sha256"] == hashlib.sha256(data).hexdigest() and body["archive_entries"] is None
        # Read-your-writes: downloadable and listed at once.
        got = http.get(f"/api/v1/files/{body['id']}", headers=people.owner.auth)
        assert got.status_code == 200 and got.content == data
        assert got.headers["content-type"] == "application/pdf"
        assert got.headers["x-content-type-options"] == "nosniff"
        disposition = got.headers["content-disposition"]
        assert disposition.startswith("attachment;") and 'filename="' in disposition
        assert unquote(disposition.split("filename*=UTF-8''")[1]) == "Заявка на ТП «Берёзки».pdf"
        meta = http.get(f"/api/v1/files/{body['id']}/meta", headers=people.owner.auth).json()
        assert {k: meta[k] for k in body} == body
        listed = http.get("/api/v1/files", headers=people.owner.auth).json()["items"]
        assert body["id"] in [item["id"] for item in listed]
    events = uploads_of(system, people.owner.id, body["id"])
    assert [(e.file_id, e.name, e.size, e.sha256) for e in events if e.file_id == body["id"]] == [
        (body["id"], body["name"], len(data), body["sha256"])
    ]


def test_access_rules(system: System, people: People) -> None:
    with system.client() as http:
        created = upload(
            http, people.owner.auth, "скан.png", b"\x89PNG\r\n\x1a\n" + os.urandom(5000), "image/png"
        )
        assert created.status_code == 201, created.text
        file_id = created.json()["id"]
        nowhere = http.get(f"/api/v1/files/{uuid.uuid4()}", headers=people.staff.auth)
        assert nowhere.status_code == 404 and nowhere.json()["code"] == "not_found"
        for path in (f"/api/v1/files/{file_id}", f"/api/v1/files/{file_id}/meta"):
            assert http.get(path, headers=people.owner.auth).status_code == 200
            # A consumer's upload attached to nothing is private, from staff too.
            for reader in (people.other, people.staff):
                foreign = http.get(path, headers=reader.auth)
                assert (foreign.status_code, foreign.content) == (404, nowhere.content)
            with system.client() as anonymous:
                assert anonymous.get(path).status_code == 401
        assert http.get(f"/api/v1/files/{uuid.uuid4()}", headers=people.owner.auth).status_code == 404
        assert http.get("/api/v1/files/not-a-uuid", headers=people.owner.auth).status_code == 404
        assert file_id not in [
            i["id"] for i in http.get("/api/v1/files", headers=people.other.auth).json()["items"]
        ]
        with system.client() as anonymous:
            refused = upload(anonymous, {}, "x.pdf", PDF + b"x")
            assert refused.status_code == 401


def test_a_safe_archive_is_listed_and_office_files_are_known(system: System, people: People) -> None:
    archive = zip_of(
        {"документы/план участка.pdf": PDF + b"plan", "документы/паспорт.jpg": b"\xff\xd8\xff" + b"j" * 900}
    )
    buffer = io.BytesIO()
    Document().save(buffer)
    with system.client() as http:
        created = upload(http, people.owner.auth, "документы.zip", archive, "application/zip")
        assert created.status_code == 201, created.text
        assert created.json()["content_type"] == "application/zip"
        assert created.json()["archive_entries"] == [
            {"name": "документы/план участка.pdf", "size": len(PDF) + 4},
            {"name": "документы/паспорт.jpg", "size": 903},
        ]
        got = http.get(f"/api/v1/files/{created.json()['id']}", headers=people.owner.auth)
        assert got.content == archive
        office = upload(http, people.owner.auth, "письмо.bin", buffer.getvalue(), "application/octet-stream")
        assert office.status_code == 201 and office.json()["content_type"] == DOCX


def test_hostile_uploads_are_refused_and_leave_nothing(system: System, people: People) -> None:
    limit = system.settings.max_upload_bytes
    cases: list[tuple[str, bytes, int, str]] = [
        ("счёт.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + os.urandom(4000), 415, "unsupported_file_type"),
        ("pusto.pdf", b"", 422, "empty_file"),
        ("большой.pdf", PDF + bytes(limit), 413, "file_too_large"),
        ("бомба.zip", zip_of({"zeros.bin": bytes(50 * 1024 * 1024)}), 422, "archive_compression_suspicious"),
        (
            "обход.zip",
            zip_of({"ok.pdf": PDF, "../../etc/cron.d/evil": b"* * * * * boom"}),
            422,
            "archive_unsafe_path",
        ),
        ("много.zip", zip_of({f"f{i}.txt": b"x" for i in range(1001)}), 422, "archive_too_many_entries"),
        # zipfile shows "a.txt\x00.pdf" as "a.txt": the whole stored name is judged.
        (
            "нуль.zip",
            zip_of({"a.txtX.pdf": PDF}).replace(b"a.txtX.pdf", b"a.txt\x00.pdf"),
            422,
            "archive_unsafe_path",
        ),
    ]
    with system.client() as http:
        before = stored_blobs(system)
        for name, data, status, code in cases:
            answer = upload(http, people.other.auth, name, data)
            assert (answer.status_code, answer.json()["code"]) == (status, code), (name, answer.text)
            assert re.search("[а-яА-Я]", answer.json()["message"]), answer.text  # a Russian message
        missing = http.post("/api/v1/files", headers=people.other.auth, files={"other": ("a.pdf", PDF)})
        assert (missing.status_code, missing.json()["code"]) == (422, "file_required")
        assert stored_blobs(system) == before
        barrier = upload(http, people.other.auth, "барьер.pdf", PDF + b"barrier")
        assert barrier.status_code == 201
    assert [e.file_id for e in uploads_of(system, people.other.id, barrier.json()["id"])] == [
        barrier.json()["id"]
    ]


def _interrupted_upload(system: System, token: str, declared: int, sent: int) -> None:
    """A client that announces ``declared`` bytes, sends ``sent`` of them and hangs up."""
    address = urlsplit(system.base_url)
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="обрыв.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    request = (
        f"POST /api/v1/files HTTP/1.1\r\nHost: {address.netloc}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {declared}\r\n\r\n"
    ).encode()
    with socket.create_connection((address.hostname, address.port)) as sock:
        sock.sendall(request + head + PDF)
        chunk = os.urandom(256 * 1024)
        for _ in range(sent // len(chunk)):
            sock.sendall(chunk)
        time.sleep(0.3)


def test_an_interrupted_upload_leaves_no_object_and_no_event(system: System, people: People) -> None:
    token = people.other.auth["Authorization"].split()[1]
    before = stored_blobs(system)
    # More than one 10 MB part: on S3 a multipart upload has begun when the client goes.
    _interrupted_upload(system, token, declared=20 * 1024 * 1024, sent=12 * 1024 * 1024)
    deadline = time.monotonic() + 20
    while stored_blobs(system) != before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert stored_blobs(system) == before
    with system.client() as http:
        barrier = upload(http, people.other.auth, "после обрыва.pdf", PDF + b"after")
        assert barrier.status_code == 201
    names = [e.name for e in uploads_of(system, people.other.id, barrier.json()["id"])]
    assert "обрыв.pdf" not in names and "после обрыва.pdf" in names


def test_attaching_a_file_to_a_chat_shares_it_with_the_applicant(system: System, people: People) -> None:
    with system.client() as http:
        staff_file = upload(http, people.staff.auth, "договор.pdf", PDF + b"contract").json()["id"]
        assert http.get(f"/api/v1/files/{staff_file}", headers=people.other.auth).status_code == 404

        def post(author: Account, role: str) -> None:
            event = MessagePostedV1(
                message_id=str(uuid.uuid4()),
                thread_id=str(uuid.uuid4()),
                seq=1,
                applicant_id=people.other.id,
                author_id=author.id,
                author_role=role,
                author_name="x",
                text="Договор во вложении",
                attachments=[staff_file],
            )
            envelope = event.envelope(source="chat", subject=event.message_id, sequence=1, position=1)

            async def publish() -> None:
                transport = build_transport(system.settings)
                await transport.start()
                try:
                    await transport.publish(
                        system.settings.topic("chat"), [(envelope.subject, envelope.to_bytes())]
                    )
                finally:
                    await transport.stop()

            asyncio.run(publish())

        post(people.owner, "consumer")  # not the file's owner: shares nothing
        time.sleep(1.5)
        assert http.get(f"/api/v1/files/{staff_file}", headers=people.other.auth).status_code == 404
        post(people.staff, "staff")
        deadline = time.monotonic() + 20
        while http.get(f"/api/v1/files/{staff_file}/meta", headers=people.other.auth).status_code != 200:
            assert time.monotonic() < deadline, "the applicant never got access"
            time.sleep(0.2)
        assert http.get(f"/api/v1/files/{staff_file}", headers=people.other.auth).content == PDF + b"contract"
        assert staff_file in [
            i["id"] for i in http.get("/api/v1/files", headers=people.other.auth).json()["items"]
        ]
        assert http.get(f"/api/v1/files/{staff_file}", headers=people.owner.auth).status_code == 404


def _submit(http: httpx.Client, applicant: Account, archive: str) -> str:
    answer = http.post(
        "/api/v1/applications",
        headers=applicant.auth,
        json={
            "type_code": "individual_15kw",
            "power_kw": 10,
            "object_address": "Московская обл., д. Берёзки, ул. Полевая, 7",
            "contact": {"phone": "+7 900 123-45-67", "email": applicant.person.email},
            "documents": [{"slot": "archive", "file_id": archive}],
        },
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def _eventually(http: httpx.Client, path: str, auth: dict[str, str], status: int = 200) -> httpx.Response:
    deadline = time.monotonic() + 20
    while True:
        answer = http.get(path, headers=auth)
        if answer.status_code == status:
            return answer
        assert time.monotonic() < deadline, (path, answer.status_code, answer.text)
        time.sleep(0.2)


def test_staff_read_what_belongs_to_an_application_or_a_chat(system: System, people: People) -> None:
    """Issue 9 (12): a consumer's upload is private until they attach it; then staff may read
    it. A staff member's chat attachment is readable by other staff and by the applicant."""
    with system.client() as http:
        applicant = consumer(system, http)
        colleague = staff_member(system, http)
        data = zip_of({"план.pdf": PDF + b"plan"})
        archive = upload(http, applicant.auth, "документы.zip", data)
        assert archive.status_code == 201, archive.text
        archive_id = archive.json()["id"]
        nowhere = http.get(f"/api/v1/files/{uuid.uuid4()}", headers=people.staff.auth)
        refused = http.get(f"/api/v1/files/{archive_id}", headers=people.staff.auth)
        assert (refused.status_code, refused.content) == (404, nowhere.content)

        application = _submit(http, applicant, archive_id)
        got = _eventually(http, f"/api/v1/files/{archive_id}", people.staff.auth)
        assert got.content == data
        assert http.get(f"/api/v1/files/{archive_id}/meta", headers=colleague.auth).status_code == 200
        assert http.get(f"/api/v1/files/{archive_id}", headers=people.other.auth).status_code == 404

        contract = upload(http, people.staff.auth, "проект договора.pdf", PDF + b"contract").json()["id"]
        # A staff member's file: other staff may read it at once, a consumer only once it is shared.
        assert http.get(f"/api/v1/files/{contract}", headers=colleague.auth).status_code == 200
        assert http.get(f"/api/v1/files/{contract}", headers=applicant.auth).status_code == 404
        sent = http.post(
            f"/api/v1/applications/{application}/messages",
            headers=people.staff.auth,
            json={"text": "Проект договора во вложении.", "attachments": [contract]},
        )
        assert sent.status_code == 201, sent.text
        shared = _eventually(http, f"/api/v1/files/{contract}", applicant.auth)
        assert shared.content == PDF + b"contract"
        assert http.get(f"/api/v1/files/{contract}", headers=colleague.auth).content == PDF + b"contract"
        assert http.get(f"/api/v1/files/{contract}", headers=people.other.auth).status_code == 404


def test_integer_parameters_are_bounded(system: System, people: People) -> None:
    """Issue 9 (6): 2**63 and 10**30 in every integer a client sends to the files service:
    a 4xx, never a 500 (PostgreSQL's OFFSET and LIMIT are 64-bit)."""
    with system.client() as http:
        form = _form(http, "individual_15kw")
        for big in (2**63, 10**30):
            for params in ({"limit": big}, {"offset": big}, {"offset": -big}):
                answer = http.get("/api/v1/files", headers=people.owner.auth, params=params)
                assert answer.status_code == 422, (params, answer.text)
                assert answer.json()["code"] == "validation_error"
            for field in ("max_power_kw", "voltage_kv", "reliability_category"):
                answer = http.post(f"/api/v1/forms/{form['id']}/fill", json={**APPLICANT, field: big})
                assert answer.status_code == 422, (field, answer.text)
                assert [e["field"] for e in answer.json()["errors"]] == [field]


# forms -------------------------------------------------------------------------------------------------
def test_every_standard_form_downloads_as_a_real_document(system: System) -> None:
    with system.client() as http:
        listed = http.get("/api/v1/forms")
        assert listed.status_code == 200
        items = listed.json()["items"]
        assert {i["application_type_code"] for i in items if i["kind"] == "application"} >= TYPE_CODES
        assert {i["kind"] for i in items} == {"application", "act", "contract", "statement"}
        for needle in (
            "об осуществлении технологического",
            "о выполнении технических условий",
            "допуска прибора учёта",
        ):
            assert any(needle in i["title"] for i in items if i["kind"] == "act"), needle
        assert any("Договор" in i["title"] for i in items if i["kind"] == "contract")
        for item in items:
            assert set(item) >= {"id", "code", "title", "kind", "application_type_code", "format", "version"}
            got = http.get(f"/api/v1/forms/{item['id']}/file")
            assert got.status_code == 200, item
            assert (
                got.headers["content-type"] == DOCX
                and "filename*=UTF-8''" in got.headers["content-disposition"]
            )
            if item["version"] == 1:
                assert Document(io.BytesIO(got.content)).core_properties.title == item["title"]
                assert "№ 861" in docx_text(got.content)


def _form(http: httpx.Client, type_code: str) -> dict[str, Any]:
    items = http.get("/api/v1/forms").json()["items"]
    return next(i for i in items if i["application_type_code"] == type_code)


APPLICANT: dict[str, Any] = {
    "full_name": "Кузнецова Мария Сергеевна",
    "passport": "4510 654321, выдан ОВД «Берёзовский» 12.03.2015",
    "address": "г. Тверь, ул. Советская, д. 5, кв. 7",
    "object_name": "Садовый дом",
    "object_address": "Тверская обл., СНТ «Рассвет», уч. 42",
    "max_power_kw": 15,
    "voltage_kv": 0.4,
    "reliability_category": 3,
    "phone": "+7 (910) 555-12-34",
    "email": "kuznetsova@example.ru",
}


def test_a_filled_in_application(system: System, people: People) -> None:
    # The files service answers without a login. (At the gateway, an anonymous POST to
    # /api/v1/forms/{id}/fill needs its public-route rule; the page /forms/{id}/fill works
    # without a login today, see test_pages.)
    with httpx.Client(base_url=f"http://127.0.0.1:{system.env['LK_FILES_PORT']}", timeout=30) as direct:
        form = direct.get("/api/v1/forms").json()["items"][0]
        assert form["application_type_code"] == "individual_15kw"
        anonymous = direct.post(f"/api/v1/forms/{form['id']}/fill", json=APPLICANT)
        assert anonymous.status_code == 200 and "Кузнецова Мария Сергеевна" in docx_text(anonymous.content)
    with system.client() as http:
        http.headers.update(people.owner.auth)
        got = http.post(f"/api/v1/forms/{form['id']}/fill", json=APPLICANT)
        assert got.status_code == 200, got.text
        assert got.headers["content-type"] == DOCX
        text = docx_text(got.content)
        for value in (
            "Кузнецова Мария Сергеевна",
            "4510 654321",
            "Садовый дом",
            "СНТ «Рассвет», уч. 42",
            "+7 (910) 555-12-34",
            "kuznetsova@example.ru",
            "г. Тверь, ул. Советская",
        ):
            assert value in text, value
        rows = {
            r.cells[0].text: r.cells[1].text for t in Document(io.BytesIO(got.content)).tables for r in t.rows
        }
        assert rows["Максимальная мощность энергопринимающих устройств (всего), кВт"] == "15"
        assert rows["Уровень напряжения в точке присоединения, кВ"] == "0,4"
        assert rows["Категория надёжности электроснабжения"] == "III"

        bad = http.post(
            f"/api/v1/forms/{form['id']}/fill", json={**APPLICANT, "email": "нет", "max_power_kw": -1}
        )
        assert bad.status_code == 422
        assert {e["field"] for e in bad.json()["errors"]} == {"email", "max_power_kw"}
        too_much = http.post(f"/api/v1/forms/{form['id']}/fill", json={**APPLICANT, "max_power_kw": 40})
        assert (too_much.status_code, too_much.json()["code"]) == (422, "power_out_of_range")
        assert "15 кВт" in too_much.json()["message"]
        legal = _form(http, "legal_150kw")
        no_ogrn = http.post(f"/api/v1/forms/{legal['id']}/fill", json=APPLICANT)
        assert (no_ogrn.status_code, no_ogrn.json()["code"]) == (422, "identity_required")
        ok = http.post(
            f"/api/v1/forms/{legal['id']}/fill",
            json={**APPLICANT, "ogrn": "1027700132195", "max_power_kw": 120},
        )
        assert ok.status_code == 200 and "1027700132195" in docx_text(ok.content)
        act = next(i for i in http.get("/api/v1/forms").json()["items"] if i["kind"] == "act")
        assert (
            http.post(f"/api/v1/forms/{act['id']}/fill", json=APPLICANT).json()["code"] == "form_not_fillable"
        )
        assert http.post(f"/api/v1/forms/{uuid.uuid4()}/fill", json=APPLICANT).status_code == 404


def test_staff_publish_a_new_version_and_the_old_one_stays(system: System, people: People) -> None:
    document = Document()
    document.add_paragraph("Акт допуска прибора учёта — редакция сетевой организации")
    buffer = io.BytesIO()
    document.save(buffer)
    new_bytes = buffer.getvalue()
    with system.client() as http:
        old = next(i for i in http.get("/api/v1/forms").json()["items"] if i["code"] == "act_meter")
        old_bytes = http.get(f"/api/v1/forms/{old['id']}/file").content
        path = "/api/v1/forms/act_meter/versions"
        files = {"file": ("акт допуска.docx", new_bytes, DOCX)}
        assert http.post(path, headers=people.owner.auth, files=files).status_code == 403
        with system.client() as anonymous:
            assert anonymous.post(path, files=files).status_code == 401
        exe = http.post(
            path, headers=people.staff.auth, files={"file": ("акт.docx", b"MZ" + bytes(100), DOCX)}
        )
        assert exe.status_code == 415
        published = http.post(
            path, headers=people.staff.auth, files=files, data={"title": "Акт допуска ПУ (ред. 2)"}
        )
        assert published.status_code == 201, published.text
        new = published.json()
        assert (new["code"], new["version"], new["title"]) == (
            "act_meter",
            old["version"] + 1,
            "Акт допуска ПУ (ред. 2)",
        )
        listed = [i for i in http.get("/api/v1/forms").json()["items"] if i["code"] == "act_meter"]
        assert [i["id"] for i in listed] == [new["id"]]
        assert http.get(f"/api/v1/forms/{new['id']}/file").content == new_bytes
        assert http.get(f"/api/v1/forms/{old['id']}/file").content == old_bytes  # still downloadable by id
        versions = http.get("/api/v1/forms/act_meter/versions").json()["items"]
        assert [v["id"] for v in versions][:2] == [new["id"], old["id"]]
        assert (
            http.post(
                "/api/v1/forms/no_such_form/versions", headers=people.staff.auth, files=files
            ).status_code
            == 404
        )


# pages -------------------------------------------------------------------------------------------------
def test_pages(system: System, people: People) -> None:
    with system.client() as http:
        forms = http.get("/forms")
        assert forms.status_code == 200
        for title in (
            "Типовые формы заявок на ТП",
            "Типовые формы документов по ТП",
            "Типовые формы договоров об осуществлении ТП",
        ):
            assert title in forms.text
        form_id = re.search(r'href="/api/v1/forms/([0-9a-f-]{36})/file"', forms.text).group(1)  # type: ignore[union-attr]
        assert http.get(f"/api/v1/forms/{form_id}/file").status_code == 200
        assert 'href="/forms"' in forms.text and "Типовые формы" in forms.text

        log_in(http, people.owner.person.login, people.owner.person.password)  # cookies, as a browser
        page = http.get("/files")
        assert page.status_code == 200
        assert "не более 25" in page.text and "PDF, JPEG, PNG, TIFF, ZIP, DOCX, XLSX, ODT" in page.text
        assert "/static/upload.js" in page.text and "<progress" in page.text
        csrf = http.cookies["lk_csrf"]
        # Without JavaScript: a plain multipart post to the page, then back to the list. The
        # browser says it comes from the cabinet's own page (no token in the address).
        ours = {"origin": system.base_url}
        posted = http.post("/upload/file", files={"file": ("выписка ЕГРН.pdf", PDF + b"egrn")}, headers=ours)
        assert posted.status_code == 303, posted.text
        shown = http.get(posted.headers["location"])
        assert "Файл «выписка ЕГРН.pdf» загружен." in shown.text
        refused = http.post("/upload/file", files={"file": ("вирус.pdf", b"MZ" + bytes(64))}, headers=ours)
        assert refused.status_code == 303 and refused.headers["location"] == "/files"
        assert "Этот тип файла не принимается" in http.get("/files").text
        for elsewhere in ({}, {"origin": "https://evil.example"}, {"sec-fetch-site": "cross-site"}):
            stale = http.post("/upload/file", files={"file": ("a.pdf", PDF)}, headers=elsewhere)
            assert stale.status_code == 303 and "Форма устарела" in http.get("/files").text
        # The same upload through the API with the cookie (what upload.js does) needs the CSRF header.
        assert http.post("/api/v1/files", files={"file": ("a.pdf", PDF + b"1")}).status_code == 403
        scripted = http.post(
            "/api/v1/files", files={"file": ("a.pdf", PDF + b"1")}, headers={"x-csrf-token": csrf}
        )
        assert scripted.status_code == 201

        individual = _form(http, "individual_15kw")
        fill_page = http.get(f"/forms/{individual['id']}/fill")
        assert fill_page.status_code == 200 and "Максимальная мощность" in fill_page.text
        values = {k: str(v) for k, v in APPLICANT.items()} | {"csrf": csrf, "max_power_kw": "7,5"}
        filled = http.post(f"/forms/{individual['id']}/fill", data=values)
        assert filled.status_code == 200 and filled.headers["content-type"] == DOCX
        assert "Кузнецова Мария Сергеевна" in docx_text(filled.content)
        wrong = http.post(f"/forms/{individual['id']}/fill", data=values | {"email": "нет"})
        assert wrong.status_code == 303 and wrong.headers["location"] == f"/forms/{individual['id']}/fill"
        again = http.get(wrong.headers["location"]).text
        assert (
            "Укажите адрес e-mail в формате name@example.ru" in again and "Кузнецова Мария Сергеевна" in again
        )


# deleting an orphan upload ---------------------------------------------------------------------------
def _attached_to_an_application(http: httpx.Client, owner: Account, file_id: str) -> str:
    body = {
        "type_code": "individual_15kw",
        "power_kw": 10,
        "object_address": "г. Тверь, ул. Садовая, д. 7",
        "contact": {"phone": "+7 900 123-45-67", "email": owner.person.email},
        "documents": [{"slot": "archive", "file_id": file_id}],
    }
    answer = http.post("/api/v1/applications", headers=owner.auth, json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def _recorded(http: httpx.Client, staff: Account, file_id: str) -> None:
    """Wait until the files service has recorded the attachment (staff may then read the file)."""
    deadline = time.monotonic() + 15
    while http.get(f"/api/v1/files/{file_id}/meta", headers=staff.auth).status_code != 200:
        assert time.monotonic() < deadline, "the attachment was never recorded"
        time.sleep(0.1)


def test_an_orphan_upload_is_deleted_by_its_owner_only(system: System, people: People) -> None:
    """Issue 10 §3: ``DELETE /api/v1/files/{id}``: the owner's upload attached to nothing goes
    (a FileDeleted event, then its bytes); anyone else's is not found; an attached one stays."""
    owner, data = people.owner, PDF + os.urandom(4096)
    with system.client() as http:
        before = stored_blobs(system)
        doomed = upload(http, owner.auth, "черновик.pdf", data).json()
        twin = upload(http, owner.auth, "копия черновика.pdf", data).json()  # the same bytes
        assert doomed["deletable"] is True
        listed = {i["id"]: i for i in http.get("/api/v1/files", headers=owner.auth).json()["items"]}
        assert listed[doomed["id"]]["deletable"] is True
        unknown = http.delete(f"/api/v1/files/{uuid.uuid4()}", headers=owner.auth)
        assert unknown.status_code == 404
        for stranger in (people.other, people.staff):
            refused = http.delete(f"/api/v1/files/{doomed['id']}", headers=stranger.auth)
            assert (refused.status_code, refused.content) == (404, unknown.content)
        with system.client() as anonymous:
            assert anonymous.delete(f"/api/v1/files/{doomed['id']}").status_code == 401

        assert http.delete(f"/api/v1/files/{doomed['id']}", headers=owner.auth).status_code == 204
        for path in (f"/api/v1/files/{doomed['id']}", f"/api/v1/files/{doomed['id']}/meta"):
            assert http.get(path, headers=owner.auth).status_code == 404
        assert http.delete(f"/api/v1/files/{doomed['id']}", headers=owner.auth).status_code == 404
        ids = [i["id"] for i in http.get("/api/v1/files", headers=owner.auth).json()["items"]]
        assert doomed["id"] not in ids and twin["id"] in ids
        # A file with the same bytes is untouched (locally both share one content-addressed blob).
        assert http.get(f"/api/v1/files/{twin['id']}", headers=owner.auth).content == data
        assert http.delete(f"/api/v1/files/{twin['id']}", headers=owner.auth).status_code == 204
        assert stored_blobs(system) == before  # the bytes are gone too

        kept = upload(http, owner.auth, "Документы.zip", zip_of({"план.pdf": PDF + os.urandom(64)})).json()
        _attached_to_an_application(http, owner, kept["id"])
        _recorded(http, people.staff, kept["id"])
        in_use = http.delete(f"/api/v1/files/{kept['id']}", headers=owner.auth)
        assert in_use.status_code == 409 and in_use.json()["code"] == "file_in_use"
        assert "нельзя" in in_use.json()["message"]
        assert http.get(f"/api/v1/files/{kept['id']}", headers=owner.auth).status_code == 200
        listed = {i["id"]: i for i in http.get("/api/v1/files", headers=owner.auth).json()["items"]}
        assert listed[kept["id"]]["deletable"] is False
    deleted = [
        e.parse()
        for e in read_events(system, "files", doomed["id"], expect=2)
        if e.type == "lk.files.FileDeleted.v1"
    ]
    assert [(d.file_id, d.owner_id) for d in deleted if isinstance(d, FileDeletedV1)] == [
        (doomed["id"], owner.id)
    ]


def test_my_files_page_deletes_after_a_confirmation_and_pages(system: System) -> None:
    with system.client() as http:
        owner = consumer(system, http)
        names = [f"скан {i:02d}.pdf" for i in range(21)]
        ids = [upload(http, owner.auth, name, PDF + os.urandom(32)).json()["id"] for name in names]
        attached = upload(http, owner.auth, "Документы.zip", zip_of({"план.pdf": PDF})).json()["id"]
        _attached_to_an_application(http, owner, attached)
        log_in(http, owner.person.login, owner.person.password)  # cookies, as a browser
        first = http.get("/files")
        assert "Страница 1 из 2" in first.text and 'href="/files?page=2"' in first.text
        second = http.get("/files", params={"page": 2})
        assert "Страница 2 из 2" in second.text and "скан 00.pdf" in second.text  # the oldest
        assert 'href="/files"' in first.text and "Мои файлы" in first.text  # in the menu

        confirm = http.get(f"/files/{ids[-1]}/delete")
        assert confirm.status_code == 200
        assert "Удалить файл «скан 20.pdf»?" in confirm.text and "Да, удалить файл" in confirm.text
        assert http.get(f"/api/v1/files/{ids[-1]}", headers=owner.auth).status_code == 200  # not yet
        done = http.post(f"/files/{ids[-1]}/delete", data={"csrf": http.cookies["lk_csrf"]})
        assert done.status_code == 303
        shown = http.get(done.headers["location"])
        assert "Файл «скан 20.pdf» удалён." in shown.text and "скан 20.pdf</a>" not in shown.text
        assert http.get(f"/api/v1/files/{ids[-1]}", headers=owner.auth).status_code == 404
        stale = http.post(f"/files/{ids[0]}/delete", data={"csrf": "wrong"})
        assert (
            stale.status_code == 303
            and http.get(f"/api/v1/files/{ids[0]}", headers=owner.auth).status_code == 200
        )

        with system.client() as other:
            _recorded(other, staff_member(system, other), attached)
        refused = http.get(f"/files/{attached}/delete")
        assert refused.status_code == 303
        assert "удалить нельзя" in http.get(refused.headers["location"]).text
