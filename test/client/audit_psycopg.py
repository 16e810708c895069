"""Injected columns, `updated` and the audit log seen through psycopg 3 (DESIGN.md section 4).

1. a table created through the driver in a managed schema gets id uuid (primary key), created,
   updated, href and the touch_updated and audit triggers;
2. rows inserted with parameters (executemany), updated (one real change, one no-op) and deleted
   through the driver have exactly the expected steward.row_history; `updated` moves on the real
   change only;
3. the audit JSON of tricky types (numeric, timestamptz, jsonb, int[], unicode, NULLs, a TOASTed
   text > 100 kB) is exactly to_jsonb of the row, on INSERT, UPDATE and DELETE;
4. application_name, client_addr, db_user and current_role are the writer's;
5. a role with table privileges only writes audited tables but cannot read, change or delete the log.
"""
import os
import sys

import psycopg
from psycopg import errors
from psycopg.rows import dict_row

APP = "steward_client_03"
WRITER = "steward_c03_writer"
WRITER_APP = "steward_c03_writer_app"


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def history(conn, table, row_id):
    """steward.row_history as a list of dicts, oldest first."""
    cur = conn.cursor(row_factory=dict_row)
    return cur.execute("SELECT * FROM steward.row_history(%s, %s)", (table, str(row_id))).fetchall()


conn = psycopg.connect(f"application_name={APP}", autocommit=True)
me = conn.execute("SELECT current_user").fetchone()[0]

# ---------------------------------------------------------------- 1. injection
conn.execute("CREATE SCHEMA app")
conn.execute("SELECT steward.manage_schema('app', table_prefix => 'aux_')")
conn.execute("CREATE TABLE app.aux_notes (body text)")

cols = {r[0]: r[1:] for r in conn.execute("""
    SELECT attname::text, format_type(atttypid, atttypmod), attnotnull, attgenerated::text,
           pg_get_expr(d.adbin, d.adrelid)
      FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE attrelid = 'app.aux_notes'::regclass AND attnum > 0 AND NOT attisdropped""")}
check(set(cols) == {"body", "id", "created", "updated", "href"}, f"columns of app.aux_notes: {cols}")
check(cols["id"][:3] == ("uuid", True, ""), f"id: {cols['id']}")
check("gen_random_uuid()" in cols["id"][3], f"id default: {cols['id']}")
check(cols["created"][:3] == ("timestamp with time zone", True, ""), f"created: {cols['created']}")
check(cols["updated"][:3] == ("timestamp with time zone", True, ""), f"updated: {cols['updated']}")
check(cols["href"][:3] == ("text", False, "s"), f"href: {cols['href']}")
pk = conn.execute("""
    SELECT conname::text, array_agg(a.attname::text)
      FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
     WHERE c.conrelid = 'app.aux_notes'::regclass AND c.contype = 'p' GROUP BY conname""").fetchall()
check(pk == [("pk_aux_notes", ["id"])], f"primary key: {pk}")
triggers = dict(conn.execute("""
    SELECT tgname::text, pg_get_triggerdef(oid) FROM pg_trigger
     WHERE tgrelid = 'app.aux_notes'::regclass AND NOT tgisinternal""").fetchall())
check(set(triggers) == {"steward_touch_updated", "steward_audit_insert", "steward_audit_update",
                        "steward_audit_delete", "steward_audit_truncate"}, f"triggers: {triggers}")
check("BEFORE UPDATE" in triggers["steward_touch_updated"]
      and "FOR EACH ROW EXECUTE FUNCTION steward.touch_updated(" in triggers["steward_touch_updated"],
      triggers["steward_touch_updated"])
for op in ("insert", "update", "delete", "truncate"):
    d = triggers[f"steward_audit_{op}"]
    check(f"AFTER {op.upper()}" in d and "FOR EACH STATEMENT EXECUTE FUNCTION steward.audit_trigger(" in d,
          d)

# ---------------------------------------------------------------- 2. row history
with conn.transaction():
    insert_xid, insert_ts = conn.execute("SELECT pg_current_xact_id()::text, now()").fetchone()
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO app.aux_notes (body) VALUES (%s)",
                        [("first",), ("second",), ("third",)])
rows = {r[1]: r for r in conn.execute(
    "SELECT id, body, created, updated, href FROM app.aux_notes").fetchall()}
check(set(rows) == {"first", "second", "third"}, f"rows: {rows}")
for body, (rid, _, created, updated, href) in rows.items():
    check(created == insert_ts and updated == insert_ts, f"{body}: created {created} updated {updated}"
          f" != insert transaction's now() {insert_ts}")
    check(href == f"/notes/{rid}", f"href of {body}: {href}")
id1, id2, id3 = rows["first"][0], rows["second"][0], rows["third"][0]

with conn.transaction():
    update_ts = conn.execute("SELECT now()").fetchone()[0]
    cur = conn.execute("UPDATE app.aux_notes SET body = %s WHERE id = %s", ("first, edited", id1))
    check(cur.rowcount == 1, f"real update: rowcount {cur.rowcount}")
    cur = conn.execute("UPDATE app.aux_notes SET body = %s WHERE id = %s", ("second", id2))
    check(cur.rowcount == 1, f"no-op update: rowcount {cur.rowcount}")
cur = conn.execute("DELETE FROM app.aux_notes WHERE id = %s", (id3,))
check(cur.rowcount == 1, f"delete: rowcount {cur.rowcount}")

now1 = conn.execute("SELECT created, updated FROM app.aux_notes WHERE id = %s", (id1,)).fetchone()
now2 = conn.execute("SELECT created, updated FROM app.aux_notes WHERE id = %s", (id2,)).fetchone()
check(update_ts > insert_ts, "the update transaction started after the insert transaction")
check(now1 == (insert_ts, update_ts), f"real change: created/updated {now1}, want {(insert_ts, update_ts)}")
check(now2 == (insert_ts, insert_ts), f"no-op update moved updated: {now2}, want {(insert_ts, insert_ts)}")


def current_json(table, rid):
    return conn.execute(f"SELECT to_jsonb(t)::text FROM {table} t WHERE id = %s", (rid,)).fetchone()[0]


def summary(h):
    """(op, changed, old body, new body) of each history entry."""
    return [(e["op"], e["changed"], (e["old_row"] or {}).get("body"), (e["new_row"] or {}).get("body"))
            for e in h]


h1, h2, h3 = (history(conn, "app.aux_notes", i) for i in (id1, id2, id3))
check(summary(h1) == [("INSERT", None, None, "first"),
                      ("UPDATE", ["body", "updated"], "first", "first, edited")],
      f"history of the updated row: {summary(h1)}")
check(summary(h2) == [("INSERT", None, None, "second")], f"history of the no-op row: {summary(h2)}")
check(summary(h3) == [("INSERT", None, None, "third"), ("DELETE", None, "third", None)],
      f"history of the deleted row: {summary(h3)}")
for h, rid in ((h1, id1), (h2, id2), (h3, id3)):
    for e in h:
        check(e["row_id"] == str(rid), f"row_id {e['row_id']} != {rid}")
        check((e["schema_name"], e["table_name"]) == ("app", "aux_notes"), f"names: {e}")
        check(e["application_name"] == APP, f"application_name {e['application_name']!r} != {APP!r}")
        check(e["db_user"] == me and e["current_role"] == me,
              f"db_user/current_role {e['db_user']}/{e['current_role']} != {me}")
        if os.environ.get("PGHOST", "").startswith("/"):
            check(e["client_addr"] is None, f"client_addr over a unix socket: {e['client_addr']}")
        check(e["module"] is None and e["version"] is None, f"module/version outside a migration: {e}")
for e in (h1[0], h2[0], h3[0]):
    check(str(e["txid"]) == insert_xid, f"INSERT txid {e['txid']} != inserting transaction's {insert_xid}")
check(h1[1]["txid"] != h1[0]["txid"], "the UPDATE has its own txid")
# the UPDATE's rows are the rows before and after, exactly as to_jsonb renders them
new_row1 = conn.execute("SELECT new_row::text, old_row::text FROM steward.row_history('app.aux_notes', %s)"
                        " WHERE op = 'UPDATE'", (str(id1),)).fetchone()
check(new_row1[0] == current_json("app.aux_notes", id1),
      f"UPDATE new_row {new_row1[0]} != to_jsonb {current_json('app.aux_notes', id1)}")
old_ins = conn.execute("SELECT new_row::text FROM steward.row_history('app.aux_notes', %s)"
                       " WHERE op = 'INSERT'", (str(id1),)).fetchone()[0]
check(new_row1[1] == old_ins, f"UPDATE old_row {new_row1[1]} != INSERT new_row {old_ins}")
check(h1[1]["old_row"]["updated"] != h1[1]["new_row"]["updated"], "updated in the UPDATE's JSON")
check(conn.execute("SELECT new_row::text FROM steward.row_history('app.aux_notes', %s)",
                   (str(id2),)).fetchone()[0] == current_json("app.aux_notes", id2), "INSERT new_row")

# ---------------------------------------------------------------- 3. tricky types
conn.execute("SET TimeZone = 'America/St_Johns'")  # a half-hour offset: to_jsonb renders in it
conn.execute("""CREATE TABLE app.aux_samples (
    label text, amount numeric, happened timestamptz, doc jsonb, nums int[], big text, nothing text)""")
big = os.urandom(80_000).hex()  # 160 kB that does not compress below the TOAST threshold
samples = [
    ("naïve café — 日本語 😀 \"quoted\" back\\slash\ttab\nnewline \u2028 \u0001",
     "12345678901234567890.000123400", "2024-02-29 23:59:59.123456+05:30",
     '{"a": [1, 2.50, null, true, 1e-7], "ü€😀": {"k": "v\\"q"}, "": 0, "big": 123456789012345678901234567890}',
     [1, None, -3], big, None),
    ("nulls and specials", "NaN", "infinity", "null", [[1, 2], [3, 4]], None, None),
    ("negative zero and far past", "-0.000", "0044-03-15 12:00:00 BC", '"just a string"', [], "", None),
]
ids = []
with conn.cursor() as cur:
    for s in samples:
        cur.execute("INSERT INTO app.aux_samples (label, amount, happened, doc, nums, big, nothing)"
                    " VALUES (%s, %s::numeric, %s::timestamptz, %s::jsonb, %s::int[], %s, %s) RETURNING id",
                    s)
        ids.append(cur.fetchone()[0])
size = conn.execute("SELECT octet_length(big) FROM app.aux_samples WHERE id = %s", (ids[0],)).fetchone()[0]
check(size > 100_000, f"big value is {size} bytes")
toast = conn.execute("SELECT reltoastrelid::regclass::text FROM pg_class"
                     " WHERE oid = 'app.aux_samples'::regclass").fetchone()[0]
toast_rows = conn.execute(f"SELECT count(*) FROM {toast}").fetchone()[0]
check(toast_rows > 0, "the big value is stored out of line (TOAST)")


def audit_json(rid, op, col):
    r = conn.execute(f"SELECT {col}::text, {col} FROM steward.audit_log"
                     " WHERE relid = 'app.aux_samples'::regclass AND row_id = %s AND op = %s",
                     (str(rid), op)).fetchall()
    check(len(r) == 1, f"{len(r)} {op} audit rows for {rid}")
    return r[0]


for rid in ids:
    want = current_json("app.aux_samples", rid)
    got_text, got = audit_json(rid, "INSERT", "new_row")
    check(got_text == want, f"INSERT new_row differs from to_jsonb for {rid}:\n{got_text[:600]}\n{want[:600]}")
    check(set(got) == {"label", "amount", "happened", "doc", "nums", "big", "nothing", "id", "created",
                       "updated", "href"}, f"keys: {sorted(got)}")
    same = conn.execute("""SELECT a.new_row = to_jsonb(t) FROM steward.audit_log a, app.aux_samples t
                            WHERE a.relid = 'app.aux_samples'::regclass AND a.op = 'INSERT'
                              AND a.row_id = t.id::text AND t.id = %s""", (rid,)).fetchone()[0]
    check(same, f"jsonb = for {rid}")
first = audit_json(ids[0], "INSERT", "new_row")[1]
check(first["big"] == big and first["nothing"] is None and first["nums"] == [1, None, -3],
      "big/NULL/int[] values in new_row")
check(first["label"] == samples[0][0], f"unicode label round trip: {first['label']!r}")
first_text = audit_json(ids[0], "INSERT", "new_row")[0]
check('"amount": 12345678901234567890.000123400' in first_text, "numeric keeps its scale")
check('"happened": "2024-02-29T14:59:59.123456-03:30"' in first_text, "timestamptz in the session zone")
check('2.50' in first_text and '123456789012345678901234567890' in first_text, "jsonb numbers kept")
second_text = audit_json(ids[1], "INSERT", "new_row")[0]
check('"amount": "NaN"' in second_text and '"happened": "infinity"' in second_text
      and '"doc": null' in second_text and '"nums": [[1, 2], [3, 4]]' in second_text, second_text)

# UPDATE of the TOASTed row touching another column: big is unchanged, both images are complete
before = current_json("app.aux_samples", ids[0])
conn.execute("UPDATE app.aux_samples SET label = %s WHERE id = %s", ("relabelled ✓", ids[0]))
after = current_json("app.aux_samples", ids[0])
upd = conn.execute("""SELECT old_row::text, new_row::text, changed FROM steward.audit_log
                       WHERE relid = 'app.aux_samples'::regclass AND row_id = %s AND op = 'UPDATE'""",
                   (str(ids[0]),)).fetchall()
check(len(upd) == 1, f"{len(upd)} UPDATE rows for the TOASTed row")
check(upd[0][0] == before, "UPDATE old_row of the TOASTed row != to_jsonb before")
check(upd[0][1] == after, "UPDATE new_row of the TOASTed row != to_jsonb after")
check(upd[0][2] == ["label", "updated"], f"changed: {upd[0][2]}")
# no-op update of the TOASTed row (big rewritten with the same value): not logged
conn.execute("UPDATE app.aux_samples SET big = %s WHERE id = %s", (big, ids[0]))
n = conn.execute("SELECT count(*) FROM steward.audit_log WHERE relid = 'app.aux_samples'::regclass"
                 " AND op = 'UPDATE'").fetchone()[0]
check(n == 1, f"rewriting the TOASTed value with itself logged an UPDATE ({n} UPDATE rows)")
# DELETE: old_row is the whole row, TOASTed value included
conn.execute("DELETE FROM app.aux_samples WHERE id = %s", (ids[0],))
old_text = audit_json(ids[0], "DELETE", "old_row")[0]
check(old_text == after, "DELETE old_row of the TOASTed row != to_jsonb before the delete")
conn.execute("RESET TimeZone")

# ---------------------------------------------------------------- 4. who wrote it
with psycopg.connect(f"application_name={APP}_tcp host=127.0.0.1", autocommit=True) as tcp:
    tcp.execute("INSERT INTO app.aux_notes (body) VALUES ('over tcp')")
r = conn.execute("""SELECT client_addr::text, application_name, db_user::text, "current_role"::text
                      FROM steward.audit_log a JOIN app.aux_notes n ON a.row_id = n.id::text
                     WHERE n.body = 'over tcp'""").fetchall()
check(r == [("127.0.0.1/32", f"{APP}_tcp", me, me)], f"TCP writer's audit row: {r}")

conn.execute(f"DROP ROLE IF EXISTS {WRITER}")
conn.execute(f"CREATE ROLE {WRITER} LOGIN")
conn.execute(f"GRANT USAGE ON SCHEMA app TO {WRITER}")
conn.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON app.aux_notes TO {WRITER}")

# SET ROLE: db_user is the session user, current_role the role in effect
with conn.transaction():
    conn.execute(f"SET LOCAL ROLE {WRITER}")
    conn.execute("INSERT INTO app.aux_notes (body) VALUES ('as set role')")
r = conn.execute("""SELECT db_user::text, "current_role"::text FROM steward.audit_log a
                      JOIN app.aux_notes n ON a.row_id = n.id::text WHERE n.body = 'as set role'""").fetchall()
check(r == [(me, WRITER)], f"SET ROLE writer: db_user/current_role {r}, want {[(me, WRITER)]}")

# ---------------------------------------------------------------- 5. a role without grants on the log
with psycopg.connect(f"application_name={WRITER_APP}", user=WRITER, autocommit=True) as w:
    wid = w.execute("INSERT INTO app.aux_notes (body) VALUES (%s) RETURNING id", ("by writer",)).fetchone()[0]
    w.execute("UPDATE app.aux_notes SET body = %s WHERE id = %s", ("by writer, edited", wid))
    for sql in ("SELECT * FROM steward.audit_log",
                "SELECT count(*) FROM steward.audit_log",
                f"SELECT * FROM steward.row_history('app.aux_notes', '{wid}')",
                "UPDATE steward.audit_log SET op = 'INSERT'",
                "DELETE FROM steward.audit_log",
                "TRUNCATE steward.audit_log",
                "INSERT INTO steward.audit_log (txid, relid, schema_name, table_name, op, db_user,"
                " \"current_role\") VALUES ('1', 0, 's', 't', 'INSERT', 'x', 'x')",
                "SELECT steward.purge_audit('0 seconds')",
                "SELECT nextval('steward.audit_log_id_seq')"):
        try:
            w.execute(sql)
        except errors.InsufficientPrivilege:
            continue
        fail(f"{WRITER} ran without privileges: {sql}")
    # granted SELECT: it reads the log, and still cannot change it
    conn.execute(f"GRANT SELECT ON steward.audit_log TO {WRITER}")
    wh = history(w, "app.aux_notes", wid)
    check([e["op"] for e in wh] == ["INSERT", "UPDATE"], f"writer's row history: {wh}")
    for e in wh:
        check((e["db_user"], e["current_role"], e["application_name"]) == (WRITER, WRITER, WRITER_APP),
              f"writer's audit row: {e['db_user']}/{e['current_role']}/{e['application_name']}")
    for sql in ("UPDATE steward.audit_log SET op = 'INSERT'", "DELETE FROM steward.audit_log",
                "TRUNCATE steward.audit_log"):
        try:
            w.execute(sql)
        except errors.InsufficientPrivilege:
            continue
        fail(f"{WRITER} with SELECT on the log ran: {sql}")
    conn.execute(f"REVOKE SELECT ON steward.audit_log FROM {WRITER}")
n = conn.execute("SELECT count(*) FROM steward.audit_log WHERE db_user = %s", (WRITER,)).fetchone()[0]
check(n == 2, f"{n} audit rows by {WRITER}, want 2")

# TRUNCATE is one statement-level entry without a row
conn.execute("TRUNCATE app.aux_notes")
r = conn.execute("""SELECT op, row_id, old_row, new_row FROM steward.audit_log
                     WHERE relid = 'app.aux_notes'::regclass AND op = 'TRUNCATE'""").fetchall()
check(r == [("TRUNCATE", None, None, None)], f"TRUNCATE entry: {r}")

# A row written by two connections: its history is in the order the changes were made, whatever
# audit_log ids each backend had cached.
with psycopg.connect(f"application_name={APP}_second", autocommit=True) as c2:
    c2.execute("INSERT INTO app.aux_notes (body) VALUES ('warm up')")  # c2 draws its first log id now
    rid = conn.execute("INSERT INTO app.aux_notes (body) VALUES ('v1') RETURNING id").fetchone()[0]
    c2.execute("UPDATE app.aux_notes SET body = 'v2' WHERE id = %s", (rid,))
    conn.execute("UPDATE app.aux_notes SET body = 'v3' WHERE id = %s", (rid,))
    c2.execute("DELETE FROM app.aux_notes WHERE id = %s", (rid,))
got = summary(history(conn, "app.aux_notes", rid))
check(got == [("INSERT", None, None, "v1"), ("UPDATE", ["body", "updated"], "v1", "v2"),
              ("UPDATE", ["body", "updated"], "v2", "v3"), ("DELETE", None, "v3", None)],
      f"history of a row changed alternately by two connections is out of order: {got}")

conn.execute(f"DROP OWNED BY {WRITER}")
conn.execute(f"DROP ROLE {WRITER}")
conn.close()
print("ok: injected columns, updated and audit through psycopg", psycopg.__version__)
