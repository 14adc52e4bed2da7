"""The server's counters, in Prometheus's text format (GET /metrics); standard library only."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass
class Metrics:
    requests: Counter = field(default_factory=Counter)  # (endpoint, status)
    verdicts: Counter = field(default_factory=Counter)
    timeouts: Counter = field(default_factory=Counter)  # endpoint
    internal_errors: int = 0
    busy: int = 0
    buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    latency_sum: float = 0.0
    latency_count: int = 0

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        self.requests[(endpoint, status)] += 1
        self.latency_sum += seconds
        self.latency_count += 1
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                self.buckets[i] += 1

    def verdict(self, body: dict) -> None:
        for item in body.get("results", [body]):
            if isinstance(item, dict) and isinstance(item.get("verdict"), str):
                self.verdicts[item["verdict"]] += 1

    def text(self, ready_children: int) -> str:
        lines = ["# HELP gradcli_requests_total API requests answered, by endpoint and HTTP status.",
                 "# TYPE gradcli_requests_total counter"]  # fmt: skip
        lines += [
            f'gradcli_requests_total{{endpoint="{e}",status="{s}"}} {n}' for (e, s), n in sorted(self.requests.items())
        ]
        lines += ["# HELP gradcli_verdicts_total Check verdicts given.", "# TYPE gradcli_verdicts_total counter"]
        lines += [f'gradcli_verdicts_total{{verdict="{v}"}} {n}' for v, n in sorted(self.verdicts.items())]
        lines += ["# HELP gradcli_timeouts_total Requests that ran past their wall time.",
                  "# TYPE gradcli_timeouts_total counter"]  # fmt: skip
        lines += [f'gradcli_timeouts_total{{endpoint="{e}"}} {n}' for e, n in sorted(self.timeouts.items())]
        lines += [
            "# HELP gradcli_internal_errors_total Requests that met a bug in gradcli.",
            "# TYPE gradcli_internal_errors_total counter",
            f"gradcli_internal_errors_total {self.internal_errors}",
            "# HELP gradcli_busy_total Requests refused because no warm child could take them (429).",
            "# TYPE gradcli_busy_total counter",
            f"gradcli_busy_total {self.busy}",
            "# HELP gradcli_request_seconds Wall time of API requests.",
            "# TYPE gradcli_request_seconds histogram",
        ]
        lines += [
            f'gradcli_request_seconds_bucket{{le="{b:g}"}} {n}' for b, n in zip(BUCKETS, self.buckets, strict=True)
        ]
        lines += [
            f'gradcli_request_seconds_bucket{{le="+Inf"}} {self.latency_count}',
            f"gradcli_request_seconds_sum {self.latency_sum:.6f}",
            f"gradcli_request_seconds_count {self.latency_count}",
            "# HELP gradcli_ready_children Warm children waiting for a request.",
            "# TYPE gradcli_ready_children gauge",
            f"gradcli_ready_children {ready_children}",
        ]
        return "\n".join(lines) + "\n"
