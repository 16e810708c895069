"""A real client (psycopg 3 under /usr/bin/python3) sees the extension."""
import psycopg

with psycopg.connect("") as conn:
    version = conn.execute("SELECT steward.version()").fetchone()[0]
    assert version == "0.1", version
    settings = dict(conn.execute(
        "SELECT name, setting FROM pg_settings WHERE name LIKE 'steward.%'").fetchall())
    assert settings["steward.migration_lock_timeout"] == "30000", settings
    preload = conn.execute("SHOW shared_preload_libraries").fetchone()[0]
    assert preload == "pg_steward", preload
print("ok: psycopg sees pg_steward", version)
