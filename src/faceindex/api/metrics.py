"""Prometheus metrics: requests and latency per API and operation, requests in flight, and the
faces stored (read from the store when scraped): in total, or per collection only when asked
(`metrics_collections`), since collection names can say whose faces they hold."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from faceindex.store.base import CollectionRows

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _StoredFaces(Collector):
    def __init__(self, store: CollectionRows, name_collections: bool) -> None:
        self._store = store
        self._name_collections = name_collections

    def collect(self) -> Iterator[Metric]:
        counts = self._store.face_counts()
        yield GaugeMetricFamily("faceindex_faces", "Faces stored, in every collection", sum(n for _, n in counts))
        yield GaugeMetricFamily("faceindex_collections", "Collections", len(counts))
        if self._name_collections:
            family = GaugeMetricFamily(
                "faceindex_collection_faces", "Faces stored in a collection", labels=["collection"]
            )
            for name, count in counts:
                family.add_metric([name], count)
            yield family


class Metrics:
    def __init__(self, store: CollectionRows, name_collections: bool = False) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "faceindex_requests", "Requests answered", ["api", "operation", "outcome"], registry=self.registry
        )
        self.latency = Histogram(
            "faceindex_request_duration_seconds",
            "Time to answer a request",
            ["api", "operation"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge("faceindex_requests_in_flight", "Requests being answered", registry=self.registry)
        self.registry.register(_StoredFaces(store, name_collections))

    def observe(self, api: str, operation: str, outcome: str, seconds: float) -> None:
        self.requests.labels(api, operation, outcome).inc()
        self.latency.labels(api, operation).observe(seconds)
