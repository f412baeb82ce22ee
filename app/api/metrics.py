"""GET /metrics: Prometheus text built at scrape time from the database and Redis, shared by every process."""
from flask import Blueprint, Response, current_app
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from app.progress import metrics
from app.queue import key_prefix

blp = Blueprint("metrics", __name__)
QUEUE = "batchery"


class BatcheryCollector:
    """Reads the shared counters on each scrape (web processes keep no metric state of their own)."""

    def __init__(self, broker_url: str, key_prefix: str):
        self.broker_url, self.key_prefix = broker_url, key_prefix

    def collect(self):
        """Yield every Batchery metric family."""
        batches = GaugeMetricFamily("batchery_batches", "Batches by status.", labels=["status"])
        for status, count in metrics.batches_by_status().items():
            batches.add_metric([status], count)
        yield batches

        items = CounterMetricFamily("batchery_items_processed", "Items that reached a final status, by outcome.",
                                    labels=["outcome"])
        for outcome, count in sorted(metrics.item_outcomes().items()):
            items.add_metric([outcome], count)
        yield items

        buckets, total = metrics.item_durations()
        yield HistogramMetricFamily("batchery_item_duration_seconds", "Time a worker spent processing one item.",
                                    buckets=buckets, sum_value=total)

        depth = GaugeMetricFamily("batchery_queue_depth", "Messages waiting in the Celery queue.", labels=["queue"])
        depth.add_metric([QUEUE], metrics.queue_depth(self.broker_url, self.key_prefix + QUEUE))
        yield depth

        deliveries = CounterMetricFamily("batchery_webhook_deliveries", "Webhook delivery attempts by outcome.",
                                         labels=["outcome"])
        for outcome, count in sorted(metrics.webhook_deliveries().items()):
            deliveries.add_metric([outcome], count)
        yield deliveries


@blp.get("/metrics")
def prometheus_metrics():
    """Prometheus text exposition of Batchery's metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BatcheryCollector(current_app.extensions["celery"].conf.broker_url, key_prefix()))
    # content_type, not mimetype: CONTENT_TYPE_LATEST already names its charset, and mimetype would add a second one.
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
