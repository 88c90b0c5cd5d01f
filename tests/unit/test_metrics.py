"""shared/metrics.py: requests counted by route template, /metrics answered only on a
service's own port; and the deploy files (alert rules, dashboard) name only figures the
services export."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from shared.edge import EDGE_HEADER, edge_key
from shared.metrics import RequestMetrics
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = Settings(secret_key="k" * 40)


def make_app(service: str, public: bool = False) -> FastAPI:
    app = FastAPI()

    @app.get("/api/v1/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    app.add_middleware(RequestMetrics, service=service, settings=SETTINGS, public=public)
    return app


def count(service: str, route: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "lk_http_requests_total", {"service": service, "method": "GET", "route": route, "status": status}
    )
    return value or 0.0


def test_requests_are_counted_by_route_template_never_by_raw_path() -> None:
    service = f"unit-{uuid.uuid4().hex[:6]}"
    with TestClient(make_app(service)) as http:
        ids = [str(uuid.uuid4()) for _ in range(3)]
        for thing in ids:
            assert http.get(f"/api/v1/things/{thing}").status_code == 200
        assert http.get("/api/v1/nothing-here").status_code == 404
        assert http.get("/elsewhere").status_code == 404
        text = http.get("/metrics").text
    assert count(service, "/api/v1/things/{thing_id}", "200") == 3
    assert count(service, "/api/v1/*", "404") == 1 and count(service, "(other)", "404") == 1
    assert not any(thing in text for thing in ids)
    latency = REGISTRY.get_sample_value(
        "lk_http_request_duration_seconds_count",
        {"service": service, "method": "GET", "route": "/api/v1/things/{thing_id}"},
    )
    assert latency == 3
    assert {"lk_http_requests", "lk_consumer_lag", "lk_dead_letters"} <= {
        f.name for f in text_string_to_metric_families(text)
    }


def test_metrics_are_not_served_on_the_public_entry_nor_to_the_edge() -> None:
    with TestClient(make_app("unit-public", public=True)) as http:
        assert http.get("/metrics").status_code == 404
    with TestClient(make_app("unit-own")) as http:
        assert http.get("/metrics").status_code == 200
        proof = {EDGE_HEADER: edge_key(SETTINGS.secret())}
        assert http.get("/metrics", headers=proof).status_code == 404  # forwarded by nginx
        assert http.get("/metrics", headers={EDGE_HEADER: "forged"}).status_code == 200
        assert http.post("/metrics").status_code in (404, 405)


EXPORTED = {
    "lk_http_requests_total",
    "lk_http_request_duration_seconds_bucket",
    "lk_http_request_duration_seconds_count",
    "lk_http_request_duration_seconds_sum",
    "lk_consumer_lag",
    "lk_relay_backlog",
    "lk_dead_letters",
    "lk_dead_letters_parked_total",
    "lk_notifier_outbox_depth",
    "lk_notifier_mail_failures_total",
    "lk_chat_open_sockets",
}


def names_in(expr: str) -> set[str]:
    return set(re.findall(r"\blk_[a-z_]+", expr))


def test_alert_rules_and_dashboard_name_only_exported_figures() -> None:
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    assert {
        "LkConsumerLagHigh",
        "LkDeadLetters",
        "LkRelayBacklogGrowing",
        "LkMailFailures",
        "LkHttp5xxRate",
    } <= alerts
    dashboard = json.loads((ROOT / "deploy/grafana/dashboard.json").read_text())
    exprs += [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = set().union(*map(names_in, exprs))
    assert used <= EXPORTED, used - EXPORTED
    assert used == EXPORTED - {
        "lk_http_request_duration_seconds_count",
        "lk_http_request_duration_seconds_sum",
    } - {"lk_dead_letters_parked_total"}
    scrape = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    assert scrape["rule_files"] == ["alerts.yml"]
    [job] = scrape["scrape_configs"]
    assert job["metrics_path"] == "/metrics" and len(job["static_configs"][0]["targets"]) == 6
