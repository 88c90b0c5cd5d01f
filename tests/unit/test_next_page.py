"""services/gateway/next_page.py: a login returns only to a page of the cabinet named by a
same-site relative path."""

from __future__ import annotations

import pytest

from services.gateway.next_page import login_url, safe_next

ACCEPTED = (
    "/applications",
    "/applications/3f1c2a9e-0b7d-4c1e-9a55-2d6f8e4b7c10",
    "/applications/3f1c2a9e-0b7d-4c1e-9a55-2d6f8e4b7c10/chat",
    "/applications/3f1c2a9e-0b7d-4c1e-9a55-2d6f8e4b7c10/chat?chat_before=12",
    "/files?page=2",
    "/apply/individual_15kw/new",
    "/profile",
)
REFUSED = (
    "",
    None,
    "/",
    "//evil.example",
    "//evil.example/applications",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/applications\\..\\evil",
    "https://evil.example/applications",
    "http:/applications",
    "javascript:alert(1)",
    "applications",
    "/%2F%2Fevil.example",
    "%2F%2Fevil.example",
    "/applications%2F..%2F..%2Fevil",
    "/applications/%2e%2e/evil",
    "/applications/../../evil.example",
    "/applications/./x",
    "/applications//evil.example",
    "/applications?next=https://evil.example",
    "/applications#https://evil.example",
    "/applications\r\nSet-Cookie: x=1",
    "/applications\n",
    "/applications\t",
    " /applications",
    "/cabinet@evil.example",
    "/applications/ж",
    "/applications/\uff0fevil",
    "/elsewhere",
    "/api/v1/files",
    "/applications/" + "a" * 400,
)


@pytest.mark.parametrize("value", ACCEPTED)
def test_pages_of_the_cabinet_are_returned_to(value: str) -> None:
    assert safe_next(value) == value
    assert login_url(value).startswith("/?tab=login&next=%2F")


@pytest.mark.parametrize("value", REFUSED)
def test_anything_else_is_dropped(value: str | None) -> None:
    assert safe_next(value) == ""
    assert login_url(value or "") == "/?tab=login"
