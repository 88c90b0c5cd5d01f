"""Payments of the connection fee (issue 12, docs/payments.md): the payment port (one use case,
``record_payment``), its accounting adapters (the API route, the bank-statement import) and a
fake for unit tests."""

from services.applications.payments.importer import Report, import_statement
from services.applications.payments.ledger import Ledger
from services.applications.payments.port import API, STATEMENT, Payment, PaymentPort

__all__ = ["API", "STATEMENT", "Ledger", "Payment", "PaymentPort", "Report", "import_statement"]
