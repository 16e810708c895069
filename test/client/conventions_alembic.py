"""Alembic (Debian 12: python3-alembic 1.8, python3-sqlalchemy 1.4, psycopg2) in a managed schema,
set up exactly as README's "Using pg_steward with SQLAlchemy and Alembic" says: models that use its
STEWARD_NAMING convention, its env.py (include_name, include_object, compare_type), driven through
alembic.command in a temporary directory.

The convention, the models and env.py's filters below are checked to be README's text, word for word
(the models add one table with a long index name); the plain convention tokens README shows give the
same names as STEWARD_NAMING up to 63 bytes.
Then, for each place of the version table -- in the managed schema (aux_alembic_versions without
Alembic's primary key, in inject_exclude) and outside it (public.alembic_version, Alembic's
defaults) -- in a database of its own:

1. what README warns about is refused: Alembic's <version_table>_pkc primary key in the managed
   schema, a `created` column without time zone, SQLAlchemy's own cut of a name over 63 bytes;
2. models with relationships, a many-to-many association table (inject_exclude), indexes, unique and
   check constraints, a name over 63 bytes: `revision --autogenerate`, `upgrade head`; every name is
   the standard one, the injected columns and triggers are there (only audit on the excluded
   tables), and the ORM works on them;
   after this and every later upgrade or downgrade, as README says: `steward.stamp` at the revision
   in Alembic's version table (a version steward has no script for), then `steward.current` is that
   revision, `steward.lint` is empty and `steward.check` clean;
3. a second autogenerate gives an empty migration (include_object hides the injected columns);
4. a new column with an index: autogenerate gives exactly that, `upgrade head`, `downgrade -1`,
   `upgrade head`, and the models and the database agree again;
5. `upgrade head --sql`, applied with psql to a fresh database with the same policy, gives the same
   schema (pg_steward's fingerprints of both are equal), and stamped it is as clean.
"""
import atexit
import contextlib
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile

import alembic
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import exc, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

SCHEMA = "library"
MODULE = "library"


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def url(database):
    """postgresql+psycopg2:///<db>?host=<socket dir>&port=<port> from the libpq variables."""
    query = {}
    if os.environ.get("PGHOST"):
        query["host"] = os.environ["PGHOST"]  # a socket directory: pass it through to libpq
    if os.environ.get("PGPORT"):
        query["port"] = os.environ["PGPORT"]
    return URL.create("postgresql+psycopg2", username=os.environ.get("PGUSER") or None,
                      database=database, query=query)


# --- README's section: the naming convention and the models ------------------------------------
NAMING = '''
import hashlib

import sqlalchemy as sa


def steward_name(kind):
    """A naming_convention token: pg_steward's standard name of a constraint or index."""
    def token(constraint, table):
        if isinstance(constraint, sa.ForeignKeyConstraint):
            columns = [fk.parent.name for fk in constraint.elements]
            referred = [constraint.elements[0].target_fullname.split(".")[-2]]
        else:
            columns, referred = [c.name for c in constraint.columns], []
        if kind == "pk":
            columns = []
        elif not columns:  # a CHECK given as text: SQLAlchemy does not know its columns
            raise ValueError(f"name the {kind} constraint of {table.name} yourself")
        name = "_".join([kind, table.name] + columns + referred)
        raw = name.encode()
        if len(raw) > 63:  # pg_steward: the first 54 bytes, "_", 8 hex digits of the SHA-256
            name = raw[:54].decode(errors="ignore") + "_" + hashlib.sha256(raw).hexdigest()[:8]
        return name
    return token


STEWARD_NAMING = {}
for kind in ("pk", "uq", "ix", "fk", "ck"):
    STEWARD_NAMING["steward_" + kind] = steward_name(kind)
    STEWARD_NAMING[kind] = "%(steward_" + kind + ")s"
'''

MODELS_README = '''
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import declarative_base, relationship

metadata = sa.MetaData(schema="library", naming_convention=STEWARD_NAMING)
Base = declarative_base(metadata=metadata)


def uuid_id():
    return sa.Column(UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()"))


book_tags = sa.Table(  # in inject_exclude; pk_aux_book_tags, fk_aux_book_tags_book_id_aux_books, ...
    "aux_book_tags", metadata,
    sa.Column("book_id", sa.ForeignKey("library.aux_books.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("tag_id", sa.ForeignKey("library.aux_tags.id", ondelete="CASCADE"), primary_key=True,
              index=True),  # ix_aux_book_tags_tag_id
)


class Author(Base):
    __tablename__ = "aux_authors"
    id = uuid_id()  # pk_aux_authors
    name = sa.Column(sa.Text, nullable=False)
    email = sa.Column(sa.Text, nullable=False, unique=True)  # uq_aux_authors_email
    created = sa.Column(sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())
    books = relationship("Book", back_populates="author")


class Book(Base):
    __tablename__ = "aux_books"
    id = uuid_id()
    author_id = sa.Column(sa.ForeignKey("library.aux_authors.id"), nullable=False,
                          index=True)  # fk_aux_books_author_id_aux_authors, ix_aux_books_author_id
    title = sa.Column(sa.Text, nullable=False)
    isbn = sa.Column(sa.String(13), unique=True)
    published = sa.Column(sa.Date)
    pages = sa.Column(sa.Integer)
    author = relationship(Author, back_populates="books")
    tags = relationship("Tag", secondary=book_tags, back_populates="books")
    __table_args__ = (
        sa.UniqueConstraint("author_id", "title"),      # uq_aux_books_author_id_title
        sa.Index(None, "published", "title"),           # ix_aux_books_published_title
        sa.CheckConstraint(pages > 0),                  # ck_aux_books_pages
        sa.CheckConstraint("published >= '1450-01-01'", name="ck_aux_books_published"),
    )


class Tag(Base):
    __tablename__ = "aux_tags"
    id = uuid_id()
    label = sa.Column(sa.Text, nullable=False, unique=True, index=True)  # unique index ix_aux_tags_label
    books = relationship(Book, secondary=book_tags, back_populates="tags")
'''

# A table with an index name over 63 bytes.
LOAN = '''

class Loan(Base):
    __tablename__ = "aux_loans"
    id = uuid_id()
    book_id = sa.Column(sa.ForeignKey("library.aux_books.id"), nullable=False)
    borrower_email = sa.Column(sa.Text, nullable=False)
    borrowed_on = sa.Column(sa.Date, nullable=False)
    due_on = sa.Column(sa.Date, nullable=False)
    returned_on = sa.Column(sa.Date)
    book = relationship(Book)
    __table_args__ = (  # ix_aux_loans_book_id_borrower_email_borrowed_on_due_on_returned_on: 66 bytes
        sa.Index(None, "book_id", "borrower_email", "borrowed_on", "due_on", "returned_on"),
    )
'''
MODELS = NAMING + MODELS_README + LOAN

# The second migration's change: a column with an index.
PAGES = "    pages = sa.Column(sa.Integer)\n"
LANGUAGE = PAGES + "    language = sa.Column(sa.String(8), index=True)\n"

# README's plain-token convention: the standard names while they fit in 63 bytes.
PLAIN_TOKENS = {
    "pk": "pk_%(table_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "ck": "ck_%(table_name)s_%(column_0_N_name)s",
}

# --- README's env.py; where the version table lives comes from the test -------------------------
ENV = '''
import importlib.util

from alembic import context
from sqlalchemy import create_engine, pool

config = context.config
# the models module of this run, loaded afresh for every command (the test rewrites it)
spec = importlib.util.spec_from_file_location("models", config.attributes["models"])
models = importlib.util.module_from_spec(spec)
spec.loader.exec_module(models)

SCHEMA = "library"
INJECTED = {"id", "created", "updated", "href"}  # the policy's column names


def include_name(name, type_, parent_names):
    if type_ == "schema":
        return name == SCHEMA  # only the managed schema: not steward's tables, not public
    return True


def include_object(obj, name, type_, reflected, compare_to):
    # columns pg_steward injected that the model does not declare
    if type_ == "column" and reflected and compare_to is None and name in INJECTED:
        return False
    return True


options = dict(
    target_metadata=models.metadata,
    include_schemas=True,
    include_name=include_name,
    include_object=include_object,
    compare_type=True,
    **config.attributes["version_table"],
)

if context.is_offline_mode():
    context.configure(url=config.attributes["url"], literal_binds=True, **options)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = create_engine(config.attributes["url"], poolclass=pool.NullPool, future=True)
    with engine.connect() as connection:
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
'''

# The two places of the version table README describes.
VARIANTS = {
    "in the managed schema": {
        "version_table": dict(version_table="aux_alembic_versions", version_table_schema=SCHEMA,
                              version_table_pk=False),
        "inject_exclude": ["aux_book_tags", "aux_alembic_versions"],
        "version_rel": f"{SCHEMA}.aux_alembic_versions",
    },
    "outside the managed schema": {
        "version_table": dict(version_table_schema="public"),
        "inject_exclude": ["aux_book_tags"],
        "version_rel": "public.alembic_version",
    },
}

# Alembic's revision ids are random, and steward's version order says nothing about them: fixed
# (`--rev-id`) so that the second revision sorts below the first, the case where stamp must forget
# the higher one.
REV1 = "cafe00000001"
REV2 = "beef00000002"

LONG_IX = "ix_aux_loans_book_id_borrower_email_borrowed_on_due_on_returned_on"


def fitted(name):
    raw = name.encode()
    return name if len(raw) <= 63 else raw[:54].decode() + "_" + hashlib.sha256(raw).hexdigest()[:8]


# Every constraint (contype) and index ('i') name expected in the schema after upgrade head.
EXPECTED = {
    "aux_authors": {("p", "pk_aux_authors"), ("i", "pk_aux_authors"),
                    ("u", "uq_aux_authors_email"), ("i", "uq_aux_authors_email")},
    "aux_books": {("p", "pk_aux_books"), ("i", "pk_aux_books"),
                  ("f", "fk_aux_books_author_id_aux_authors"), ("i", "ix_aux_books_author_id"),
                  ("u", "uq_aux_books_isbn"), ("i", "uq_aux_books_isbn"),
                  ("u", "uq_aux_books_author_id_title"), ("i", "uq_aux_books_author_id_title"),
                  ("i", "ix_aux_books_published_title"),
                  ("c", "ck_aux_books_pages"), ("c", "ck_aux_books_published")},
    "aux_tags": {("p", "pk_aux_tags"), ("i", "pk_aux_tags"), ("i", "ix_aux_tags_label")},
    "aux_book_tags": {("p", "pk_aux_book_tags"), ("i", "pk_aux_book_tags"),
                      ("f", "fk_aux_book_tags_book_id_aux_books"),
                      ("f", "fk_aux_book_tags_tag_id_aux_tags"), ("i", "ix_aux_book_tags_tag_id")},
    "aux_loans": {("p", "pk_aux_loans"), ("i", "pk_aux_loans"),
                  ("f", "fk_aux_loans_book_id_aux_books"), ("i", fitted(LONG_IX))},
}


def names(conn, table):
    return set(conn.execute(text("""
        SELECT contype::text, conname::text FROM pg_constraint
         WHERE conrelid = CAST(:r AS regclass) AND contype <> 'n'  -- NOT NULL: a constraint from PG 18 on
        UNION ALL
        SELECT 'i', c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
         WHERE i.indrelid = CAST(:r AS regclass)"""), {"r": f"{SCHEMA}.{table}"}).all())


def columns(conn, rel):
    return conn.execute(text("SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute "
                             "WHERE attrelid = CAST(:r AS regclass) AND attnum > 0 AND NOT attisdropped"),
                        {"r": rel}).scalar()


def triggers(conn, rel):
    return sorted(conn.execute(text("SELECT tgname::text FROM pg_trigger "
                                    "WHERE tgrelid = CAST(:r AS regclass) AND NOT tgisinternal"),
                               {"r": rel}).scalars())


def tables(conn):
    return sorted(conn.execute(text("SELECT relname::text FROM pg_class WHERE relkind = 'r' "
                                    "AND relnamespace = CAST(:s AS regnamespace)"), {"s": SCHEMA}).scalars())


def prepare(db, variant):
    """The database set-up README asks for: the schema, its policy and the module (once)."""
    engine = sa.create_engine(url(db), future=True)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        conn.execute(text("SELECT steward.manage_schema(:s, table_prefix => 'aux_', "
                          "inject_exclude => CAST(:x AS text[]))"),
                     {"s": SCHEMA, "x": variant["inject_exclude"]})
        conn.execute(text("SELECT steward.define_module(:m, :s)"), {"m": MODULE, "s": SCHEMA})
    return engine


def adopt(engine, what, version_rel, rev):
    """README's step after each alembic upgrade or downgrade: stamp the module at the revision in
    Alembic's version table (a version steward has no script for: Alembic ran the SQL); then
    steward.current is that revision, lint is empty and check clean."""
    with engine.begin() as conn:
        try:
            conn.execute(text(f"SELECT steward.stamp(:m, version_num) FROM {version_rel}"), {"m": MODULE})
        except exc.DBAPIError as err:
            fail(f"{what}: steward.stamp at Alembic's revision {rev} (a version with no registered "
                 f"script) refused: {err.orig.diag.message_primary} (SQLSTATE {err.orig.pgcode})")
    with engine.connect() as conn:
        current = conn.execute(text("SELECT steward.current(:m)"), {"m": MODULE}).scalar()
        check(current == rev, f"{what}: steward.current {current!r}, want {rev}")
        lint = conn.execute(text("SELECT * FROM steward.lint(:s)"), {"s": SCHEMA}).all()
        # In the schema, Alembic's version table has no primary key (its _pkc name
        # is refused, so version_table_pk=False): lint's no_primary_key says so,
        # as the README explains; nothing else may be reported.
        lint = [r for r in lint
                if not (r[2] == "no_primary_key" and r[1].endswith(".aux_alembic_versions"))]
        check(lint == [], f"{what}: steward.lint: {lint}")
        drift = conn.execute(text("SELECT * FROM steward.check(:m)"), {"m": MODULE}).all()
        check(drift == [], f"{what}: steward.check: {drift}")


def expect_refused(what, fn, sqlstate, hint):
    try:
        fn()
    except exc.DBAPIError as e:
        check(e.orig.pgcode == sqlstate, f"{what}: SQLSTATE {e.orig.pgcode}, want {sqlstate}: {e}")
        check(e.orig.diag.message_hint == hint,
              f"{what}: hint {e.orig.diag.message_hint!r}, want {hint!r}")
        print(f"refused: {what}: {e.orig.diag.message_primary}; {hint}")
    else:
        fail(f"{what}: accepted, want SQLSTATE {sqlstate} ({hint})")


class Project:
    """An Alembic project in a temporary directory, driven through alembic.command."""

    def __init__(self, root, db, variant):
        self.dir = os.path.join(root, "migrations")
        os.makedirs(os.path.join(self.dir, "versions"))
        shutil.copy(os.path.join(os.path.dirname(alembic.__file__), "templates", "generic",
                                 "script.py.mako"), self.dir)
        with open(os.path.join(self.dir, "env.py"), "w") as f:
            f.write(ENV)
        self.models = os.path.join(root, "models.py")
        self.write_models(language=False)
        self.db = db
        self.variant = variant
        self.stdout = io.StringIO()

    def write_models(self, language):
        with open(self.models, "w") as f:
            f.write(MODELS.replace(PAGES, LANGUAGE) if language else MODELS)

    def config(self, output_buffer=None, version_table=None):
        cfg = Config(stdout=self.stdout, output_buffer=output_buffer)
        cfg.set_main_option("script_location", self.dir)
        cfg.attributes.update(url=url(self.db), models=self.models,
                              version_table=version_table or self.variant["version_table"])
        return cfg

    def autogenerate(self, message, rev_id=None):
        """`alembic revision --autogenerate -m message [--rev-id rev_id]`: (revision id, ops, script
        text, script path)."""
        captured = []

        def keep(context, revision, directives):
            captured.append(directives[0].upgrade_ops)

        with contextlib.redirect_stdout(self.stdout):  # "Generating ... done"
            script = command.revision(self.config(), message=message, autogenerate=True,
                                      rev_id=rev_id, process_revision_directives=keep)
        with open(script.path) as f:
            return script.revision, captured[0], f.read(), script.path

    def current(self, conn):
        return conn.execute(text(f"SELECT version_num FROM {self.variant['version_rel']}")).scalars().all()


def check_readme():
    """The convention, the models, the plain tokens and env.py's filters here are README's, word for
    word."""
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "README.md")) as f:
        readme = f.read()
    section = readme[readme.index("## Using pg_steward with SQLAlchemy and Alembic"):]
    filters = ENV[ENV.index('SCHEMA = "library"'):ENV.index("options = dict(")]
    snippets = [("STEWARD_NAMING", NAMING.strip()), ("the models", MODELS_README.strip()),
                ("include_name/include_object", filters.strip())]
    snippets += [(f"token {k}", f'"{k}": "{v}"') for k, v in PLAIN_TOKENS.items()]
    for what, snippet in snippets:
        check(snippet in section, f"README's section differs from the test: {what}:\n{snippet}")


def check_plain_tokens():
    """README's plain tokens give STEWARD_NAMING's names while they fit in 63 bytes; the one longer
    name is where they differ (SQLAlchemy cuts it at DDL time, its own way: refused in run_variant)."""
    def model_names(convention):
        source = MODELS.replace(PAGES, LANGUAGE)
        if convention is not None:
            source = source.replace("naming_convention=STEWARD_NAMING", "naming_convention=PLAIN")
        ns = {"PLAIN": convention}
        exec(compile(source, "models", "exec"), ns)
        return {(t.name, type(c).__name__, str(c.name)) for t in ns["metadata"].tables.values()
                for c in list(t.constraints) + list(t.indexes)}

    by_function = model_names(None)
    by_tokens = model_names(PLAIN_TOKENS)
    check({(t, k, fitted(n)) for t, k, n in by_tokens} == by_function,
          f"plain tokens and STEWARD_NAMING differ:\n  tokens only:   "
          f"{sorted(by_tokens - by_function)}\n  function only: {sorted(by_function - by_tokens)}")
    check(("aux_loans", "Index", LONG_IX) in by_tokens, "the plain tokens' long name")
    print(f"naming: the plain tokens and STEWARD_NAMING agree on {len(by_function) - 1} names, "
          "STEWARD_NAMING fits the long one as pg_steward does")


def run_variant(label, variant, db, offline_db):
    engine = prepare(db, variant)
    root = tempfile.mkdtemp(prefix="steward_alembic.")
    atexit.register(shutil.rmtree, root, True)
    project = Project(root, db, variant)

    # --- 1. what README warns about is refused ----------------------------------------------------
    if variant["version_table"].get("version_table_schema") == SCHEMA:
        # Alembic's own version table in the managed schema: its primary key is <table>_pkc.
        pkc = dict(variant["version_table"], version_table_pk=True)
        expect_refused(f"{label}: version_table_pk=True", lambda: command.upgrade(
            project.config(version_table=pkc), "head"), "42602", 'Use "pk_aux_alembic_versions".')
    # A timestamp without time zone where the policy injects timestamptz.
    naive = sa.MetaData(schema=SCHEMA)
    sa.Table("aux_notes", naive, sa.Column("id", UUID, primary_key=True),
             sa.Column("created", sa.DateTime(), nullable=False))
    expect_refused(f"{label}: created DateTime() without timezone=True", lambda: naive.create_all(engine),
                   "42804", "Change the column to timestamptz, rename it, or create the table with "
                            "inject_columns off.")
    # SQLAlchemy's plain tokens cut a long name their own way (55 bytes, "_", 4 hex digits of MD5).
    plain = sa.MetaData(schema=SCHEMA, naming_convention=PLAIN_TOKENS)
    sa.Table("aux_loans", plain, sa.Column("id", UUID, primary_key=True),
             *(sa.Column(c, sa.Text) for c in ("book_id", "borrower_email", "borrowed_on", "due_on",
                                                "returned_on")),
             sa.Index(None, "book_id", "borrower_email", "borrowed_on", "due_on", "returned_on"))
    expect_refused(f"{label}: plain ix token over 63 bytes", lambda: plain.create_all(engine), "42602",
                   f'Use "{fitted(LONG_IX)}".')
    with engine.connect() as conn:
        check(tables(conn) == [], f"{label}: tables left by the refusals: {tables(conn)}")

    # --- 2. autogenerate, upgrade head ------------------------------------------------------------
    rev1, ops, script, _ = project.autogenerate("library", rev_id=REV1)
    created = sorted(op.table_name for op in ops.ops if type(op).__name__ == "CreateTableOp")
    check(created == ["aux_authors", "aux_book_tags", "aux_books", "aux_loans", "aux_tags"],
          f"{label}: first autogenerate creates {created}\n{script}")
    for injected in ("'updated'", "'href'"):
        check(injected not in script, f"{label}: the first migration declares {injected}:\n{script}")
    check(f"op.f('{fitted(LONG_IX)}')" in script, f"{label}: the long index name in the script:\n{script}")
    command.upgrade(project.config(), "head")
    with engine.connect() as conn:
        check(project.current(conn) == [rev1], f"{label}: version table holds {project.current(conn)}")
        got_tables = tables(conn)
        want_tables = sorted(list(EXPECTED) + (["aux_alembic_versions"]
                                               if variant["version_rel"].startswith(SCHEMA) else []))
        check(got_tables == want_tables, f"{label}: tables {got_tables}, want {want_tables}")
        for table, want in EXPECTED.items():
            got = names(conn, table)
            check(got == want, f"{label}: {table}: names\n  missing: {sorted(want - got)}"
                               f"\n  extra:   {sorted(got - want)}")
        audit = ["steward_audit_delete", "steward_audit_insert", "steward_audit_truncate",
                 "steward_audit_update"]
        for table in ("aux_authors", "aux_books", "aux_tags", "aux_loans"):
            cols = columns(conn, f"{SCHEMA}.{table}")
            check(cols[-3:] == ["created", "updated", "href"] or
                  (table == "aux_authors" and cols[-2:] == ["updated", "href"]),
                  f"{label}: {table} columns {cols}")
            check(triggers(conn, f"{SCHEMA}.{table}") == audit + ["steward_touch_updated"],
                  f"{label}: {table} triggers {triggers(conn, f'{SCHEMA}.{table}')}")
        # inject_exclude skips the columns (and touch_updated); the policy's audit still applies
        check(columns(conn, f"{SCHEMA}.aux_book_tags") == ["book_id", "tag_id"],
              f"{label}: association table columns {columns(conn, f'{SCHEMA}.aux_book_tags')}")
        check(triggers(conn, f"{SCHEMA}.aux_book_tags") == audit,
              f"{label}: association table triggers {triggers(conn, f'{SCHEMA}.aux_book_tags')}")
        check(columns(conn, variant["version_rel"]) == ["version_num"],
              f"{label}: version table columns {columns(conn, variant['version_rel'])}")
        check(triggers(conn, variant["version_rel"]) == (audit if variant["version_rel"].startswith(SCHEMA)
                                                         else []),
              f"{label}: version table triggers {triggers(conn, variant['version_rel'])}")
    adopt(engine, f"{label}: stamp after upgrade head", variant["version_rel"], rev1)
    print(f"{label}: autogenerate + upgrade head: standard names, injected columns, "
          "association and version tables left alone; stamped, lint empty, check clean")

    # The ORM on the result: server-side ids, relationships, the many-to-many, touch_updated, audit.
    models = {}
    exec(compile(MODELS, "models", "exec"), models)
    with Session(engine, future=True) as session:
        ada = models["Author"](name="Ada", email="ada@example.com")
        tag = models["Tag"](label="math")
        book = models["Book"](author=ada, title="Notes", isbn="9780000000001", pages=80, tags=[tag])
        session.add_all([book, models["Loan"](book=book, borrower_email="b@example.com",
                                              borrowed_on=sa.func.current_date(),
                                              due_on=sa.func.current_date() + 14)])
        session.commit()
        check(book.id is not None and book.author_id == ada.id and book.tags == [tag],
              f"{label}: ORM round trip")
        book_id = book.id
    with engine.begin() as conn:
        href = conn.execute(text(f"SELECT href FROM {SCHEMA}.aux_books WHERE id = :i"),
                            {"i": book_id}).scalar()
        check(href == f"/books/{book_id}", f"{label}: href {href!r}")
        conn.execute(text(f"UPDATE {SCHEMA}.aux_books SET pages = 81 WHERE id = :i"), {"i": book_id})
    with engine.connect() as conn:
        if variant["version_rel"].startswith(SCHEMA):  # Alembic's version changes are audited
            versions = conn.execute(text(
                "SELECT array_agg(op ORDER BY id) FROM steward.audit_log "
                "WHERE table_name = 'aux_alembic_versions'")).scalar()
            check(versions == ["INSERT"], f"{label}: audit of the version table {versions}")
        touched = conn.execute(text(f"SELECT updated > created FROM {SCHEMA}.aux_books")).scalar()
        check(touched is True, f"{label}: updated not moved by the UPDATE")
        ops_logged = conn.execute(text(
            "SELECT array_agg(op ORDER BY id) FROM steward.audit_log "
            "WHERE table_name = 'aux_books'")).scalar()
        check(ops_logged == ["INSERT", "UPDATE"], f"{label}: audit of aux_books {ops_logged}")
        pair = conn.execute(text(f"SELECT count(*) FROM {SCHEMA}.aux_book_tags")).scalar()
        check(pair == 1, f"{label}: association rows {pair}")

    # --- 3. a second autogenerate is empty --------------------------------------------------------
    def expect_empty(when):
        rev, ops, script, path = project.autogenerate("nothing")
        check(ops.is_empty(), f"{label}: autogenerate {when} is not empty: {ops.as_diffs()}\n{script}")
        os.remove(path)  # an empty revision is not kept

    expect_empty("after upgrade head")
    print(f"{label}: second autogenerate empty")

    # --- 4. a column with an index: autogenerate, upgrade, downgrade -1, upgrade -----------------
    project.write_models(language=True)
    rev2, ops, script, _ = project.autogenerate("book language", rev_id=REV2)
    got = sorted((d[0], getattr(d[-1], "name", None)) if isinstance(d, tuple) else d
                 for d in ops.as_diffs())
    check(got == [("add_column", "language"), ("add_index", "ix_aux_books_language")],
          f"{label}: second migration {ops.as_diffs()}\n{script}")
    command.upgrade(project.config(), "head")
    with engine.connect() as conn:
        check(project.current(conn) == [rev2], f"{label}: at {project.current(conn)}, want {rev2}")
        check("language" in columns(conn, f"{SCHEMA}.aux_books"), f"{label}: no column language")
        check(("i", "ix_aux_books_language") in names(conn, "aux_books"),
              f"{label}: no ix_aux_books_language")
    adopt(engine, f"{label}: stamp after the second upgrade", variant["version_rel"], rev2)
    command.downgrade(project.config(), "-1")
    with engine.connect() as conn:
        check(project.current(conn) == [rev1], f"{label}: downgrade -1 left {project.current(conn)}")
        check("language" not in columns(conn, f"{SCHEMA}.aux_books"), f"{label}: language left behind")
        check(names(conn, "aux_books") == EXPECTED["aux_books"], f"{label}: aux_books after downgrade")
    adopt(engine, f"{label}: stamp after downgrade -1", variant["version_rel"], rev1)
    command.upgrade(project.config(), "head")
    expect_empty("after add column, downgrade -1, upgrade head")
    print(f"{label}: add column + index: autogenerate, upgrade, downgrade -1, upgrade head")

    # --- 5. upgrade head --sql, applied with psql to a fresh database -----------------------------
    sql = io.StringIO()
    command.upgrade(project.config(output_buffer=sql), "head", sql=True)
    path = os.path.join(root, "upgrade.sql")
    with open(path, "w") as f:
        f.write(sql.getvalue())
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{offline_db}"'))
    offline = sa.create_engine(url(offline_db), future=True)
    with offline.begin() as conn:
        conn.execute(text("CREATE EXTENSION pg_steward"))
    offline.dispose()
    offline = prepare(offline_db, variant)
    psql = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", offline_db, "-f", path],
                          capture_output=True, text=True)
    check(psql.returncode == 0, f"{label}: psql -f upgrade.sql: {psql.stderr}\n{sql.getvalue()}")
    fingerprints = text("SELECT object_type, object_identity, hash FROM steward.object_fingerprints(:s) "
                        "ORDER BY 1, 2")
    with engine.connect() as conn, offline.connect() as oconn:
        check(project.current(oconn) == [rev2], f"{label}: offline database at {project.current(oconn)}")
        online_fp = conn.execute(fingerprints, {"s": SCHEMA}).all()
        offline_fp = oconn.execute(fingerprints, {"s": SCHEMA}).all()
        check(online_fp == offline_fp,
              f"{label}: upgrade head --sql gave another schema:"
              f"\n  online only:  {sorted(set(online_fp) - set(offline_fp))}"
              f"\n  offline only: {sorted(set(offline_fp) - set(online_fp))}")
    print(f"{label}: upgrade head --sql through psql gives the same schema ({len(online_fp)} objects)")

    # --- 6. steward adopts Alembic's head: lint empty, check clean --------------------------------
    adopt(engine, f"{label} (online)", variant["version_rel"], rev2)
    adopt(offline, f"{label} (offline)", variant["version_rel"], rev2)
    print(f"{label}: stamped after each upgrade and downgrade: lint empty, check clean (online and offline)")
    engine.dispose()
    offline.dispose()


check_readme()
check_plain_tokens()
base_db = os.environ["PGDATABASE"]
admin = sa.create_engine(url(base_db), future=True, isolation_level="AUTOCOMMIT")
extra = []
for i, (label, variant) in enumerate(VARIANTS.items()):
    if i == 0:
        db = base_db
    else:
        db = f"{base_db}_{i}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{db}"'))
            extra.append(db)
        e = sa.create_engine(url(db), future=True)
        with e.begin() as conn:
            conn.execute(text("CREATE EXTENSION pg_steward"))
        e.dispose()
    offline_db = f"{base_db}_{i}_offline"
    extra.append(offline_db)
    run_variant(label, variant, db, offline_db)
with admin.connect() as conn:
    for db in extra:
        conn.execute(text(f'DROP DATABASE "{db}"'))
admin.dispose()
print(f"ok: Alembic {alembic.__version__} / SQLAlchemy {sa.__version__}: autogenerate, upgrade, "
      "downgrade and offline SQL in a managed schema give standard names, empty re-autogenerates, "
      "an empty lint and a clean check, with the version table in and outside the schema")
