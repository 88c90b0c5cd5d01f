"""Small real files for tests: a PDF and a ZIP built here, uploaded through the API."""

from __future__ import annotations

import io
import zipfile

import httpx

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def zip_bytes(files: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in (files or {"Документы/заявка.pdf": PDF, "Документы/план.pdf": PDF}).items():
            archive.writestr(name, content)
    return buffer.getvalue()


def upload(http: httpx.Client, auth: dict[str, str], name: str, content: bytes, content_type: str) -> str:
    answer = http.post("/api/v1/files", headers=auth, files={"file": (name, content, content_type)})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def upload_pdf(http: httpx.Client, auth: dict[str, str], name: str = "Заявка.pdf") -> str:
    return upload(http, auth, name, PDF, "application/pdf")


def upload_zip(http: httpx.Client, auth: dict[str, str], name: str = "Документы для заявки.zip") -> str:
    return upload(http, auth, name, zip_bytes(), "application/zip")
