"""Prometheus metrics: requests by route and status, latency, the live model version.

Each app owns its registry (no global state). Under gunicorn with several workers, set
`PROMETHEUS_MULTIPROC_DIR` (as `relata serve` does) and `/metrics` adds up all workers.
"""

from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """The service's metric families, registered in one registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "relata_requests_total",
            "HTTP requests answered, by route and status.",
            ["route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "relata_request_seconds",
            "Time to answer a request, by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.model = Gauge(
            "relata_model_info",
            "1 for the model version being served.",
            ["version"],
            multiprocess_mode="livemax",
            registry=self.registry,
        )
        self.database_up = Gauge(
            "relata_database_up",
            "1 while the overrides database answers, 0 while serving without it.",
            multiprocess_mode="livemin",
            registry=self.registry,
        )
        self.model_failures = Counter(
            "relata_model_load_failures_total",
            "Model versions refused because they failed to load or verify.",
            registry=self.registry,
        )

    def model_changed(self, previous: object, current: object) -> None:
        """Move the version gauge from the previous model to the current one."""
        if previous is not None:
            self.model.labels(version=previous.version).set(0)  # type: ignore[attr-defined]
        self.model.labels(version=current.version).set(1)  # type: ignore[attr-defined]

    def exposition(self) -> bytes:
        """The text exposition, across all workers in multiprocess mode."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


def init_app(app: Flask) -> Metrics:
    """Time and count every request, and serve `/metrics`."""
    metrics = Metrics()
    app.extensions["relata.metrics"] = metrics

    @app.before_request
    def _start_timer() -> None:
        g.relata_started = time.perf_counter()

    @app.after_request
    def _record(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule else "unmatched"
        started = g.get("relata_started")
        if started is not None:
            metrics.latency.labels(route=route).observe(time.perf_counter() - started)
        metrics.requests.labels(route=route, status=str(response.status_code)).inc()
        return response

    @app.get("/metrics")
    def metrics_endpoint() -> Response:
        return Response(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)

    return metrics
