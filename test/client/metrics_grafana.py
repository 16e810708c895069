"""The Grafana dashboard (contrib/grafana/pg_steward.json) uses only metrics steward.prometheus()
emits (DESIGN.md section 5).

1. The dashboard is valid JSON with the panels it promises: statements per second per command,
   errors by SQLSTATE, latency p50/p95/p99 from the histogram, top tables; every panel has a
   datasource and at least one query.
2. Every metric name in its PromQL expressions and template queries is a sample name that
   steward.prometheus() emits after a small workload (a histogram is used through its _bucket,
   _sum and _count samples), and every label the expressions select or group by is a label of
   those samples.
"""
import json
import os
import re
import sys

import psycopg

HERE = os.path.dirname(os.path.abspath(__file__))
DASHBOARD = os.path.join(HERE, "..", "..", "contrib", "grafana", "pg_steward.json")
METRIC = re.compile(r"\bsteward_[a-zA-Z0-9_]+\b")
# label names a PromQL expression uses: in selectors {name=...} and in by (...) clauses
SELECTOR = re.compile(r"\{([^}]*)\}")
BY = re.compile(r"\bby\s*\(([^)]*)\)")
# the grafana-side names that are not Prometheus labels
GRAFANA = {"le"}

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print(f"FAIL: {msg}", file=sys.stderr)
    return cond


def expressions(node):
    """Every PromQL string of the dashboard: targets' expr, template queries and definitions."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("expr", "definition") and isinstance(value, str):
                yield value
            elif key == "query" and isinstance(value, str):
                yield value
            elif key == "query" and isinstance(value, dict) and isinstance(value.get("query"), str):
                yield value["query"]
            else:
                yield from expressions(value)
    elif isinstance(node, list):
        for value in node:
            yield from expressions(value)


def emitted(text):
    """Sample names and the labels of each, from an exposition."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ", line)
        if not m:
            continue
        labels = set(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', m.group(3) or ""))
        samples.setdefault(m.group(1), set()).update(labels)
    return samples


def main():
    with open(DASHBOARD) as f:
        dash = json.load(f)
    panels = dash.get("panels", [])
    titles = " | ".join(p.get("title", "") for p in panels)
    for want in ("Statements per second by command", "Errors per second by SQLSTATE",
                 "Latency p50 / p95 / p99", "Top tables"):
        check(any(p.get("title", "").startswith(want) for p in panels),
              f"dashboard has a panel '{want}': {titles}")
    for p in panels:
        check(p.get("datasource") and p.get("targets") and all(t.get("expr") for t in p["targets"]),
              f"panel {p.get('title')!r} has a datasource and queries")
    latency = next((p for p in panels if p.get("title", "").startswith("Latency")), {})
    exprs = " ".join(t.get("expr", "") for t in latency.get("targets", []))
    for q in ("0.5", "0.95", "0.99"):
        check(f"histogram_quantile({q}," in exprs and "steward_statement_duration_seconds_bucket" in exprs,
              f"latency panel computes the {q} quantile from the histogram's buckets")

    # a workload, so that every family has series
    with psycopg.connect("", autocommit=True) as conn:
        conn.execute("CREATE TABLE g_items (id int PRIMARY KEY, v int)")
        conn.execute("INSERT INTO g_items VALUES (1, 1), (2, 2)")
        conn.execute("UPDATE g_items SET v = 3 WHERE id = 1")
        conn.execute("SELECT v FROM g_items WHERE id = 2").fetchall()
        try:
            conn.execute("INSERT INTO g_items VALUES (1, 1)")
        except psycopg.errors.UniqueViolation:
            pass
        text = conn.execute("SELECT steward.prometheus()").fetchone()[0]
        conn.execute("DROP TABLE g_items")
    samples = emitted(text)

    used = {}
    for e in expressions(dash):
        for name in METRIC.findall(e):
            used.setdefault(name, set())
            for sel in SELECTOR.findall(e):
                used[name].update(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", sel))
            for by in BY.findall(e):
                used[name].update(x.strip() for x in by.split(",") if x.strip())
    check(len(used) >= 5, f"the dashboard's expressions use steward metrics: {sorted(used)}")
    for name, labels in sorted(used.items()):
        if not check(name in samples, f"{name} (used by the dashboard) is emitted by prometheus();"
                                      f" emitted: {sorted(samples)}"):
            continue
        missing = labels - samples[name] - GRAFANA
        check(not missing, f"{name}: labels {sorted(missing)} used by the dashboard are not emitted"
                           f" (emitted: {sorted(samples[name])})")

    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        sys.exit(1)
    print(f"ok: the Grafana dashboard's {len(panels)} panels use {len(used)} metric names, all"
          f" emitted by steward.prometheus(): {', '.join(sorted(used))}")


if __name__ == "__main__":
    main()
