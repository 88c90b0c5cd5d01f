"""The public contract, fuzzed: schemathesis runs every check against the gateway's own
``/api/v1/openapi.json`` on the embedded default, anonymously and with a consumer's token.
Pass: no server error, no answer outside its route's schema, no undeclared status."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Person
from tests.e2e.helpers import log_in, register_and_confirm
from tests.harness import System

CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLES = 12  # per operation and phase: bounded, so the run takes a minute or two


def run_schemathesis(system: System, tmp_path: Path, *headers: str) -> subprocess.CompletedProcess[str]:
    args = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        f"{system.base_url}/api/v1/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(EXAMPLES),
        "--generation-database",
        "none",
        "--seed",
        "20261201",
        *[arg for header in headers for arg in ("-H", header)],
    ]
    return subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=900)


def test_contract_is_published_whole(system: System) -> None:
    if system.mode != "embedded":
        pytest.skip("the contract is the same document on both modes; fuzzed on the embedded default")
    with system.client() as http:
        doc = http.get("/api/v1/openapi.json").json()
    paths = doc["paths"]
    for path in (
        "/api/v1/accounts",
        "/api/v1/me",
        "/api/v1/applications",
        "/api/v1/applications/{application_id}/messages",
        "/api/v1/files",
        "/api/v1/forms",
    ):
        assert path in paths, path
    me = paths["/api/v1/me"]["get"]["responses"]
    assert {"200", "401"} <= set(me)
    assert me["401"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorOut"}


def test_schemathesis_anonymous(system: System, tmp_path: Path) -> None:
    if system.mode != "embedded":
        pytest.skip("fuzzed on the embedded default")
    done = run_schemathesis(system, tmp_path)
    assert done.returncode == 0, done.stdout[-20000:]


def test_schemathesis_as_consumer(system: System, tmp_path: Path, person: Person) -> None:
    if system.mode != "embedded":
        pytest.skip("fuzzed on the embedded default")
    with system.client() as http:
        register_and_confirm(system, http, person)
        auth = log_in(http, person.login, person.password)
    done = run_schemathesis(system, tmp_path, f"Authorization: {auth['Authorization']}")
    assert done.returncode == 0, done.stdout[-20000:]
