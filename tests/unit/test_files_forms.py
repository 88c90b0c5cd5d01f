"""The standard forms: generated DOCX documents, filling by bookmarks, the applicant's data rules,
and the files service's domain and public events."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from pydantic import ValidationError

from services.files.api.fill_in import FillIn
from services.files.app import FilesApp
from services.files.domain import StoredFile
from services.files.forms import SPECS, SPECS_BY_CODE, bookmarks_in, build_docx, fill_docx
from services.files.public import EVENTS
from services.files.values import Blob
from shared.events import FilePartiesGrantedV1, FileUploadedV1, FormPublishedV1
from shared.requisites import ogrn_valid
from shared.settings import Settings

TYPE_CODES = {
    "individual_15kw",
    "legal_150kw",
    "legal_150_670kw",
    "over_670kw",
    "temporary",
    "microgeneration_150kw",
}
APPLICANT: dict[str, Any] = {
    "full_name": "Петров Пётр Петрович",
    "passport": "4510 123456, выдан ОВД «Таганский» г. Москвы 01.02.2010",
    "address": "г. Москва, ул. Ленина, д. 1, кв. 2",
    "object_name": "Жилой дом",
    "object_address": "Московская обл., д. Берёзки, уч. 15",
    "max_power_kw": 12.5,
    "voltage_kv": 0.4,
    "reliability_category": "III",
    "phone": "+7 (916) 123-45-67",
    "email": "petrov@example.ru",
}


def text_of(data: bytes) -> str:
    document = Document(io.BytesIO(data))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def test_the_library_has_every_form_the_issue_names() -> None:
    kinds = {spec.kind for spec in SPECS}
    assert kinds == {"application", "act", "contract", "statement"}
    forms = [s for s in SPECS if s.kind == "application" and not s.sample_of]
    assert {s.application_type_code for s in forms} == TYPE_CODES
    titles = " ".join(s.title for s in SPECS)
    for needed in (
        "Акт об осуществлении технологического присоединения",
        "Акт о выполнении технических условий",
        "Акт допуска прибора учёта",
        "Договор об осуществлении технологического присоединения",
        "Уведомление об обеспечении сетевой организацией возможности присоединения к электрическим сетям",
        "Уведомление о выполнении технических условий",
        "Заявление на возврат денежных средств",
        "Заявление об уточнении платежа",
    ):
        assert needed in titles
    assert len({s.code for s in SPECS}) == len(SPECS)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.code)
def test_every_form_is_a_real_docx_with_the_rules_fields(spec: Any) -> None:
    data = build_docx(spec)
    text = text_of(data)
    assert spec.subheading in text and "№ 861" in text
    document = Document(io.BytesIO(data))
    assert document.core_properties.title == spec.title
    if spec.kind == "application" and not spec.sample_of:
        for label in ("Максимальная мощность", "Категория надёжности", "Уровень напряжения", "Приложения"):
            assert label in text, label
        assert "План расположения энергопринимающих устройств" in text  # п. 10
        assert {"full_name", "address", "object_name", "max_power_kw", "date"} <= bookmarks_in(data)


def test_fill_writes_the_values_where_the_bookmarks_are() -> None:
    spec = SPECS_BY_CODE["application_individual_15kw"]
    template = build_docx(spec)
    filled, count = fill_docx(template, {"full_name": "Сидоров С. С.", "max_power_kw": "15", "unknown": "x"})
    assert count == 2
    document = Document(io.BytesIO(filled))
    rows = {row.cells[0].text: row.cells[1].text for table in document.tables for row in table.rows}
    assert rows["Фамилия, имя, отчество заявителя"] == "Сидоров С. С."
    assert rows["Максимальная мощность энергопринимающих устройств (всего), кВт"] == "15"
    assert "Сидоров" not in text_of(template)
    # Filling again replaces, never appends.
    again, _ = fill_docx(filled, {"full_name": "Другой"})
    assert "Сидоров" not in text_of(again) and "Другой" in text_of(again)


def test_the_date_blank_is_replaced() -> None:
    template = build_docx(SPECS_BY_CODE["application_legal_150kw"])
    assert "«___» ____________ 20__ г." in text_of(template)
    filled, _ = fill_docx(template, {"date": "«01» марта 2027 г."})
    assert "«01» марта 2027 г." in text_of(filled) and "20__ г." not in text_of(filled)


def test_applicant_data_is_validated() -> None:
    body = FillIn.model_validate(APPLICANT)
    values = body.values()
    assert values["max_power_kw"] == "12,5" and values["voltage_kv"] == "0,4"
    assert values["reliability_category"] == "III"
    for change in (
        {"max_power_kw": 0},
        {"max_power_kw": "много"},
        {"voltage_kv": 0.5},
        {"reliability_category": 4},
        {"email": "not-an-email"},
        {"phone": "позвоните мне"},
        {"full_name": "Иван\x00"},
        {"passport": "без номера"},
        {"passport": None, "ogrn": None},
        {"ogrn": "1027700132196"},  # wrong check digit
        {"extra": "field"},
    ):
        with pytest.raises(ValidationError):
            FillIn.model_validate({**APPLICANT, **change})
    assert FillIn.model_validate({**APPLICANT, "passport": None, "ogrn": "1027700132195"}).ogrn


def test_ogrn_check_digit() -> None:
    assert ogrn_valid("1027700132195")  # ОГРН, 13 digits
    assert ogrn_valid("304500116000157")  # ОГРНИП, 15 digits
    assert not ogrn_valid("1027700132194")
    assert not ogrn_valid("304500116000158")
    assert not ogrn_valid("12345")


# domain and public events ---------------------------------------------------------------------------
@pytest.fixture
def files(tmp_path: Path) -> Iterator[FilesApp]:
    app = FilesApp(
        Settings(mode="embedded", var_dir=tmp_path, secret_key="x" * 32),
        {"PERSISTENCE_MODULE": "eventsourcing.popo"},
    )
    yield app
    app.close()


PLAN = Blob(
    key="b" * 64, size=10, sha256="a" * 64, content_type="application/pdf", kind="pdf", name="план.pdf"
)


def _upload(files: FilesApp, owner: str) -> uuid.UUID:
    file_id = uuid.uuid4()
    files.record_upload(PLAN, owner_id=owner, audit={"actor": owner}, file_id=file_id)
    return file_id


def test_only_the_owner_shares_a_file_by_attaching_it(files: FilesApp) -> None:
    owner, applicant, stranger = (str(uuid.uuid4()) for _ in range(3))
    file_id = _upload(files, owner)
    # Someone attaching another person's file id grants nothing.
    assert files.grant([str(file_id)], [stranger], by=stranger, reason="application:x") == 0
    assert not files.file(file_id).can_read(stranger, staff=False)  # type: ignore[union-attr]
    position = files.grant(
        [str(file_id), "not-a-uuid", str(uuid.uuid4())], [applicant], by=owner, reason="chat:1"
    )
    assert position > 0
    stored = files.file(file_id)
    assert (
        stored is not None
        and stored.can_read(applicant, staff=False)
        and stored.can_read(stranger, staff=True)
    )
    assert (
        files.grant([str(file_id)], [applicant], by=owner, reason="chat:1") == 0
    )  # a replay changes nothing


def test_public_events(files: FilesApp) -> None:
    owner, applicant = str(uuid.uuid4()), str(uuid.uuid4())
    file_id = _upload(files, owner)
    files.grant([str(file_id)], [applicant], by=owner, reason="chat:1")
    stored = files.file(file_id)
    assert stored is not None
    files.publish_form(
        code="act_tp", title="Акт", kind="act", type_code=None, file=stored, audit={"actor": owner}
    )
    act = Blob(key="k", size=5, sha256="c" * 64, content_type="x", kind="docx", name="акт.docx")
    second = StoredFile.of(act, owner_id=owner, audit={"actor": owner})
    item = files.publish_new_version("act_tp", second, "", {"actor": owner}).latest
    assert item["version"] == 2 and item["title"] == "Акт"
    events = [EVENTS(n) for n in files.repository.event_store.get(file_id)]
    assert isinstance(events[0], FileUploadedV1) and events[0].owner_id == owner
    assert isinstance(events[1], FilePartiesGrantedV1) and events[1].account_ids == [applicant]
    series_events = list(files.repository.event_store.get(files.series("act_tp").id))  # type: ignore[union-attr]
    published = [EVENTS(e) for e in series_events]
    assert all(isinstance(p, FormPublishedV1) for p in published)
    assert [(p.version, p.code, p.kind, p.format) for p in published] == [  # type: ignore[union-attr]
        (1, "act_tp", "act", "pdf"),
        (2, "act_tp", "act", "docx"),
    ]
    assert published[0].form_id != published[1].form_id  # type: ignore[union-attr]


async def test_attachment_grants_projection(files: FilesApp, tmp_path: Path) -> None:
    from services.files.projections import AttachmentGrants
    from shared.events import ApplicationSubmittedV1, DocumentRef, DocumentsAddedV1, MessagePostedV1
    from shared.readstore import SQLiteReadStore

    applicant, staff, stranger = (str(uuid.uuid4()) for _ in range(3))
    own, contract, answer = _upload(files, applicant), _upload(files, staff), _upload(files, staff)
    application = str(uuid.uuid4())
    events = [
        ApplicationSubmittedV1(
            application_id=application,
            number="1",
            applicant_id=applicant,
            applicant_email="a@example.ru",
            applicant_name="A",
            type_code="individual_15kw",
            type_title="t",
            power_kw=5,
            object_address="x",
            documents=[DocumentRef(slot="site_plan", file_id=str(own))],
        ),
        DocumentsAddedV1(
            application_id=application,
            number="1",
            applicant_id=applicant,
            documents=[DocumentRef(slot="contract", file_id=str(contract))],
            actor_id=staff,
        ),
        MessagePostedV1(
            message_id=str(uuid.uuid4()),
            thread_id=application,
            seq=1,
            applicant_id=applicant,
            author_id=staff,
            author_role="staff",
            author_name="S",
            text="см. вложение",
            attachments=[str(answer)],
        ),
        # Someone else's file id, attached by a person who does not own it: nothing shared.
        DocumentsAddedV1(
            application_id=str(uuid.uuid4()),
            number="2",
            applicant_id=stranger,
            documents=[DocumentRef(slot="x", file_id=str(contract))],
            actor_id=stranger,
        ),
    ]
    store = SQLiteReadStore(tmp_path / "read.sqlite")
    await store.open()
    projection = AttachmentGrants(files)

    async def feed() -> None:
        for i, event in enumerate(events, 1):
            async with store.transaction() as tx:
                await projection.handle(
                    tx, event.envelope(source="x", subject=str(i), sequence=1, position=i)
                )

    try:
        await feed()
        recorded = files.recorder.max_notification_id()
        await feed()  # a replay (a rebuild, a republished batch) records nothing twice
        assert files.recorder.max_notification_id() == recorded
    finally:
        await store.close()

    def readers(file_id: uuid.UUID) -> list[str]:
        stored = files.file(file_id)
        assert stored is not None
        return stored.parties

    assert readers(own) == []  # the applicant owns it already ...
    assert readers(contract) == [applicant] and readers(answer) == [applicant]
    stored = files.file(own)
    assert stored is not None and stored.attached_to == [f"application:{application}"]
    assert stored.can_read(str(uuid.uuid4()), staff=True)  # ... and staff may now read it
    assert [type(e).__qualname__ for e in files.repository.event_store.get(own)] == [
        "StoredFile.Uploaded",
        "StoredFile.Attached",
    ]
    assert EVENTS(list(files.repository.event_store.get(own))[1]) is None  # no consumer needs it


def test_staff_read_what_belongs_to_an_application_or_a_chat(files: FilesApp) -> None:
    consumer, other_staff, staff = (str(uuid.uuid4()) for _ in range(3))

    def stored(file_id: uuid.UUID) -> Any:
        found = files.file(file_id)
        assert found is not None
        return found

    private = _upload(files, consumer)
    assert stored(private).can_read(consumer, staff=False)
    assert not stored(private).can_read(staff, staff=True)  # attached to nothing: private
    assert not stored(private).can_read(str(uuid.uuid4()), staff=False)
    # Attached by its owner to their own application: no new party, but recorded, once.
    assert files.grant([str(private)], [consumer], by=consumer, reason="application:1") > 0
    assert stored(private).can_read(staff, staff=True)
    assert not stored(private).can_read(str(uuid.uuid4()), staff=False)
    assert files.grant([str(private)], [consumer], by=consumer, reason="application:1") == 0
    # Attached by someone else: records nothing.
    other = _upload(files, consumer)
    assert files.grant([str(other)], [consumer], by=staff, reason="chat:1") == 0
    assert not stored(other).can_read(staff, staff=True)

    contract = Blob(
        key="k", size=10, sha256="a" * 64, content_type="application/pdf", kind="pdf", name="договор.pdf"
    )
    staffs = StoredFile.of(contract, owner_id=other_staff, audit={"actor": other_staff}, staff=True)
    files.save(staffs)
    assert stored(staffs.id).can_read(staff, staff=True)  # a staff member's file: staff may read it
    assert not stored(staffs.id).can_read(consumer, staff=False)
    own = _upload(files, staff)  # a staff member's own upload (recorded as a consumer's here)
    assert stored(own).can_read(staff, staff=True)
