"""«Импорт выписки» (staff): a bank statement in CSV is uploaded, sent on to
``POST /api/v1/payments/import``, and its report shown as a table (post/redirect/get: the
report travels in the flash, trimmed to what a cookie holds; the counts are always whole).

The form is parsed here (a statement is at most 2 MB) so that its CSRF field is checked like
every other form's; importing the same file again records nothing (duplicates are counted).
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from services.gateway.pages.calls import SIGNED_IN, SignedIn
from services.gateway.pages.post import Post
from services.gateway.pages.render import not_found, page
from services.gateway.routes import SLOW, STATEMENT_MAX

router = APIRouter(include_in_schema=False)
PAGE = "/payments/import"
FLASH_BUDGET = 2400  # bytes of the report in the flash cookie, compressed (the cookie holds ~3.8 KB)
PURPOSE_SHOWN = 160
ROWS_SHOWN = 200


def _staff(user: dict[str, Any]) -> bool:
    return "staff" in user.get("roles", [])


@router.get(PAGE)
async def import_page(request: Request, user: SignedIn) -> Response:
    if not _staff(user):
        return not_found(
            request, user, {"message": "Страница доступна только сотрудникам сетевой организации."}
        )
    return page(request, "payments_import.html", user=user, active="payments", max_mb=STATEMENT_MAX // 2**20)


def _size(payload: dict[str, Any]) -> int:
    raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return len(base64.urlsafe_b64encode(zlib.compress(raw, 9)))


def shown(report: dict[str, Any]) -> dict[str, Any]:
    """The report as the page shows it: the counts, and the lines that need staff (unmatched
    and refused, in the file's order) as many as the flash holds."""
    rows = sorted(
        [
            {"line": u["line"], "kind": "unmatched", "text": u["purpose"][:PURPOSE_SHOWN]}
            for u in report["unmatched"]
        ]
        + [
            {"line": r["line"], "kind": "refused", "text": r["message"], "code": r["code"]}
            for r in report["refused"]
        ],
        key=lambda row: int(row["line"]),
    )
    counts = {k: report[k] for k in ("lines", "recorded", "duplicates")}
    counts |= {"unmatched": len(report["unmatched"]), "refused": len(report["refused"])}
    kept: list[dict[str, Any]] = []
    for row in rows[:ROWS_SHOWN]:
        if _size({**counts, "rows": [*kept, row]}) > FLASH_BUDGET:
            break
        kept.append(row)
    return {**counts, "rows": kept, "hidden": len(rows) - len(kept)}


@router.post(PAGE, dependencies=[SIGNED_IN])
async def import_statement(request: Request) -> Response:
    post = await Post.read(request, PAGE)
    upload = (await request.form()).get("statement")
    if not isinstance(upload, UploadFile) or not upload.filename:
        post.fail(error="Выберите файл выписки (CSV).", fields={"statement": "выберите файл"})
    data = await upload.read(STATEMENT_MAX + 1)
    if len(data) > STATEMENT_MAX:
        post.fail(error="Файл выписки больше 2 МБ: разделите его на части.")
    path = "/api/v1/payments/import"
    answer = await post.call(
        "POST",
        path,
        ok=200,
        auth=True,
        headers={"content-type": "text/csv"},
        content=data,
        timeout=httpx.Timeout(SLOW[path], connect=2.0),
    )
    report = shown(answer.json())
    return post.back(report=report, file_name=upload.filename[:200])
