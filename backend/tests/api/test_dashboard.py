"""deploy/grafana/conversa.json: every panel's query names metrics (and labels) the app exports, and the
monitoring stack's files agree with each other."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Api

REPO = Path(__file__).resolve().parents[3]
DASHBOARD = REPO / "deploy" / "grafana" / "conversa.json"
METRIC = re.compile(r"\b((?:conversa|process)_[a-z0-9_]+)\b(\{[^}]*\})?")
BY = re.compile(r"\bby \(([^)]*)\)")
ADDED_BY_PROMETHEUS = {"job", "instance"}


async def exported(app_factory: Any, make_settings: Any) -> dict[str, set[str]]:
    """Sample names the app serves after a little traffic, each with its label names."""
    app = await app_factory(make_settings(metrics_token="t0ken", user_daily_messages=2))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        api = Api(client, app)
        alice = await api.user("alice@example.com")
        await client.post("/api/chat/stream", headers=alice, json={"message": "hi"})
        await client.post("/api/chat", headers=alice, json={"message": "[[fail]]"})  # a model error
        await client.post("/api/chat", headers=alice, json={"message": "refused: over the quota"})
        text = (await client.get("/metrics", headers={"Authorization": "Bearer t0ken"})).text
    names: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            names.setdefault(sample.name, set()).update(sample.labels)
    return names


def panels() -> list[dict[str, Any]]:
    return list(json.loads(DASHBOARD.read_text())["panels"])


async def test_every_panel_queries_metrics_the_app_exports(app_factory: Any, make_settings: Any) -> None:
    names = await exported(app_factory, make_settings)
    used = set()
    for panel in panels():
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            expr = target["expr"]
            found = METRIC.findall(expr)
            assert found, f"{panel['title']}: no metric in {expr}"
            labels_here = set(ADDED_BY_PROMETHEUS | {"le"})
            for name, matchers in found:
                assert name in names, f"{panel['title']}: {name} is not exported"
                used.add(name)
                labels_here |= names[name]
                for key in re.findall(r"([a-z_]+)\s*(?:=~|!~|!=|=)", matchers):
                    assert key in names[name] | ADDED_BY_PROMETHEUS, f"{panel['title']}: {name} has no label {key}"
            for group in BY.findall(expr):
                for label in (part.strip() for part in group.split(",")):
                    assert label in labels_here, f"{panel['title']}: no label {label} to group by in {expr}"
    # Every metric family of the app is on the dashboard.
    families = {
        re.sub(r"_(total|bucket|count|sum|created)$", "", name) for name in names if name.startswith("conversa_")
    }
    shown = {re.sub(r"_(total|bucket|count|sum|created)$", "", name) for name in used}
    assert families <= shown, f"not on the dashboard: {sorted(families - shown)}"


def test_dashboard_layout_and_datasource() -> None:
    board = json.loads(DASHBOARD.read_text())
    assert board["uid"] == "conversa"
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in board["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
        area = {
            (x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & area, f"{panel['title']} overlaps another panel"
        cells |= area
    provisioned = yaml.safe_load((REPO / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    assert provisioned["datasources"][0]["uid"] == "prometheus"


def test_monitoring_compose_scrapes_the_app_with_the_token() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.monitoring.yml").read_text())
    assert set(compose["services"]) == {"prometheus", "grafana"}
    for service in compose["services"].values():
        assert all(str(port).startswith("127.0.0.1:") for port in service["ports"])  # never public
    scrape = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())["scrape_configs"][0]
    assert scrape["metrics_path"] == "/metrics"
    assert scrape["authorization"]["credentials_file"] == "/prometheus/metrics_token"
    app = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    assert scrape["static_configs"][0]["targets"] == [f"{next(iter(app))}:8000"]
