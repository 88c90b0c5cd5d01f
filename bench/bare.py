"""The baseline for ``gateway``: a one-route FastAPI app (``uvicorn bench.bare:app``)."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/api/v1/me")
async def me() -> dict[str, object]:
    return {"id": "00000000-0000-0000-0000-000000000000", "login": "bench", "email_confirmed": True}
