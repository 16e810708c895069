"""Query metrics read through two real drivers (DESIGN.md section 5).

1. psycopg 3 (parametrized statements, executemany) and asyncpg (prepared statements, executemany,
   a cursor fetched in batches over TCP with other statements run between the batches) each run
   a known workload as their own role; psycopg2 inlines a secret into its statement; one pooled
   psycopg connection serves 20 roles switching with SET ROLE;
2. steward.query_metrics has exactly their calls (failed ones included), errors and rows per
   session user and command -- the pooled connection's statements are its login role's, SET ROLE
   changes nothing; steward.table_metrics shows the table; steward.recent_queries shows the
   statements' text with constants as $n (psycopg2's secret never reaches it), application_name
   and client address (hidden from other roles);
3. one deliberately failing statement is in steward.error_metrics with its SQLSTATE and in
   steward.recent_queries with sqlstate and message set;
4. steward.prometheus() is valid Prometheus text exposition (checked by the parser below: every
   histogram series has the same complete set of buckets, cumulative, +Inf = _count), also with a
   table name that needs label escaping and with counters of two dropped roles, and its INSERT
   counters equal query_metrics'.

The server is shared with the other client tests: everything is filtered on
datname = current_database() and on this test's own roles.
"""
import asyncio
import math
import os
import re
import sys

import asyncpg
import psycopg
import psycopg2

PS_USER = "steward_c04_psycopg"
AP_USER = "steward_c04_asyncpg"
P2_USER = "steward_c04_psycopg2"
POOL_USER = "steward_c04_pool"
SECRET = "s3cr3t-token-4242"
PS_APP = "steward_c04_psycopg_app"
AP_APP = "steward_c04_asyncpg_app"
TABLE = "m04_items"
GONE = ("steward_c04_gone1", "steward_c04_gone2")
TENANTS = [f"steward_c04_tenant_{i}" for i in range(1, 21)]
# A table whose name needs every escape of a Prometheus label value.
ODD_TABLE = 'm04 "odd"\\name\nline2'

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print(f"FAIL: {msg}", file=sys.stderr)
    return cond


def quote_ident(name):
    return '"' + name.replace('"', '""') + '"'


# ---------------------------------------------------------------------------
# Prometheus text exposition format parser
# (https://prometheus.io/docs/instrumenting/exposition_formats/)
# ---------------------------------------------------------------------------
METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
# Go's ParseFloat, as far as an exporter may use it: decimals, exponents,
# NaN and signed infinities.
FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|Inf|inf|NaN|nan)")
TIMESTAMP = re.compile(r"-?\d+")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def parse_float(s):
    if s in ("+Inf", "Inf", "inf", "+inf"):
        return math.inf
    if s in ("-Inf", "-inf"):
        return -math.inf
    return float(s)


def parse_labels(line, pos, errors, no):
    """Parse '{name="value",...}' starting at line[pos] == '{'; return (labels, end) or (None, _)."""
    labels = {}
    pos += 1
    while True:
        while pos < len(line) and line[pos] in " \t":
            pos += 1
        if pos < len(line) and line[pos] == "}":
            return labels, pos + 1
        m = LABEL_NAME.match(line, pos)
        if not m:
            errors.append(f"line {no}: bad label name at column {pos + 1}: {line!r}")
            return None, pos
        name = m.group(0)
        pos = m.end()
        while pos < len(line) and line[pos] in " \t":
            pos += 1
        if not line.startswith('="', pos):
            # tolerate blanks between '=' and '"'
            if pos < len(line) and line[pos] == "=":
                pos += 1
                while pos < len(line) and line[pos] in " \t":
                    pos += 1
                if pos >= len(line) or line[pos] != '"':
                    errors.append(f"line {no}: label {name} has no quoted value: {line!r}")
                    return None, pos
                pos += 1
            else:
                errors.append(f"line {no}: label {name} has no '=\"': {line!r}")
                return None, pos
        else:
            pos += 2
        value = []
        while True:
            if pos >= len(line):
                errors.append(f"line {no}: unterminated value of label {name}: {line!r}")
                return None, pos
            c = line[pos]
            if c == "\\":
                if pos + 1 >= len(line) or line[pos + 1] not in '\\"n':
                    errors.append(f"line {no}: invalid escape in value of label {name}: {line!r}")
                    return None, pos
                value.append({"\\": "\\", '"': '"', "n": "\n"}[line[pos + 1]])
                pos += 2
            elif c == '"':
                pos += 1
                break
            else:
                value.append(c)
                pos += 1
        if name in labels:
            errors.append(f"line {no}: label {name} appears twice: {line!r}")
        if name.startswith("__"):
            errors.append(f"line {no}: label name {name} is reserved: {line!r}")
        labels[name] = "".join(value)
        while pos < len(line) and line[pos] in " \t":
            pos += 1
        if pos < len(line) and line[pos] == ",":
            pos += 1
            continue
        if pos < len(line) and line[pos] == "}":
            return labels, pos + 1
        errors.append(f"line {no}: expected ',' or '}}' after label {name}: {line!r}")
        return None, pos


def parse_prometheus(text):
    """Parse an exposition; return (families, errors).

    families: name -> {"type", "help", "samples": [(sample_name, labels, value, line_no)]}
    """
    errors = []
    families = {}
    closed = set()  # families whose group of lines has ended
    current = None  # family of the previous HELP/TYPE/sample line
    seen_series = set()

    if text and not text.endswith("\n"):
        errors.append("the exposition does not end with a newline")

    def family_of(sample_name):
        if sample_name in families and families[sample_name]["type"] not in ("histogram", "summary"):
            return sample_name
        for suffix, kinds in (("_bucket", ("histogram",)), ("_sum", ("histogram", "summary")),
                              ("_count", ("histogram", "summary"))):
            if sample_name.endswith(suffix):
                base = sample_name[: -len(suffix)]
                if base in families and families[base]["type"] in kinds:
                    return base
        if sample_name in families and families[sample_name]["type"] == "summary":
            return sample_name  # quantile samples
        return sample_name

    def enter(fam, no):
        nonlocal current
        if fam != current:
            if fam in closed:
                errors.append(f"line {no}: lines of metric family {fam} are not in one group")
            if current is not None:
                closed.add(current)
            current = fam

    def family(fam):
        return families.setdefault(fam, {"type": None, "help": None, "samples": []})

    for no, line in enumerate(text.split("\n"), 1):
        if line.strip() == "":
            continue
        if line.startswith("#"):
            m = re.match(r"#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$", line)
            if not m:
                continue  # a plain comment
            kind, name, rest = m.group(1), m.group(2), m.group(3) or ""
            if not METRIC_NAME.fullmatch(name):
                errors.append(f"line {no}: invalid metric name {name!r} in {kind}")
                continue
            enter(name, no)
            fam = family(name)
            if kind == "HELP":
                if fam["help"] is not None:
                    errors.append(f"line {no}: second HELP for {name}")
                if not re.fullmatch(r'(?:[^\\]|\\[\\n])*', rest):
                    errors.append(f"line {no}: invalid escape in HELP of {name}")
                fam["help"] = rest
            else:
                if fam["type"] is not None:
                    errors.append(f"line {no}: second TYPE for {name}")
                if fam["samples"]:
                    errors.append(f"line {no}: TYPE of {name} after its first sample")
                if rest.strip() not in TYPES:
                    errors.append(f"line {no}: unknown type {rest!r} for {name}")
                fam["type"] = rest.strip()
            continue
        m = METRIC_NAME.match(line)
        if not m:
            errors.append(f"line {no}: no metric name: {line!r}")
            continue
        name = m.group(0)
        pos = m.end()
        labels = {}
        if pos < len(line) and line[pos] == "{":
            labels, pos = parse_labels(line, pos, errors, no)
            if labels is None:
                continue
        rest = line[pos:]
        if not rest or rest[0] not in " \t":
            errors.append(f"line {no}: no blank before the value: {line!r}")
            continue
        fields = rest.split()
        if len(fields) not in (1, 2):
            errors.append(f"line {no}: expected a value and an optional timestamp: {line!r}")
            continue
        if not FLOAT.fullmatch(fields[0]):
            errors.append(f"line {no}: invalid value {fields[0]!r}: {line!r}")
            continue
        if len(fields) == 2 and not TIMESTAMP.fullmatch(fields[1]):
            errors.append(f"line {no}: invalid timestamp {fields[1]!r}: {line!r}")
            continue
        value = parse_float(fields[0])
        fam_name = family_of(name)
        enter(fam_name, no)
        fam = family(fam_name)
        key = (name, tuple(sorted(labels.items())))
        if key in seen_series:
            errors.append(f"line {no}: duplicate series {name}{labels}")
        seen_series.add(key)
        if fam["type"] == "counter" and (math.isnan(value) or value < 0):
            errors.append(f"line {no}: counter {name} has value {fields[0]}")
        fam["samples"].append((name, labels, value, no))

    for fam_name, fam in families.items():
        if fam["type"] is None and fam["samples"]:
            continue  # untyped: allowed
        if fam["type"] == "histogram":
            check_histogram(fam_name, fam, errors)
    return families, errors


def check_histogram(name, fam, errors):
    """Buckets per label set: numeric le, increasing le in order of appearance,
    cumulative (non-decreasing) counts, a +Inf bucket equal to _count, and _sum."""
    groups = {}
    for sample, labels, value, no in fam["samples"]:
        rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        g = groups.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        if sample == name + "_bucket":
            if "le" not in labels:
                errors.append(f"line {no}: {sample} without le")
                continue
            if not FLOAT.fullmatch(labels["le"]):
                errors.append(f"line {no}: {sample} has le={labels['le']!r}, not a float")
                continue
            g["buckets"].append((parse_float(labels["le"]), value, no))
        elif sample == name + "_sum":
            g["sum"] = value
        elif sample == name + "_count":
            g["count"] = value
        else:
            errors.append(f"line {no}: sample {sample} in histogram {name}")
    le_sets = {tuple(le for le, _, _ in g["buckets"]) for g in groups.values()}
    if len(le_sets) > 1:
        errors.append(f"histogram {name}: its series have {len(le_sets)} different sets of buckets"
                      f" ({sorted(len(x) for x in le_sets)} buckets); every series needs the same")
    for rest, g in groups.items():
        where = f"histogram {name}{dict(rest)}"
        bs = g["buckets"]
        if not bs:
            errors.append(f"{where}: no buckets")
            continue
        for (le1, v1, no1), (le2, v2, no2) in zip(bs, bs[1:]):
            if not le2 > le1:
                errors.append(f"line {no2}: {where}: le={le2} after le={le1} (line {no1}): "
                              "buckets must appear in increasing order of le")
            if v2 < v1:
                errors.append(f"line {no2}: {where}: bucket le={le2} count {v2} < {v1} of "
                              f"le={le1} (line {no1}): buckets must be cumulative")
        inf = [v for le, v, _ in bs if le == math.inf]
        if not inf:
            errors.append(f"{where}: no le=\"+Inf\" bucket")
        if g["count"] is None:
            errors.append(f"{where}: no _count")
        elif inf and inf[0] != g["count"]:
            errors.append(f"{where}: le=\"+Inf\" bucket {inf[0]} != _count {g['count']}")
        if g["sum"] is None:
            errors.append(f"{where}: no _sum")
        finite = sorted(bs)
        for (le1, v1, _), (le2, v2, no2) in zip(finite, finite[1:]):
            if v2 < v1:
                errors.append(f"line {no2}: {where}: sorted by le, bucket le={le2} count {v2} < "
                              f"{v1} of le={le1}: counts are not cumulative")


def self_test_parser():
    """The parser accepts a valid exposition and rejects broken ones."""
    good = (
        '# HELP a_total A counter with "quotes" and \\\\ and \\n.\n'
        "# TYPE a_total counter\n"
        'a_total{x="a\\"b\\\\c\\nd",y="2"} 3\n'
        "a_total 1.5e3 1700000000000\n"
        "# TYPE h histogram\n"
        'h_bucket{le="0.1"} 1\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 3\nh_sum 2.5\nh_count 3\n'
        "untyped_metric NaN\n")
    fams, errs = parse_prometheus(good)
    assert not errs, errs
    assert fams["a_total"]["samples"][0][1]["x"] == 'a"b\\c\nd', fams["a_total"]
    bad = {
        "raw newline in a label": 'a{x="1\n2"} 1\n',
        "bad escape": 'a{x="\\t"} 1\n',
        "bad name": "1a 1\n",
        "bad value": "a one\n",
        "TYPE after sample": "a 1\n# TYPE a counter\n",
        "split family": "# TYPE a counter\na 1\n# TYPE b counter\nb 1\na{x=\"1\"} 2\n",
        "buckets out of order": '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="0.1"} 1\n'
                                'h_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n',
        "not cumulative": '# TYPE h histogram\nh_bucket{le="0.1"} 2\nh_bucket{le="1"} 1\n'
                          'h_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n',
        "+Inf != count": '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n',
        "different bucket sets": '# TYPE h histogram\nh_bucket{x="a",le="1"} 1\nh_bucket{x="a",le="+Inf"} 1\n'
                                 'h_sum{x="a"} 1\nh_count{x="a"} 1\nh_bucket{x="b",le="+Inf"} 1\n'
                                 'h_sum{x="b"} 1\nh_count{x="b"} 1\n',
        "duplicate series": "a 1\na 2\n",
        "no final newline": "a 1",
    }
    for what, text in bad.items():
        _, errs = parse_prometheus(text)
        assert errs, f"parser accepted: {what}"


# ---------------------------------------------------------------------------
# The workloads
# ---------------------------------------------------------------------------
def psycopg_workload():
    """20 INSERTs (executemany), 10 SELECTs, 5 UPDATEs, 1 DELETE of 3 rows, 1 INSERT into the odd
    table, then 1 failing INSERT (unique violation)."""
    with psycopg.connect("", user=PS_USER, application_name=PS_APP, autocommit=True) as conn:
        cur = conn.cursor()
        cur.executemany(f"INSERT INTO {TABLE} (id, name, qty) VALUES (%s, %s, %s)",
                        [(i, f"item {i}", i) for i in range(1, 21)])
        for i in range(1, 11):
            row = cur.execute(f"SELECT name FROM {TABLE} WHERE id = %s", (i,)).fetchone()
            assert row == (f"item {i}",), row
        for i in range(1, 6):
            cur.execute(f"UPDATE {TABLE} SET qty = qty + %s WHERE id = %s", (10, i))
        cur.execute(f"DELETE FROM {TABLE} WHERE id = ANY(%s)", ([18, 19, 20],))
        assert cur.rowcount == 3, cur.rowcount
        cur.execute(f"INSERT INTO {quote_ident(ODD_TABLE)} VALUES (%s)", (1,))
        try:
            cur.execute(f"INSERT INTO {TABLE} (id, name, qty) VALUES (%s, %s, %s)", (5, "dup", 0))
        except psycopg.errors.UniqueViolation:
            pass
        else:
            check(False, "the duplicate INSERT did not fail")


def psycopg2_workload():
    """psycopg2 inlines its parameters into the statement text: a secret is sent as a literal."""
    conn = psycopg2.connect("", user=P2_USER, application_name="steward_c04_psycopg2_app")
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(f"SELECT count(*) FROM {TABLE} WHERE name = %s AND qty > %s", (SECRET, 7))
    assert cur.fetchone() == (0,)
    conn.close()


async def asyncpg_workload():
    """Over TCP: 15 INSERTs (executemany), 10 executions of a prepared SELECT, and one SELECT of
    500 rows read through a cursor (a portal of the extended protocol) in batches of 100, with
    another statement run after each batch while the portal stays open (inside BEGIN/COMMIT)."""
    conn = await asyncpg.connect(host="127.0.0.1", port=int(os.environ["PGPORT"]),
                                 user=AP_USER, database=os.environ["PGDATABASE"],
                                 server_settings={"application_name": AP_APP})
    try:
        await conn.executemany(f"INSERT INTO {TABLE} (id, name, qty) VALUES ($1, $2, $3)",
                               [(i, f"item {i}", i) for i in range(101, 116)])
        stmt = await conn.prepare(f"SELECT name FROM {TABLE} WHERE id = $1")
        for i in range(101, 111):
            assert await stmt.fetchval(i) == f"item {i}"
        n = 0
        async with conn.transaction():
            cur = await conn.cursor("SELECT g FROM generate_series(1, 500) g")
            for _ in range(5):
                n += len(await cur.fetch(100))
                assert await conn.fetchval("SELECT 1 AS between_batches") == 1
        assert n == 500, n
    finally:
        await conn.close()


def main():
    self_test_parser()
    admin = psycopg.connect("", autocommit=True)
    db = admin.execute("SELECT current_database()").fetchone()[0]
    for role in (PS_USER, AP_USER, P2_USER, POOL_USER):
        admin.execute(f"DROP ROLE IF EXISTS {role}")
        admin.execute(f"CREATE ROLE {role} LOGIN")
    admin.execute(f"CREATE TABLE {TABLE} (id int PRIMARY KEY, name text NOT NULL, qty int)")
    admin.execute(f"CREATE TABLE {quote_ident(ODD_TABLE)} (id int)")
    admin.execute(f"GRANT USAGE ON SCHEMA public TO {PS_USER}, {AP_USER}, {P2_USER}")
    admin.execute(f"GRANT ALL ON {TABLE}, {quote_ident(ODD_TABLE)} TO {PS_USER}, {AP_USER}, {P2_USER}")

    psycopg_workload()
    asyncio.run(asyncpg_workload())
    psycopg2_workload()

    # Two roles that ran a statement here and were dropped since: their
    # counters remain (username NULL), and the exposition must still be valid.
    for role in GONE:
        admin.execute(f"DROP ROLE IF EXISTS {role}")
        admin.execute(f"CREATE ROLE {role} LOGIN")
        with psycopg.connect("", user=role, autocommit=True) as conn:
            conn.execute("SELECT 1").fetchone()
        admin.execute(f"DROP ROLE {role}")

    def q(sql, *params):
        return admin.execute(sql, params).fetchall()

    # query_metrics per role and command: calls, errors, rows.
    metrics = {(u, c): (calls, errors, rows) for u, c, calls, errors, rows in q(
        "SELECT username, command, calls, errors, rows FROM steward.query_metrics"
        " WHERE datname = current_database() AND username IN (%s, %s)", PS_USER, AP_USER)}
    expected = {
        (PS_USER, "INSERT"): (22, 1, 21),  # 20 + the odd table + the duplicate that failed
        (PS_USER, "SELECT"): (10, 0, 10),
        (PS_USER, "UPDATE"): (5, 0, 5),
        (PS_USER, "DELETE"): (1, 0, 3),
        (AP_USER, "INSERT"): (15, 0, 15),
        (AP_USER, "SELECT"): (16, 0, 515),  # 10 prepared + the 500-row cursor + 5 between batches
        (AP_USER, "UTILITY"): (2, 0, 0),  # BEGIN, COMMIT
    }
    for key, want in expected.items():
        check(metrics.get(key) == want,
              f"query_metrics {key}: (calls, errors, rows) = {metrics.get(key)}, expected {want}")
    check(set(metrics) == set(expected),
          f"query_metrics has unexpected keys: {sorted(set(metrics) - set(expected))}")

    # The histogram adds up to the calls of this database.
    # (one statement: reading counts as a SELECT once it has finished)
    for command in ("INSERT", "SELECT", "UPDATE", "DELETE"):
        calls, hist = q(
            "SELECT (SELECT coalesce(sum(calls), 0) FROM steward.query_metrics"
            "         WHERE datname = current_database() AND command = %s),"
            "       (SELECT coalesce(sum(count), 0) FROM steward.latency_histogram"
            "         WHERE datname = current_database() AND command = %s)", command, command)[0]
        check(calls == hist, f"latency_histogram {command}: {hist} != {calls} calls")

    # table_metrics: names resolved in this database.
    tables = {(t, c): (calls, rows) for t, c, calls, rows in q(
        "SELECT table_name, command, calls, rows FROM steward.table_metrics"
        " WHERE datname = current_database() AND schema_name = 'public'"
        " AND table_name IN (%s, %s)", TABLE, ODD_TABLE)}
    expected_tables = {
        (TABLE, "INSERT"): (36, 35),  # the failed INSERT touched it too
        (TABLE, "SELECT"): (21, 21),  # psycopg 10, asyncpg 10, psycopg2 1
        (TABLE, "UPDATE"): (5, 5),
        (TABLE, "DELETE"): (1, 3),
        (ODD_TABLE, "INSERT"): (1, 1),
    }
    check(tables == expected_tables,
          f"table_metrics: {sorted(tables.items())}, expected {sorted(expected_tables.items())}")

    # recent_queries: the statements' text as the drivers sent it.
    recent = q("SELECT username, application_name, host(client_addr), command, rows, query, sqlstate,"
               " message FROM steward.recent_queries WHERE datname = current_database()"
               " AND username IN (%s, %s) ORDER BY at", PS_USER, AP_USER)
    ps_insert = f"INSERT INTO {TABLE} (id, name, qty) VALUES ($1, $2, $3)"
    ap_select = f"SELECT name FROM {TABLE} WHERE id = $1"
    n = sum(1 for r in recent if r[0] == PS_USER and r[5] == ps_insert and r[6] is None)
    check(n == 20, f"recent_queries: {n} successful psycopg INSERTs with text {ps_insert!r}, expected 20")
    n = sum(1 for r in recent if r[0] == AP_USER and r[5] == ap_select and r[3] == "SELECT")
    check(n == 10, f"recent_queries: {n} asyncpg prepared SELECTs with text {ap_select!r}, expected 10")
    check(all(r[1] == PS_APP for r in recent if r[0] == PS_USER),
          "recent_queries: application_name of the psycopg statements")
    check(all(r[1] == AP_APP and r[2] == "127.0.0.1" for r in recent if r[0] == AP_USER),
          "recent_queries: application_name and client_addr of the asyncpg statements: "
          f"{sorted({(r[1], r[2]) for r in recent if r[0] == AP_USER})}")
    cursor_rows = [r[4] for r in recent if r[5].startswith("SELECT g FROM generate_series")]
    check(cursor_rows == [500],
          f"recent_queries: the cursor read in batches of 100 shows rows {cursor_rows}, expected [500]")
    failed = [r for r in recent if r[6] is not None]
    check(len(failed) == 1 and failed[0][0] == PS_USER and failed[0][3] == "INSERT"
          and failed[0][6] == "23505" and failed[0][5] == ps_insert
          and failed[0][7].startswith("duplicate key value violates unique constraint"),
          f"recent_queries: the failed INSERT with sqlstate 23505 and its message: {failed}")
    between = [r for r in recent if r[5] == "SELECT $1 AS between_batches"]
    check(len(between) == 5, f"recent_queries: the 5 statements run between the cursor's batches:"
                             f" {len(between)}")
    p2 = q("SELECT query FROM steward.recent_queries WHERE username = %s", P2_USER)
    p2_text = f"SELECT count(*) FROM {TABLE} WHERE name = $1 AND qty > $2"
    check(p2 == [(p2_text,)], f"recent_queries: psycopg2's inlined values are kept as $n: {p2}")
    leaked = q("SELECT count(*) FROM steward.recent_queries WHERE query LIKE %s", f"%{SECRET}%")[0][0]
    check(leaked == 0, f"recent_queries: psycopg2's inlined secret is in {leaked} ring entries")

    # Others' query text and address are hidden from a plain role.
    with psycopg.connect("", user=PS_USER, autocommit=True) as conn:
        seen = conn.execute(
            "SELECT username, query, client_addr FROM steward.recent_queries"
            " WHERE datname = current_database() AND username = %s", (AP_USER,)).fetchall()
        check(seen and all(r[1] == "<insufficient privilege>" and r[2] is None for r in seen),
              f"recent_queries: asyncpg's statements as seen by the psycopg role: {seen[:3]}")

    # One pooled connection serving many roles, switching with SET ROLE per
    # request (as PostgREST does): the statements are the pool's login
    # role's, the session user.
    for role in TENANTS:
        admin.execute(f"DROP ROLE IF EXISTS {role}")
        admin.execute(f"CREATE ROLE {role}")
        admin.execute(f"GRANT {role} TO {POOL_USER}")
    with psycopg.connect("", user=POOL_USER, autocommit=True) as pooled:
        for i, role in enumerate(TENANTS):
            pooled.execute(f"SET ROLE {role}")
            assert pooled.execute("SELECT %s::int", (i,)).fetchone() == (i,)
            pooled.execute("RESET ROLE")

    tenants = q("SELECT username, calls FROM steward.query_metrics"
                " WHERE datname = current_database() AND username LIKE 'steward\\_c04\\_tenant\\_%%'")
    check(not tenants, f"query_metrics: no statement is counted for the roles a pooled connection"
                       f" switched to with SET ROLE: {tenants[:3]}")
    pool = dict(q("SELECT command, calls FROM steward.query_metrics"
                  " WHERE datname = current_database() AND username = %s", POOL_USER))
    check(pool == {"SELECT": len(TENANTS), "UTILITY": 2 * len(TENANTS)},
          f"query_metrics: the pooled connection's {len(TENANTS)} SELECTs and {2 * len(TENANTS)}"
          f" SET/RESET ROLE are its login role's: {pool}")

    # error_metrics: the failure with its SQLSTATE.
    errors = q("SELECT sqlstate, count, last_message FROM steward.error_metrics"
               " WHERE datname = current_database()")
    check([(s, c) for s, c, _ in errors] == [("23505", 1)],
          f"error_metrics: {errors}, expected one 23505")
    check(errors and "duplicate key" in errors[0][2], f"error_metrics last_message: {errors}")

    # Prometheus exposition.
    text = q("SELECT steward.prometheus()")[0][0]
    families, errs = parse_prometheus(text)
    kinds = {}
    for e in errs:  # the first few errors of each kind
        kind = next((k for k in ("duplicate series", "unterminated value", "no blank before",
                                 "increasing order", "cumulative", "_count", "not in one group")
                     if k in e), "other")
        kinds.setdefault(kind, []).append(e)
    for kind, es in kinds.items():
        print(f"prometheus: {len(es)} error(s) of kind '{kind}', e.g.:", file=sys.stderr)
        for e in es[:3]:
            print(f"  {e}", file=sys.stderr)
    check(not errs, f"steward.prometheus() is not valid exposition format: {len(errs)} error(s)")
    for fam in ("steward_statements_total", "steward_statement_errors_total",
                "steward_statement_rows_total", "steward_statement_seconds_total",
                "steward_statement_duration_seconds", "steward_table_statements_total",
                "steward_errors_total"):
        f = families.get(fam)
        check(f is not None and f["type"] and f["help"], f"prometheus: {fam} has HELP and TYPE")
    check(families.get("steward_statement_duration_seconds", {}).get("type") == "histogram",
          "prometheus: steward_statement_duration_seconds is a histogram")

    def sample(fam, name, **labels):
        for s, l, v, _ in families.get(fam, {"samples": []})["samples"]:
            if s == name and all(l.get(k) == w for k, w in labels.items()):
                return v
        return None

    for user in (PS_USER, AP_USER):
        want = metrics.get((user, "INSERT"), (None,))[0]
        got = sample("steward_statements_total", "steward_statements_total",
                     datname=db, username=user, command="INSERT")
        check(got == want, f"prometheus: steward_statements_total INSERT for {user} = {got}, "
                           f"query_metrics says {want}")
    insert_calls = q("SELECT sum(calls) FROM steward.query_metrics"
                     " WHERE datname = current_database() AND command = 'INSERT'")[0][0]
    inf = sample("steward_statement_duration_seconds", "steward_statement_duration_seconds_bucket",
                 datname=db, command="INSERT", le="+Inf")
    check(inf == insert_calls, f"prometheus: INSERT +Inf bucket {inf} != {insert_calls} calls")
    odd = sample("steward_table_statements_total", "steward_table_statements_total",
                 datname=db, table=ODD_TABLE, command="INSERT")
    check(odd == 1, f"prometheus: the odd table name round-trips through label escaping ({odd})")
    errs_total = sample("steward_errors_total", "steward_errors_total", datname=db, sqlstate="23505")
    check(errs_total == 1, f"prometheus: steward_errors_total 23505 = {errs_total}")

    admin.execute(f"DROP TABLE {TABLE}, {quote_ident(ODD_TABLE)}")
    admin.execute(f"REVOKE ALL ON SCHEMA public FROM {PS_USER}, {AP_USER}")
    admin.execute(f"REVOKE ALL ON SCHEMA public FROM {P2_USER}")
    for role in (PS_USER, AP_USER, P2_USER, POOL_USER, *TENANTS):
        admin.execute(f"DROP ROLE {role}")
    admin.close()

    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        sys.exit(1)
    print(f"ok: psycopg and asyncpg workloads exact in query_metrics, table_metrics, recent_queries,"
          f" error_metrics; prometheus() parses ({len(text.splitlines())} lines)")


if __name__ == "__main__":
    main()
