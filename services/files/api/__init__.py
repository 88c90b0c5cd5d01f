"""The files service's HTTP API (``/api/v1``), one router per resource: uploads, my files,
downloads, the standard forms library, filled-in applications and company documents issued
from the forms."""

from __future__ import annotations

import re

from services.files.api import downloads, fill, forms, issue, my_files, uploads
from services.files.upload import OVERHEAD
from shared.middleware import RouteLimit
from shared.settings import Settings

# In this order: a path that matches no route's method answers 405 with the first one's.
ROUTERS = (uploads.router, my_files.router, downloads.router, forms.router, fill.router, issue.router)
_UPLOADS = re.compile(r"^/api/v1/(files|forms/[^/]+/versions)/?$")


def body_limit(settings: Settings) -> RouteLimit:
    """Uploads stream past the usual request limit up to the upload limit (the upload
    itself counts the file exactly); every other request, JSON for a filled-in form
    included, keeps the usual limit."""
    upload = settings.max_upload_bytes + OVERHEAD

    def limit(method: str, path: str) -> int:
        return upload if method == "POST" and _UPLOADS.match(path) else settings.max_body_bytes

    return limit
