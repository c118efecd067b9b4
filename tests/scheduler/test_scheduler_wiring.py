"""How the daemon wires the incident pipeline: the hook, the worker's wake-up and the metrics."""

from __future__ import annotations

from grouping.pipeline import IncidentPipeline, PipelineCounters
from newswatch.config import Webhook
from scheduler.metrics import Metrics
from scheduler.wiring import connect_alerts, make_alert_hook, read_pipeline_counters


class FakeService:
    def __init__(self, hook):
        self.hook = hook


class FakeWorker:
    def __init__(self):
        self.woken = 0

    def notify(self):
        self.woken += 1


def test_alert_hook_is_the_incident_pipeline_with_webhooks_split_by_alert_on():
    hooks = (Webhook("a", "https://h.example/a", "s"), Webhook("b", "https://h.example/b", "s", alert_on="reports"),
             Webhook("c", "https://h.example/c", "s", alert_on="both"))
    hook = make_alert_hook(hooks)
    assert isinstance(hook, IncidentPipeline)
    assert [h.name for h in hook.incident_hooks] == ["a", "c"]
    assert [h.name for h in hook.report_hooks] == ["b", "c"]
    assert isinstance(make_alert_hook(()), IncidentPipeline)  # no webhooks: incidents are still grouped


def test_worker_is_woken_after_a_commit_that_queued_alerts_and_counters_reach_metrics():
    hook = make_alert_hook(())
    service, worker = FakeService(hook), FakeWorker()
    connect_alerts(service, worker)
    hook._commit(PipelineCounters(incidents_created=1, incident_alerts=2))
    hook._commit(PipelineCounters(grouped_articles=1))  # nothing queued: no wake-up
    hook._commit(PipelineCounters(incidents_updated=1, incident_alerts=1, report_alerts=1))
    assert worker.woken == 2
    assert read_pipeline_counters(service)["incidents_created"] == 1
    metrics = Metrics()
    metrics.watch_pipeline(lambda: read_pipeline_counters(service))
    text = metrics.render().decode()
    assert "newswatch_incidents_created_total 1.0" in text
    assert "newswatch_incidents_updated_total 1.0" in text
    assert "newswatch_incident_alerts_queued_total 3.0" in text
    assert "newswatch_report_alerts_queued_total 1.0" in text
    assert read_pipeline_counters(object()) == {}  # a crawl service without the pipeline
