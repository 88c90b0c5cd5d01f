"""Issue 13's documents and fees, in this process (no servers): fee estimates per second on
the shipped schedule, the application form and a standard contract built as DOCX per second,
and the PDF by LibreOffice (the first conversion with a new profile, then warm ones; the cache
by hash is bypassed by a distinct document each time)."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from bench.common import Infra, fmt, out
from services.applications.application_form import Filed, build
from services.applications.fees.book import FEES_FILE
from services.applications.fees.model import Schedule
from services.applications.fees.rules import Query, estimate
from services.files.forms import SPECS_BY_CODE, build_docx
from shared import pdf

FILED = Filed(
    number="ТП-2026-000042",
    filed_on=date(2026, 12, 2),
    type_title="Заявка юридического лица (индивидуального предпринимателя) на присоединение до 150 кВт",
    applicant_name="ООО «Ромашка»",
    applicant_email="office@example.ru",
    contact_phone="+7 900 123-45-67",
    power_kw=120,
    object_address="г. Казань, ул. Баумана, д. 1",
    request={"voltage_kv": 0.4, "reliability_category": 3, "object_name": "Магазин"},
    documents=[{"title": "План расположения", "name": "план.pdf"}],
    paper_signature=False,
    activity_term={"months": 6, "basis": "п. 16", "verified": False, "fallback": False},
    company_name="АО «Региональная сетевая компания»",
)


def _rate(fn: Any, seconds: float = 2.0) -> float:
    """Calls per second of ``fn`` over about ``seconds``."""
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        count += 1
    return count / (time.perf_counter() - start)


def run(infra: Infra) -> dict[str, Any]:
    schedule = Schedule.model_validate(json.loads(FEES_FILE.read_text(encoding="utf-8"))["schedules"][0])
    household = Query("individual_15kw", Decimal("15"), Decimal("0.4"), 3, 250, "urban")
    larger = Query("legal_150_670kw", Decimal("400"), Decimal("10"), 2, 800, "urban", None, False)
    estimates = _rate(lambda: (estimate(schedule, household), estimate(schedule, larger))) * 2
    forms = _rate(lambda: build(FILED))
    contract = SPECS_BY_CODE["contract_150kw"]
    contracts = _rate(lambda: build_docx(contract, company="АО «РСК»"))
    figures: dict[str, Any] = {
        "estimates_per_s": round(estimates),
        "application_forms_per_s": round(forms, 1),
        "contracts_per_s": round(contracts, 1),
    }
    out(f"  fee estimates              {fmt(estimates)}/s (the ≤15 kW rule and the standardised rates)")
    out(f"  application form DOCX      {fmt(forms)}/s")
    out(f"  standard contract DOCX     {fmt(contracts)}/s")
    if pdf.soffice() is None:
        out("  PDF                        skipped: LibreOffice missing (deploy/libreoffice.sh)")
        return figures
    timings = []
    for n in range(6):
        document = build(replace(FILED, number=f"ТП-2026-{n:06d}"))
        start = time.perf_counter()
        pdf.to_pdf(document)
        timings.append((time.perf_counter() - start) * 1000)
    warm = sorted(timings[1:])
    figures |= {"pdf_first_ms": round(timings[0]), "pdf_warm_median_ms": round(warm[len(warm) // 2])}
    out(
        f"  PDF by LibreOffice         first {fmt(timings[0])} ms, then median {fmt(warm[len(warm) // 2])} ms"
    )
    return figures
