"""The gateway: the one public entry point (web client + ``/api/v1`` routing)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.gateway.chat_ws import router as chat_ws_router
from services.gateway.contract import Contract, build_contract
from services.gateway.edge import Edge
from services.gateway.errors import install_error_pages
from services.gateway.pages import router as pages_router
from services.gateway.pages_applications import router as applications_pages_router
from services.gateway.pages_chat import router as chat_pages_router
from services.gateway.pages_files import router as files_pages_router
from services.gateway.proxy import ServiceClient
from services.gateway.routes import body_limit, is_public, service_for
from services.gateway.startup import StartupGate, wait_until_ready
from shared.auth import check_csrf, start_auth, token_from_request
from shared.http import ApiError, error_body, health_of
from shared.readstore import build_readstore
from shared.runtime import Workers, dependencies, service_app
from shared.settings import Settings
from shared.transport import build_transport

SERVICE = "gateway"
STATIC = Path(__file__).parent / "static"
ICON_CACHE = {"cache-control": "public, max-age=86400"}
BACKENDS = ("identity", "applications", "chat", "files", "notifier")

SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


class SecurityHeaders:
    """Adds the page protection headers (plain ASGI: no task per request, unlike
    ``@app.middleware``); API answers carry their own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.raw = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope["path"]).startswith("/api/"):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", ())}
                extra = [(k, v) for k, v in self.raw if k not in present]
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


class CachedStatic(StaticFiles):
    """Styles and scripts: cacheable for an hour (every other answer is ``no-store``)."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["cache-control"] = "public, max-age=3600"
        return response


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.client = ServiceClient(settings)
        app.state.contract = None
        app.state.contract_at = 0.0
        store = build_readstore(settings, SERVICE)
        await store.open()
        transport = build_transport(settings)
        await transport.start()
        workers = Workers()
        app.state.auth = start_auth(settings, SERVICE, store, transport, workers)
        app.state.dependencies = dependencies(store=store, transport=transport)
        workers.start("gateway.startup", lambda: wait_until_ready(ready, all_ready))
        try:
            yield
        finally:
            await workers.stop()
            await transport.stop()
            await store.close()
            await app.state.client.close()

    # Uploads stream through to the files service, which counts each file exactly.
    # The gateway publishes the merged contract of the services, not one of its own.
    app = service_app(
        SERVICE, settings, lifespan, body_limit=body_limit(settings), openapi_url=None, pages=True
    )
    app.add_middleware(SecurityHeaders)
    ready = asyncio.Event()
    app.add_middleware(StartupGate, ready=ready, check=lambda: all_ready())
    app.add_middleware(Edge, settings=settings)  # outermost: everything else sees its decisions

    async def all_ready() -> bool:
        client: ServiceClient = app.state.client
        for service in BACKENDS:
            try:
                if (await client.call("GET", service, "/health", timeout=3.0)).status_code != 200:
                    return False
            except httpx.TransportError:
                return False
        return True

    @app.get("/health/live", include_in_schema=False)
    async def live() -> JSONResponse:
        return JSONResponse({"service": SERVICE, "status": "live"})

    @app.get("/health", include_in_schema=False)
    @app.get("/health/ready", include_in_schema=False)
    async def health() -> JSONResponse:
        """Ready when the gateway's own dependencies and every service behind it are."""
        client: ServiceClient = app.state.client

        async def one(service: str) -> tuple[str, str]:
            try:
                answer = await client.call("GET", service, "/health", timeout=3.0)
                return service, "ok" if answer.status_code == 200 else "unavailable"
            except httpx.TransportError:
                return service, "unavailable"

        own = await health_of(app.state.dependencies)
        states = dict(await asyncio.gather(*(one(s) for s in BACKENDS)))
        ok = all(v == "ok" for v in (*states.values(), *own.values()))
        return JSONResponse(
            {
                "service": SERVICE,
                "status": "ok" if ok else "degraded",
                "services": states,
                "dependencies": own,
            },
            200 if ok else 503,
            headers={} if ok else {"Retry-After": "5"},
        )

    async def fetch_contract(service: str) -> dict[str, Any] | None:
        client: ServiceClient = app.state.client
        try:
            answer = await client.call("GET", service, "/api/v1/openapi.json", timeout=5.0)
            doc: dict[str, Any] = answer.json()
        except (httpx.TransportError, ValueError):
            return None
        return doc if answer.status_code == 200 else None

    async def contract() -> Contract:
        """The merged contract; built again while some service has not answered yet."""
        current: Contract | None = app.state.contract
        now = time.monotonic()
        if current is None or (not current.complete and now - app.state.contract_at > 2.0):
            app.state.contract_at = now
            current = app.state.contract = await build_contract(fetch_contract)
        return current

    @app.get("/api/v1/openapi.json", include_in_schema=False)
    async def openapi() -> JSONResponse:
        """The public contract: every service's ``/api/v1`` routes in one document."""
        return JSONResponse((await contract()).document)

    @app.api_route(
        "/api/v1/{path:path}",
        methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        include_in_schema=False,
    )
    async def api(request: Request, path: str) -> Response:
        service = service_for(request.url.path)
        if service is None:
            return JSONResponse(error_body("not_found", "Не найдено."), 404)
        known = await contract()
        methods = known.methods_for(request.url.path)
        if methods is None and service in known.services:
            return JSONResponse(error_body("not_found", "Не найдено."), 404)
        if methods is not None and request.method not in methods:
            allow = ", ".join(sorted(methods))
            return JSONResponse(
                error_body("method_not_allowed", "Метод не поддерживается."), 405, headers={"allow": allow}
            )
        if not is_public(request.method, request.url.path):
            # Refuse bad, expired and revoked tokens here, before any service is bothered.
            found = token_from_request(request, settings.session_cookie)
            try:
                if found is None:
                    raise ApiError(401, "not_authenticated", "Требуется вход в личный кабинет.")
                if found[1]:
                    check_csrf(request)
                await app.state.auth.authenticate(found[0])
            except ApiError as exc:
                return JSONResponse(error_body(exc.code, exc.message), exc.status)
        client: ServiceClient = app.state.client
        return await client.forward(request, service)

    install_error_pages(app)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(STATIC / "favicon.ico", media_type="image/x-icon", headers=ICON_CACHE)

    app.include_router(pages_router)
    app.include_router(applications_pages_router)
    app.include_router(chat_pages_router)
    app.include_router(chat_ws_router)
    app.include_router(files_pages_router)
    app.mount("/static", CachedStatic(directory=STATIC), name="static")
    return app
