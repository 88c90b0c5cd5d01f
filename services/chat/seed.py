"""Chat's part of ``lk ops seed`` (shared/seed.py): one thread per seeded application, the
applicant and the staff member taking turns, built by the Thread aggregate's own methods
as ChatApp.post builds them, saved many threads per transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.chat.app import _MESSAGE_NS, ChatApp
from services.chat.domain import CONSUMER, STAFF, Thread
from shared.seed import Saver, SeedPlan
from shared.settings import Settings

TEXTS = (
    "Здравствуйте! Подскажите, какие документы ещё нужны?",
    "Добрый день. Нужна копия правоустанавливающего документа на участок.",
    "Загрузил, проверьте, пожалуйста.",
    "Спасибо, документы получены, заявка в работе.",
)


def seed(settings: Settings, plan: SeedPlan) -> None:
    if not plan.messages or not plan.filed:
        return
    assert plan.staff is not None
    names = {p.account_id: p.name for p in plan.people}
    app = ChatApp(settings)
    try:
        saver = Saver(app, plan, "chat")
        for filed in plan.filed:
            thread_id = uuid.UUID(filed.application_id)
            thread = Thread(id=thread_id, applicant_id=filed.applicant_id)
            for seq in range(1, plan.messages + 1):
                by_applicant = seq % 2 == 1
                thread.post(
                    seq=seq,
                    message_id=str(uuid.uuid5(_MESSAGE_NS, f"{thread_id}/{seq}")),
                    client_id="",
                    author_id=filed.applicant_id if by_applicant else plan.staff.account_id,
                    role=CONSUMER if by_applicant else STAFF,
                    author_name=names[filed.applicant_id] if by_applicant else plan.staff.name,
                    text=TEXTS[(seq - 1) % len(TEXTS)],
                    attachments=[],
                    at=datetime.now(UTC).isoformat(),
                    applicant_id=filed.applicant_id,
                )
            saver.add(thread)
        saver.flush()
    finally:
        app.close()
