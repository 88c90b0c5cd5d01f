"""The grid-connection process (issue 12) through the gateway, one client, sequential calls:
offers placed/s, payments recorded/s, the whole process per application (submit → in work →
offer → full payment → the applicant's notice → connection → closing document), and the
bank-statement import of 1 000 lines (100 applications × 10 partial payments), first and again
(all duplicates). Figures only, no targets: a new part of the system, to compare later runs."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx

from bench.common import Figure, Infra, Section, out, percentile
from bench.gateway import log_in
from tests.conftest import new_person
from tests.e2e.files_helpers import PDF, upload, upload_zip
from tests.e2e.test_identity_complete import NEW_PASSWORD, create_staff
from tests.harness import System

OFFERS = 40  # offers placed, then two payments on each
WHOLE = 10  # applications taken through the whole process
STATEMENT_APPS, LINES_EACH = 100, 10  # 1 000 lines
HEADER = "Дата;Сумма;Назначение платежа;Номер документа;Плательщик"


class Calls:
    """The bench's calls as the consumer (``auth``) and as staff (``staff``)."""

    def __init__(self, http: httpx.Client, auth: dict[str, str], staff: dict[str, str]) -> None:
        self.http, self.auth, self.staff = http, auth, staff
        self.archive = upload_zip(http, auth)
        self.notice_file = upload(http, auth, "Уведомление.pdf", PDF + b"n", "application/pdf")
        self.contract = upload(http, staff, "Договор.pdf", PDF + b"c", "application/pdf")
        self.conditions = upload(http, staff, "ТУ.pdf", PDF + b"t", "application/pdf")
        self.act = upload(http, staff, "Акт.pdf", PDF + b"a", "application/pdf")
        self.today = datetime.now(UTC).date().isoformat()

    def post(self, path: str, body: dict[str, Any], staff: bool = True, ok: int = 200) -> dict[str, Any]:
        answer = self.http.post(path, headers=self.staff if staff else self.auth, json=body)
        if answer.status_code != ok:
            raise RuntimeError(f"{path}: {answer.status_code} {answer.text}")
        return dict(answer.json())

    def submit(self) -> dict[str, Any]:
        body = {
            "type_code": "individual_15kw",
            "power_kw": 10,
            "object_address": "г. Тверь, ул. Садовая, д. 7",
            "contact": {"phone": "+7 900 123-45-67", "email": "bench@example.ru"},
            "documents": [{"slot": "archive", "file_id": self.archive}],
        }
        return self.post("/api/v1/applications", body, staff=False, ok=201)

    def in_work(self) -> dict[str, Any]:
        app = self.submit()
        self.step(app, "transitions", {"to_status": "in_work"})
        return app

    def step(self, app: dict[str, Any], what: str, body: dict[str, Any], staff: bool = True) -> None:
        self.post(
            f"/api/v1/applications/{app['id']}/{what}",
            body,
            staff,
            201 if what == "company-documents" else 200,
        )

    def offer(self, app: dict[str, Any], amount: float = 1000.0) -> None:
        self.step(
            app,
            "offer",
            {
                "contract_file_id": self.contract,
                "technical_conditions_file_id": self.conditions,
                "invoice": {"amount_rub": amount},
                "activities_term": {"months": 4},
            },
        )

    def pay(self, app: dict[str, Any], amount: float, reference: str) -> None:
        self.step(app, "payments", {"amount_rub": amount, "paid_at": self.today, "reference": reference})

    def whole(self) -> float:
        started = time.perf_counter()
        app = self.in_work()
        self.offer(app)
        self.pay(app, 1000.0, "whole-1")
        self.step(app, "notices", {"kind": "tu_fulfilled", "file_ids": [self.notice_file]}, staff=False)
        self.step(app, "connection", {"connected_at": self.today, "voltage_applied_at": self.today})
        self.step(app, "company-documents", {"kind": "act_tp", "file_id": self.act})
        return (time.perf_counter() - started) * 1000


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else 0.0


def _run(system: System, mode: str) -> dict[str, Any]:
    clerk = new_person()
    create_staff(system, clerk.login, clerk.email)
    with system.client() as http:
        token = http.post("/api/v1/sessions", json={"login": clerk.login, "password": NEW_PASSWORD}).json()
        calls = Calls(
            http,
            {"Authorization": f"Bearer {log_in(system)}"},
            {"Authorization": f"Bearer {token['access_token']}"},
        )
        section = Section(f"process / {mode}: one client through the gateway, sequential")
        out(f"  … {OFFERS} applications in work")
        apps = [calls.in_work() for _ in range(OFFERS)]
        started = time.perf_counter()
        for app in apps:
            calls.offer(app)
        section.add(
            "offers_per_s", Figure("offers placed/s", _rate(OFFERS, time.perf_counter() - started), "ops/s")
        )
        started = time.perf_counter()
        for app in apps:
            calls.pay(app, 400.0, f"p1-{app['id']}")
            calls.pay(app, 600.0, f"p2-{app['id']}")  # the full amount: concludes the contract
        payments = time.perf_counter() - started
        section.add("payments_per_s", Figure("payments recorded/s", _rate(2 * OFFERS, payments), "ops/s"))
        out(f"  … {WHOLE} applications through the whole process")
        whole = [calls.whole() for _ in range(WHOLE)]
        section.add("whole_p50_ms", Figure("whole process per application p50", percentile(whole, 50), "ms"))
        section.add("whole_max_ms", Figure("whole process per application max", max(whole), "ms"))
        out(f"  … {STATEMENT_APPS} offers for the statement of {STATEMENT_APPS * LINES_EACH} lines")
        targets = []
        for _ in range(STATEMENT_APPS):
            app = calls.in_work()
            calls.offer(app)
            targets.append(app["number"])
        day = datetime.now(UTC).date().strftime("%d.%m.%Y")
        rows = [
            f'{day};"100,00";"Оплата за ТП по заявке № {number}. Без НДС";{n}{i};Бенч Бенчев'
            for n, number in enumerate(targets)
            for i in range(LINES_EACH)
        ]
        data = "\r\n".join([HEADER, *rows]).encode("cp1251")
        for key, label in (("import", "statement import"), ("reimport", "the same statement again")):
            started = time.perf_counter()
            answer = http.post(
                "/api/v1/payments/import",
                headers={**calls.staff, "Content-Type": "text/csv"},
                content=data,
                timeout=600,
            )
            took = time.perf_counter() - started
            report = answer.json()
            if answer.status_code != 200 or report["refused"] or report["unmatched"]:
                raise RuntimeError(f"import: {answer.status_code} {answer.text[:500]}")
            section.add(f"{key}_lines_per_s", Figure(f"{label}, lines/s", _rate(len(rows), took), "lines/s"))
            section.note(f"{label}: recorded {report['recorded']}, duplicates {report['duplicates']}")
    return section.as_json()


def run(infra: Infra) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for mode in ("embedded", "stack"):
        system = System.create(mode, infra.tmpdir(f"process-{mode}"))
        if "LK_TOPIC_PREFIX" in system.env:
            infra.topic_prefixes.append(system.env["LK_TOPIC_PREFIX"])
        try:
            out(f"  … starting the system ({mode})")
            system.start()
            results[mode] = _run(system, mode)
        finally:
            system.destroy()
    return results
