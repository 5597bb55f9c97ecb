"""Prometheus metrics of one server. Requests are counted by route template: a path no route has
is counted as UNMATCHED, so no client can grow the label set."""
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
UNMATCHED = "unmatched"


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("trit_requests", "HTTP requests by route template and status", ["endpoint", "status"],
                                registry=r)
        self.prompt_tokens = Counter("trit_prompt_tokens", "prompt tokens of finished requests", registry=r)
        self.generated_tokens = Counter("trit_generated_tokens", "generated tokens", registry=r)
        self.ttft = Histogram("trit_time_to_first_token_seconds", "time to first token", buckets=LATENCY_BUCKETS,
                              registry=r)
        self.itl = Histogram("trit_inter_token_latency_seconds", "time between streamed pieces",
                             buckets=LATENCY_BUCKETS, registry=r)
        self.queue = Gauge("trit_queue_depth", "requests waiting for a slot", registry=r)
        self.running = Gauge("trit_running_sequences", "requests holding a slot", registry=r)
        self.cells = Gauge("trit_kv_cells_used", "KV cache positions held", registry=r)

    def count_request(self, route, status):
        """route: a route's path template, or None for a path no route has."""
        self.requests.labels(route or UNMATCHED, str(status)).inc()

    def account(self, usage):
        if usage:
            self.prompt_tokens.inc(usage["prompt_tokens"])
            self.generated_tokens.inc(usage["completion_tokens"])

    def exposition(self, engine_stats=None):
        """The text /metrics serves, with the engine's gauges as of now."""
        if engine_stats is not None:
            self.queue.set(engine_stats["waiting"])
            self.running.set(engine_stats["running"])
            self.cells.set(engine_stats["cells_used"])
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def route_template(app, path):
    """The path template of the app's route for `path`, or None. The routes have no path
    parameters, so the template is the path itself when a route has it."""
    known = getattr(app.state, "route_paths", None)
    if known is None:
        known = app.state.route_paths = frozenset(getattr(r, "path", None) for r in app.routes)
    return path if path in known else None
