"""Prometheus metrics: requests by route and status, latency, the live model version.

Each app owns its registry (no global state). Under gunicorn with several workers, set
`PROMETHEUS_MULTIPROC_DIR` (as `relata serve` does) and `/metrics` adds up all workers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from werkzeug.routing import Rule

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """The service's metric families, registered in one registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}
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
        # Per worker (a `pid` label under several workers): a worker left on an old
        # version shows, rather than hiding behind the others' maximum.
        self.model = Gauge(
            "relata_model_info",
            "1 for the model version being served.",
            ["version"],
            multiprocess_mode="liveall",
            registry=self.registry,
        )
        self.database_up = Gauge(
            "relata_database_up",
            "1 while the overrides database answers, 0 while serving without it.",
            multiprocess_mode="livemin",
            registry=self.registry,
        )
        self.model_fallback = Gauge(
            "relata_model_fallback",
            "1 while serving an older version from HISTORY because the one CURRENT names "
            "failed to load at start.",
            multiprocess_mode="livemax",
            registry=self.registry,
        )
        self.model_failures = Counter(
            "relata_model_load_failures_total",
            "Model versions refused because they failed to load or verify.",
            registry=self.registry,
        )

    def record(self, route: str, status: int, seconds: float) -> None:
        """Count one answered request and observe its latency."""
        key = (route, status)
        children = self._children.get(key)
        if children is None:  # label lookups validate and lock: once per (route, status)
            children = (self.latency.labels(route=route),
                        self.requests.labels(route=route, status=str(status)))  # fmt: skip
            self._children[key] = children
        children[0].observe(seconds)
        children[1].inc()

    def model_changed(self, previous: object, current: object, fallback: bool) -> None:
        """Move the version gauge from the previous model to the current one."""
        if previous is not None:
            self.model.labels(version=previous.version).set(0)  # type: ignore[attr-defined]
        self.model.labels(version=current.version).set(1)  # type: ignore[attr-defined]
        self.model_fallback.set(int(fallback))

    def exposition(self) -> bytes:
        """The text exposition, across all workers in multiprocess mode."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


ROUTE = "relata.route"  # where a request's matched rule is left for `TimedApp`


class RoutedRequest(Request):
    """A request that also leaves its matched URL rule in the WSGI environ: Flask drops
    the request object itself before the response reaches `TimedApp`."""

    @property  # type: ignore[override]
    def url_rule(self) -> Rule | None:
        return self.environ.get(ROUTE)

    @url_rule.setter
    def url_rule(self, rule: Rule | None) -> None:
        self.environ[ROUTE] = rule


class TimedApp:
    """WSGI middleware: time and count every request by route and status. A wrapper
    rather than Flask hooks, which cost more per request than the counting itself."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], metrics: Metrics) -> None:
        self.wsgi_app = wsgi_app
        self.metrics = metrics

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        started = time.perf_counter()
        status = [500]

        def start(code: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[0] = int(code[:3])
            return start_response(code, headers, exc_info)

        body = self.wsgi_app(environ, start)
        rule = environ.get(ROUTE)
        self.metrics.record(
            rule.rule if rule else "unmatched", status[0], time.perf_counter() - started
        )
        return body


def init_app(app: Flask) -> Metrics:
    """Time and count every request, and serve `/metrics`."""
    metrics = Metrics()
    app.extensions["relata.metrics"] = metrics
    app.request_class = RoutedRequest
    app.wsgi_app = TimedApp(app.wsgi_app, metrics)  # type: ignore[method-assign]

    @app.get("/metrics")
    def metrics_endpoint() -> Response:
        return Response(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)

    return metrics
