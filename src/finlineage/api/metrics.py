"""Prometheus metrics, one registry per app instance (tests build several apps in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import Scope

from finlineage.api.middleware import route_template


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "finlineage_http_requests_total",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "finlineage_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.websocket_clients = Gauge(
            "finlineage_websocket_clients", "Connected dashboard WebSocket clients.", registry=self.registry
        )
        self.events_published = Counter(
            "finlineage_events_published_total",
            "Dashboard events published by type.",
            ["type"],
            registry=self.registry,
        )
        self.events_dropped = Counter(
            "finlineage_events_dropped_total",
            "Events dropped (invalid, rate limited, queue full).",
            ["reason"],
            registry=self.registry,
        )

    def observe_request(self, scope: Scope, status: int, seconds: float) -> None:
        route = route_template(scope)
        method = str(scope.get("method", ""))
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
