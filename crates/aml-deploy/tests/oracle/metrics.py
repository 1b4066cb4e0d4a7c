"""Per-deployment metrics computed from an endpoint's request records, independently of the
tools: `python3 metrics.py REQUESTS_DIR SINCE UNTIL` (RFC 3339 times, the window
`aml-deploy metrics` reported) prints the figures as JSON, nearest-rank percentiles."""
import json
import math
import sys
from datetime import datetime
from pathlib import Path

folder, since, until = Path(sys.argv[1]), sys.argv[2], sys.argv[3]


def instant(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


start, end = instant(since), instant(until)
window = (end - start).total_seconds()
by_deployment, unrouted = {}, 0
for file in sorted(folder.glob("*.jsonl")):
    for line in file.read_text().splitlines():
        record = json.loads(line)
        if not start <= instant(record["time"]) < end:
            continue
        if record["deployment"] is None:
            unrouted += 1
            continue
        by_deployment.setdefault(record["deployment"], []).append(record)


def rank(values, q):
    return values[max(1, math.ceil(q * len(values))) - 1]


out = {"unrouted_requests": unrouted, "deployments": []}
for name in sorted(by_deployment):
    records = by_deployment[name]
    latencies = sorted(r["latency_ms"] for r in records)
    errors = sum(1 for r in records if not 200 <= r["status"] < 300)
    out["deployments"].append(
        {
            "deployment": name,
            "requests": len(records),
            "requests_per_second": len(records) / window,
            "errors": errors,
            "error_rate": errors / len(records),
            "latency_ms": {f"p{int(q * 100)}": rank(latencies, q) for q in (0.5, 0.9, 0.95, 0.99)},
        }
    )
print(json.dumps(out))
