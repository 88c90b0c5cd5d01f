"""What an invoice says: who is paid (:class:`Payee`, from the ``LK_PAYEE_*`` settings), who
pays and how much for which application (:class:`Invoice`), and the words both put on paper
and in the QR code (the purpose, the amount in figures and in words, the VAT included)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from num2words import num2words

from services.applications.invoice.payload import PaymentFields
from shared.errors import Invalid
from shared.format import THIN
from shared.settings import Settings

# The example bank details of shared/settings.py: an invoice made with them says so in red.
EXAMPLE_ACCOUNT = "40702810600000000001"


@dataclass(frozen=True)
class Payee:
    """The grid company as the recipient of a bank transfer."""

    name: str
    inn: str
    kpp: str
    account: str
    bank: str
    bic: str
    corr_account: str
    address: str = ""
    vat_percent: int = 0  # 0: «Без НДС»
    example: bool = False  # the details are the settings' examples, not the company's


@dataclass(frozen=True)
class Invoice:
    """One invoice for one application; ``number`` is the application's unless given."""

    application_number: str
    payer: str
    amount_kopecks: int
    issued: date
    due: date
    number: str = ""

    def __post_init__(self) -> None:
        if self.amount_kopecks <= 0:
            raise Invalid("invoice_amount_not_positive", "Сумма счёта должна быть больше нуля.")
        if self.due < self.issued:
            raise Invalid("invoice_due_before_issue", "Срок оплаты счёта раньше даты его выставления.")
        if not self.number:
            object.__setattr__(self, "number", self.application_number)

    @classmethod
    def of(
        cls,
        application_number: str,
        payer: str,
        amount_rub: Decimal | int | float | str,
        *,
        issued: date,
        due: date,
        number: str = "",
    ) -> Invoice:
        """An invoice for ``amount_rub`` roubles (kopecks after the point, at most two)."""
        return cls(application_number, payer, kopecks_of(amount_rub), issued, due, number)


def kopecks_of(amount_rub: Decimal | int | float | str) -> int:
    """``1234.5`` roubles → ``123450`` kopecks; a fraction of a kopeck is refused, not rounded."""
    try:
        amount = Decimal(str(amount_rub).replace(",", ".").replace(" ", "").replace(THIN, ""))
        whole = amount.is_finite() and amount == amount.quantize(Decimal("0.01"))
    except InvalidOperation:
        raise Invalid("invoice_amount_format", "Сумма счёта должна быть числом рублей.") from None
    if not whole:
        raise Invalid("invoice_amount_format", "Сумма счёта указывается в рублях и копейках.")
    if amount <= 0:
        raise Invalid("invoice_amount_not_positive", "Сумма счёта должна быть больше нуля.")
    return int(amount * 100)


def payee_of(settings: Settings) -> Payee:
    """The payee from the ``LK_PAYEE_*`` settings (the name defaults to ``LK_COMPANY_NAME``)."""
    return Payee(
        name=settings.payee_name or settings.company_name,
        inn=settings.payee_inn,
        kpp=settings.payee_kpp,
        account=settings.payee_account,
        bank=settings.payee_bank,
        bic=settings.payee_bic,
        corr_account=settings.payee_corr_account,
        address=settings.company_address,
        vat_percent=settings.payee_vat_percent,
        example=settings.payee_account == EXAMPLE_ACCOUNT,
    )


def money(kopecks: int) -> str:
    """``1 234,56`` (a narrow no-break space between thousands, a decimal comma)."""
    rubles, rest = divmod(kopecks, 100)
    return f"{rubles:,}".replace(",", THIN) + f",{rest:02d}"


def in_words(kopecks: int) -> str:
    """«Одна тысяча двести тридцать четыре рубля 56 копеек»: roubles in words, kopecks in
    figures, as Russian invoices write them."""
    text = str(
        num2words(
            Decimal(kopecks).scaleb(-2), lang="ru", to="currency", currency="RUB", cents=False, separator=""
        )
    )
    return text[:1].upper() + text[1:]


def vat_kopecks(invoice: Invoice, payee: Payee) -> int:
    """The VAT included in the amount: amount × rate / (100 + rate), to the kopeck."""
    share = Decimal(invoice.amount_kopecks) * payee.vat_percent / (100 + payee.vat_percent)
    return int(share.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def vat_text(invoice: Invoice, payee: Payee, *, plain: bool = False) -> str:
    """«В т. ч. НДС (22%) 222,63 руб.» or «Без НДС»; ``plain`` leaves out the thousands space
    (a payment order's character set has none)."""
    if payee.vat_percent <= 0:
        return "Без НДС"
    vat = vat_kopecks(invoice, payee)
    figure = f"{vat // 100},{vat % 100:02d}" if plain else money(vat)
    return f"В т. ч. НДС ({payee.vat_percent}%) {figure} руб."


def purpose(invoice: Invoice, payee: Payee) -> str:
    """The payment purpose; the application number in it is what a bank statement is matched by."""
    return (
        f"Оплата за технологическое присоединение по заявке № {invoice.application_number}. "
        f"{vat_text(invoice, payee, plain=True)}"
    )


def payment_fields(invoice: Invoice, payee: Payee) -> PaymentFields:
    """What the QR code carries for this invoice."""
    return PaymentFields(
        name=payee.name,
        personal_acc=payee.account,
        bank_name=payee.bank,
        bic=payee.bic,
        corresp_acc=payee.corr_account,
        sum_kopecks=invoice.amount_kopecks,
        purpose=purpose(invoice, payee),
        payee_inn=payee.inn,
        kpp=payee.kpp,
    )
