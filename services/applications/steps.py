"""What an application's actors may do to it, each a check then the events (the aggregate's
commands, mixed into :class:`services.applications.domain.Application`, which declares the
events and applies them).

The status follows recorded facts (issue 12, ../shared/DOMAIN.md): the offer placed
(«Заключение договора ТП»), the contract concluded by full payment or by the applicant's
signature («Выполнение мероприятий по ТП»), the applicant's notice of fulfilled ТУ («Проверка
выполнения ТУ»), the connection and voltage recorded («Подготовка актов ТП»), the closing
documents placed («Заявка выполнена»). The plain status moves (moves.py, workflow.judge) stay
for what needs no fact: documents requested, annulment, the return to work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from services.applications.actor import Actor
from services.applications.rules import Document
from services.applications.signature import SignatureSteps, Signed
from services.applications.workflow import STAFF
from shared.errors import Conflict, Forbidden, Invalid
from shared.statuses import TITLES

OFFER_PLACED = "Размещены договор (оферта), технические условия и счёт на оплату."
PAID = "Счёт оплачен полностью: договор ТП заключён."
SIGNED = "Заявитель подписал договор ТП: договор заключён."
NOTICE = "Получено уведомление заявителя о выполнении технических условий."
CONNECTED = "Выполнение ТУ проверено, зафиксированы фактическое присоединение и подача напряжения."
CLOSED = "Размещены закрывающие документы: заявка выполнена."

TU_FULFILLED = "tu_fulfilled"
CLOSING = ("closing_notice", "act_tp")
KINDS: dict[str, str] = {
    "offer_contract": "Договор об осуществлении технологического присоединения (оферта)",
    "technical_conditions": "Технические условия",
    "invoice": "Счёт на оплату",
    "act_tu": "Акт о выполнении технических условий",
    "act_meter": "Акт допуска прибора учёта в эксплуатацию",
    "closing_notice": "Уведомление об обеспечении сетевой организацией возможности присоединения",
    "act_tp": "Акт об осуществлении технологического присоединения",
}
PAYABLE = ("contract", "activities", "tu_check", "acts")


@dataclass(frozen=True)
class Offer:
    """What staff place: the contract (offer) and the ТУ as files of their own (with names),
    the invoice's amount, the activities term and whether the applicant must sign."""

    contract: Document
    technical_conditions: Document
    amount_kopecks: int
    term: dict[str, int]
    needs_signature: bool
    state_buyer: bool = False  # a buyer under 44-ФЗ: 15 working days to pay


def _staff_only(actor: Actor, message: str) -> None:
    if actor.role != STAFF:
        raise Forbidden("forbidden", message)


def _own(owned: set[str], file_id: str) -> None:
    if file_id not in owned:
        raise Invalid("file_not_found", "Файл не найден среди ваших загруженных файлов.")


def _not_future(day: date, today: date) -> None:
    if day > today:
        raise Invalid("date_in_future", "Дата не может быть позже сегодняшней.")


class ProcessSteps(SignatureSteps):
    if TYPE_CHECKING:  # the aggregate's state and event methods (domain.Application)
        ContractConcluded: Any

        applicant_id: str
        status: str
        offer: dict[str, Any] | None
        payments: dict[str, int]
        refused: bool
        concluded: bool
        connected: bool
        company_documents: dict[str, Document]

        def _changed(self, actor: Actor, to_status: str, comment: str, due: str | None) -> None: ...
        def _offer_placed(
            self,
            contract: Document,
            technical_conditions: Document,
            amount_kopecks: int,
            term: dict[str, int],
            needs_signature: bool,
            invoice_due: str | None,
            actor_id: str,
            actor_name: str,
            state_buyer: bool = False,
        ) -> None: ...
        def _payment_recorded(
            self, amount_kopecks: int, paid_at: str, reference: str, actor_id: str, source: str = "api"
        ) -> None: ...
        def _offer_refused(self, comment: str, actor_id: str) -> None: ...
        def _contract_concluded(self, by: str, on: str, actor_id: str) -> None: ...
        def _notice_received(self, kind: str, documents: list[Document], actor_id: str) -> None: ...
        def _connection_recorded(self, connected_at: str, voltage_applied_at: str, actor_id: str) -> None: ...
        def _company_document_placed(
            self, document_id: str, kind: str, file_id: str, name: str, actor_id: str, actor_name: str
        ) -> None: ...

    def place_offer(self, actor: Actor, offer: Offer, owned: set[str], invoice_due: str | None) -> None:
        """Staff place the contract (offer), the ТУ and the invoice on a complete application
        («В работе»), or a new offer after the applicant refused the last one."""
        _staff_only(actor, "Оферту размещает сотрудник сетевой организации.")
        if not (self.status == "in_work" or (self.status == "contract" and self.refused)):
            raise Conflict(
                "offer_not_allowed",
                "Договор и ТУ размещаются по полной заявке в статусе «В работе»; сейчас заявка — "
                f"«{TITLES[self.status]}».",
            )
        if offer.amount_kopecks <= 0:
            raise Invalid("amount_not_positive", "Сумма счёта должна быть больше нуля.")
        for doc in (offer.contract, offer.technical_conditions):
            _own(owned, doc["file_id"])
        self._offer_placed(
            contract=offer.contract,
            technical_conditions=offer.technical_conditions,
            amount_kopecks=offer.amount_kopecks,
            term=offer.term,
            needs_signature=offer.needs_signature,
            invoice_due=invoice_due,
            actor_id=actor.account_id,
            actor_name=actor.name,
            state_buyer=offer.state_buyer,
        )
        if self.status == "in_work":
            self._changed(actor, "contract", OFFER_PLACED, invoice_due)

    @property
    def paid_kopecks(self) -> int:
        return sum(self.payments.values())

    def record_payment(
        self,
        actor: Actor,
        amount_kopecks: int,
        paid_at: date,
        reference: str,
        today: date,
        due: str | None,
        source: str = "api",
    ) -> bool:
        """Staff (or accounting) record a payment of the invoice. A reference already recorded
        with the same amount records nothing (False). Full payment of an offer that needs no
        signature concludes the contract on the day of payment (``due``: the activities' term)."""
        _staff_only(actor, "Оплату отмечает сотрудник сетевой организации или бухгалтерия.")
        if amount_kopecks <= 0:
            raise Invalid("amount_not_positive", "Сумма платежа должна быть больше нуля.")
        _not_future(paid_at, today)
        if self.offer is None:
            raise Conflict("no_invoice", "По заявке ещё не выставлен счёт.")
        if self.status not in PAYABLE:
            raise Conflict(
                "payment_not_allowed", f"Заявка в статусе «{TITLES[self.status]}»: оплата не принимается."
            )
        if reference in self.payments:
            if self.payments[reference] == amount_kopecks:
                return False
            raise Conflict("payment_reference_conflict", "Платёж с этим номером уже учтён с другой суммой.")
        self._payment_recorded(
            amount_kopecks=amount_kopecks,
            paid_at=paid_at.isoformat(),
            reference=reference,
            actor_id=actor.account_id,
            source=source,
        )
        full = self.paid_kopecks >= int(self.offer["amount_kopecks"])
        if full and self.status == "contract" and not self.offer["needs_signature"]:
            self._contract_concluded(by="payment", on=paid_at.isoformat(), actor_id=actor.account_id)
            self._changed(actor, "activities", PAID, due)
        return True

    def _may_decide(self, actor: Actor) -> None:
        """The applicant may sign or refuse: an offer that needs a signature is placed and not
        refused yet."""
        if actor.account_id != self.applicant_id:
            raise Forbidden("forbidden", "Подписать договор или отказаться от него может только заявитель.")
        if self.status != "contract" or self.offer is None:
            raise Conflict("offer_not_placed", "По заявке нет договора, ожидающего подписи.")
        if not self.offer["needs_signature"]:
            raise Conflict(
                "signature_not_needed", "Этот договор не требует подписи: он заключается оплатой счёта."
            )
        if self.refused:
            raise Conflict("offer_refused", "Вы отказались от этого договора: дождитесь нового предложения.")

    def decide(
        self,
        actor: Actor,
        accept: bool,
        comment: str,
        today: date,
        due: str | None,
        signed: Signed | None = None,
    ) -> None:
        """The applicant signs an offer that needs a signature (the contract is concluded; only
        with ``signed``, the checked one-time code's record: signature.SignatureSteps.sign) or
        refuses it with reasons (the status stays; staff see the refusal and may place a new
        offer)."""
        self._may_decide(actor)
        if accept:
            if signed is None:
                raise Invalid("signature_code_required", "Введите код из письма, чтобы подписать договор.")
            # The event carries the signature; its handler (_contract_concluded) takes what it needs.
            self.trigger_event(
                self.ContractConcluded,
                by="signature",
                on=today.isoformat(),
                actor_id=actor.account_id,
                signature=signed,
            )
            self._changed(actor, "activities", SIGNED, due)
            return
        reason = comment.strip()
        if not reason:
            raise Invalid("reason_required", "Укажите причины отказа от договора.")
        self._offer_refused(comment=reason, actor_id=actor.account_id)

    def notify(
        self, actor: Actor, kind: str, documents: list[Document], owned: set[str], due: str | None
    ) -> None:
        """The applicant's notice «Уведомление о выполнении ТУ» with files, after conclusion."""
        if actor.account_id != self.applicant_id:
            raise Forbidden("forbidden", "Уведомление о выполнении ТУ направляет заявитель.")
        if kind != TU_FULFILLED:
            raise Invalid("unknown_notice_kind", "Неизвестный вид уведомления.")
        if self.status != "activities":
            raise Conflict(
                "contract_not_concluded",
                "Уведомление о выполнении ТУ направляется после заключения договора, на этапе "
                f"«{TITLES['activities']}»; сейчас заявка — «{TITLES[self.status]}».",
            )
        for doc in documents:
            _own(owned, doc["file_id"])
        self._notice_received(kind=kind, documents=documents, actor_id=actor.account_id)
        self._changed(actor, "tu_check", NOTICE, due)

    def record_connection(
        self, actor: Actor, connected_at: date, voltage_applied_at: date, today: date, due: str | None
    ) -> None:
        """Staff record the actual connection and voltage supply after the ТУ check."""
        _staff_only(actor, "Присоединение фиксирует сотрудник сетевой организации.")
        if self.status != "tu_check":
            raise Conflict(
                "connection_not_allowed",
                f"Присоединение фиксируется на этапе «{TITLES['tu_check']}»; сейчас заявка — «{TITLES[self.status]}».",
            )
        _not_future(voltage_applied_at, today)
        if voltage_applied_at < connected_at:
            raise Invalid(
                "voltage_before_connection", "Напряжение не может быть подано раньше присоединения."
            )
        self._connection_recorded(
            connected_at=connected_at.isoformat(),
            voltage_applied_at=voltage_applied_at.isoformat(),
            actor_id=actor.account_id,
        )
        self._changed(actor, "acts", CONNECTED, due)

    def place_document(
        self, actor: Actor, document_id: str, kind: str, file: Document, owned: set[str]
    ) -> bool:
        """Staff place a typed company document; a closing one (the notice or the act of ТП)
        completes the application, and only after the connection. The same id again records
        nothing (False); another document under that id is refused."""
        _staff_only(actor, "Документы сетевой организации размещает её сотрудник.")
        if kind not in KINDS:
            raise Invalid("unknown_document_kind", "Неизвестный вид документа сетевой организации.")
        earlier = self.company_documents.get(document_id)
        if earlier is not None:
            if earlier == {"kind": kind, "file_id": file["file_id"]}:
                return False
            raise Conflict("document_id_taken", "Документ с этим идентификатором уже размещён.")
        if self.status == "annulled":
            raise Conflict("application_annulled", "Заявка аннулирована: документы к ней не размещаются.")
        if kind in CLOSING and self.status not in ("acts", "completed"):
            raise Conflict(
                "not_connected", "Закрывающие документы размещаются после фактического присоединения."
            )
        _own(owned, file["file_id"])
        self._company_document_placed(
            document_id=document_id,
            kind=kind,
            file_id=file["file_id"],
            name=file.get("name", ""),
            actor_id=actor.account_id,
            actor_name=actor.name,
        )
        if kind in CLOSING and self.status == "acts":
            self._changed(actor, "completed", CLOSED, None)
        return True
