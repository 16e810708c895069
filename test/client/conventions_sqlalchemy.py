"""SQLAlchemy (Debian 12: python3-sqlalchemy 1.4 + python3-psycopg2) under pg_steward's naming conventions.

1. models without a naming_convention: the names PostgreSQL generates for SQLAlchemy's unnamed
   constraints and serial/identity sequences come out as pg_steward's standard names;
2. models with a naming_convention that spells the standard names: accepted as explicit names;
3. models that break the conventions: create_all raises ProgrammingError (SQLSTATE 42602) whose hint
   names the accepted name, and nothing of the failed create_all is left behind.
"""
import os
import sys
import warnings

import sqlalchemy as sa
from sqlalchemy import (BigInteger, CheckConstraint, Column, Date, ForeignKey, ForeignKeyConstraint,
                        Identity, Index, Integer, MetaData, Numeric, PrimaryKeyConstraint, String,
                        Table, Text, UniqueConstraint, exc, func, inspect, text)
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, declarative_base, relationship

SCHEMA = "shop"


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def url():
    """postgresql+psycopg2:///<db>?host=<socket dir>&port=<port> from the libpq variables."""
    query = {}
    if os.environ.get("PGHOST"):
        query["host"] = os.environ["PGHOST"]  # a socket directory: pass it through to libpq
    if os.environ.get("PGPORT"):
        query["port"] = os.environ["PGPORT"]
    return URL.create("postgresql+psycopg2", username=os.environ.get("PGUSER") or None,
                      database=os.environ["PGDATABASE"], query=query)


engine = sa.create_engine(url(), future=True)


def relations(conn):
    """Every relation in the schema: {name: relkind}."""
    return dict(conn.execute(text(
        "SELECT relname, relkind FROM pg_class WHERE relnamespace = CAST(:s AS regnamespace)"),
        {"s": SCHEMA}).all())


def names(conn, table):
    """{(kind, name)} of a table's constraints (contype), indexes ('i') and owned sequences ('S')."""
    rel = f"{SCHEMA}.{table}"
    rows = conn.execute(text("""
        SELECT contype::text, conname::text FROM pg_constraint
         WHERE conrelid = CAST(:r AS regclass) AND contype <> 'n'  -- NOT NULL: a constraint from PG 18 on
        UNION ALL
        SELECT 'i', c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
         WHERE i.indrelid = CAST(:r AS regclass)
        UNION ALL
        SELECT 'S', s.relname::text FROM pg_depend d JOIN pg_class s ON s.oid = d.objid
         WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
           AND d.refobjid = CAST(:r AS regclass) AND s.relkind = 'S' AND d.deptype IN ('a', 'i')
        """), {"r": rel}).all()
    return {(k, n) for k, n in rows}


def expect_names(conn, table, expected):
    got = names(conn, table)
    check(got == set(expected),
          f"{SCHEMA}.{table}: unexpected object names\n  missing: {sorted(set(expected) - got)}"
          f"\n  extra:   {sorted(got - set(expected))}")


def expect_reflected(table, pk, uniques=(), fks=(), checks=(), indexes=()):
    """SQLAlchemy's own reflection (what Alembic autogenerate compares) sees the same names."""
    insp = inspect(engine)
    with warnings.catch_warnings():  # 1.4 skips expression indexes with a warning, 2.0 reflects them
        warnings.simplefilter("ignore", exc.SAWarning)
        reflected_indexes = insp.get_indexes(table, schema=SCHEMA)
    got = {
        "pk": insp.get_pk_constraint(table, schema=SCHEMA)["name"],
        "uniques": sorted(u["name"] for u in insp.get_unique_constraints(table, schema=SCHEMA)),
        "fks": sorted(f["name"] for f in insp.get_foreign_keys(table, schema=SCHEMA)),
        "checks": sorted(c["name"] for c in insp.get_check_constraints(table, schema=SCHEMA)),
        "indexes": sorted(i["name"] for i in reflected_indexes  # plain-column indexes only
                          if "duplicates_constraint" not in i and None not in i["column_names"]),
    }
    want = {"pk": pk, "uniques": sorted(uniques), "fks": sorted(fks), "checks": sorted(checks),
            "indexes": sorted(indexes)}
    check(got == want, f"inspect({table}): got {got}, want {want}")


class Refusal(Exception):
    """A violation case went wrong; collected so every case of section 3 is reported."""


def refused_check(cond, msg):
    if not cond:
        raise Refusal(msg)


def expect_refused(metadata, what, hint_name, absent, tables=None):
    """create_all must fail with 42602 naming `hint_name`, leaving none of `absent` behind."""
    with engine.connect() as conn:
        before = relations(conn)
    try:
        metadata.create_all(engine, tables=tables)
    except exc.DBAPIError as e:
        refused_check(isinstance(e, exc.ProgrammingError),
                      f"{what}: expected ProgrammingError, got {type(e).__name__}: {e}")
        orig = e.orig
        refused_check(orig.pgcode == "42602", f"{what}: SQLSTATE {orig.pgcode}, want 42602: {e}")
        refused_check("does not follow the naming convention" in orig.diag.message_primary,
                      f"{what}: unexpected message {orig.diag.message_primary!r}")
        refused_check(orig.diag.message_hint == f'Use "{hint_name}".',
                      f"{what}: hint {orig.diag.message_hint!r}, want 'Use \"{hint_name}\".'")
        refused_check(hint_name in str(e),
                      f"{what}: the SQLAlchemy error text lacks the accepted name: {e}")
    else:
        # Say what happened to the names, then drop what was created so the next case starts clean.
        with engine.begin() as conn:
            new = sorted(n for n, k in relations(conn).items() if k == "r" and n not in before)
            got = {n: sorted({name for _, name in names(conn, n)}) for n in new}
            for n in new:
                conn.execute(text(f"DROP TABLE {SCHEMA}.{n} CASCADE"))
        raise Refusal(f"{what}: create_all succeeded, want SQLSTATE 42602 with hint "
                      f"'Use \"{hint_name}\".'; the names became {got}")
    with engine.connect() as conn:
        after = relations(conn)
        refused_check(after == before, f"{what}: relations changed by the failed create_all: "
                                       f"{sorted(set(after.items()) ^ set(before.items()))}")
        for name in absent:
            refused_check(conn.execute(text("SELECT to_regclass(:n)"),
                                       {"n": f"{SCHEMA}.{name}"}).scalar() is None,
                          f"{what}: {SCHEMA}.{name} was left behind")
    print(f"refused: {what} -> {orig.diag.message_primary}; {orig.diag.message_hint}")


# --- the managed schema, through the engine as plain SQL ----------------------------------------
with engine.begin() as conn:
    conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    mode = conn.execute(text(
        "SELECT mode FROM steward.manage_schema(:s, table_prefix => 'aux_', inject_columns => false,"
        " audit => false)"), {"s": SCHEMA}).scalar()
    check(mode == "enforce", f"manage_schema: mode {mode!r}")

# --- 1. declarative models, no naming_convention ------------------------------------------------
# SQLAlchemy leaves PK/UNIQUE/FK/CHECK constraints unnamed, so PostgreSQL generates
# aux_customers_pkey, aux_customers_email_key, aux_orders_customer_id_fkey, aux_customers_age_check,
# aux_customers_id_seq ...; pg_steward must rename every one of them to the standard.  Indexes
# always carry a name from SQLAlchemy, so they are given as explicit (standard) names here.
Base = declarative_base(metadata=MetaData(schema=SCHEMA))


class Customer(Base):
    __tablename__ = "aux_customers"
    id = Column(Integer, primary_key=True)                        # SERIAL
    email = Column(String(200), nullable=False, unique=True)       # unnamed UNIQUE
    age = Column(Integer)
    orders = relationship("Order", back_populates="customer")
    __table_args__ = (CheckConstraint("age >= 0"),                 # unnamed table CHECK
                      Index("ix_aux_customers_email_lower", func.lower(email)))


class Order(Base):
    __tablename__ = "aux_orders"
    id = Column(BigInteger, primary_key=True)                      # BIGSERIAL
    customer_id = Column(ForeignKey(f"{SCHEMA}.aux_customers.id"), nullable=False)  # unnamed FK
    total = Column(Numeric(10, 2), CheckConstraint("total >= 0"))  # unnamed column CHECK
    placed = Column(Date)
    ticket = Column(Integer, Identity())                           # GENERATED BY DEFAULT AS IDENTITY
    note = Column(Text)
    customer = relationship(Customer, back_populates="orders")
    __table_args__ = (UniqueConstraint("customer_id", "ticket"),   # unnamed two-column UNIQUE
                      Index("ix_aux_orders_customer_id_placed", "customer_id", "placed"),
                      Index("ix_aux_orders_total_large", "total", postgresql_where=text("total > 1000")))


Base.metadata.create_all(engine)
with engine.connect() as conn:
    expect_names(conn, "aux_customers", {
        ("p", "pk_aux_customers"), ("u", "uq_aux_customers_email"), ("c", "ck_aux_customers_age"),
        ("i", "pk_aux_customers"), ("i", "uq_aux_customers_email"),
        ("i", "ix_aux_customers_email_lower"),
        ("S", "sq_aux_customers_id")})
    expect_names(conn, "aux_orders", {
        ("p", "pk_aux_orders"), ("f", "fk_aux_orders_customer_id_aux_customers"),
        ("c", "ck_aux_orders_total"), ("u", "uq_aux_orders_customer_id_ticket"),
        ("i", "pk_aux_orders"), ("i", "uq_aux_orders_customer_id_ticket"),
        ("i", "ix_aux_orders_customer_id_placed"), ("i", "ix_aux_orders_total_large"),
        ("S", "sq_aux_orders_id"), ("S", "sq_aux_orders_ticket")})
expect_reflected("aux_customers", "pk_aux_customers", uniques=["uq_aux_customers_email"],
                 checks=["ck_aux_customers_age"])  # (1.4 does not reflect expression indexes)
expect_reflected("aux_orders", "pk_aux_orders", uniques=["uq_aux_orders_customer_id_ticket"],
                 fks=["fk_aux_orders_customer_id_aux_customers"], checks=["ck_aux_orders_total"],
                 indexes=["ix_aux_orders_customer_id_placed", "ix_aux_orders_total_large"])

# The ORM works on the renamed objects (serial and identity defaults follow the rename) and
# errors carry the standard names.
with Session(engine, future=True) as session:
    alice = Customer(email="alice@example.com", age=30)
    session.add(Order(customer=alice, total=12.5, note="first"))
    session.add(Order(customer=alice, total=2000))
    session.commit()
    check(alice.id == 1, f"serial id {alice.id}")
    check(sorted((o.id, o.ticket) for o in alice.orders) == [(1, 1), (2, 2)],
          f"bigserial/identity ids {[(o.id, o.ticket) for o in alice.orders]}")
    session.add(Customer(email="bob@example.com", age=-1))
    try:
        session.commit()
    except exc.IntegrityError as e:
        session.rollback()
        check(e.orig.diag.constraint_name == "ck_aux_customers_age",
              f"check violation names {e.orig.diag.constraint_name!r}")
    else:
        fail("a negative age was accepted")
    session.add(Customer(email="alice@example.com"))
    try:
        session.commit()
    except exc.IntegrityError as e:
        session.rollback()
        check(e.orig.diag.constraint_name == "uq_aux_customers_email",
              f"unique violation names {e.orig.diag.constraint_name!r}")
    else:
        fail("a duplicate email was accepted")
print("no naming_convention: generated names renamed to the standard")

# SQLAlchemy's default index name is ix_%(column_0_label)s; a table found through search_path
# (no schema in the model) has the label <table>_<column>, so Column(index=True) already gives
# the standard name.  (With MetaData(schema=...) the label carries the schema: see below.)
sp_engine = sa.create_engine(url(), future=True, connect_args={"options": f"-c search_path={SCHEMA}"})
sp_meta = MetaData()
Table("aux_customers", sp_meta, Column("id", Integer, primary_key=True))  # FK target only
Table("aux_tags", sp_meta,
      Column("id", Integer, primary_key=True),
      Column("label", String(50), index=True),
      Column("customer_id", ForeignKey("aux_customers.id")),
      UniqueConstraint("label", "customer_id"))
sp_meta.create_all(sp_engine, tables=[sp_meta.tables["aux_tags"]])
sp_engine.dispose()
with engine.connect() as conn:
    expect_names(conn, "aux_tags", {
        ("p", "pk_aux_tags"), ("u", "uq_aux_tags_label_customer_id"),
        ("f", "fk_aux_tags_customer_id_aux_customers"),
        ("i", "pk_aux_tags"), ("i", "uq_aux_tags_label_customer_id"), ("i", "ix_aux_tags_label"),
        ("S", "sq_aux_tags_id")})
print("search_path, default naming: Column(index=True) gives ix_<table>_<column>")

# --- 2. a naming_convention that spells the standard names --------------------------------------
convention = {
    "pk": "pk_%(table_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",  # CheckConstraint(..., name=<columns>[_<suffix>])
}
conv_meta = MetaData(schema=SCHEMA, naming_convention=convention)
Table("aux_customers", conv_meta, Column("id", Integer, primary_key=True))  # FK target only
Table("aux_invoices", conv_meta,
      Column("id", Integer, primary_key=True),
      Column("number", String(20), nullable=False, unique=True),
      Column("year", Integer, nullable=False),
      Column("customer_id", ForeignKey(f"{SCHEMA}.aux_customers.id"), index=True),
      Column("amount", Numeric(12, 2), CheckConstraint("amount > 0", name="amount")),
      CheckConstraint("amount < 1000000", name="amount_max"),
      UniqueConstraint("number", "year"))
Table("aux_invoice_lines", conv_meta,
      Column("id", BigInteger, primary_key=True),
      Column("invoice_number", String(20), nullable=False),
      Column("invoice_year", Integer, nullable=False),
      Column("position", Integer, nullable=False),
      Column("sku", String(30), index=True, unique=True),
      ForeignKeyConstraint(["invoice_number", "invoice_year"],
                           [f"{SCHEMA}.aux_invoices.number", f"{SCHEMA}.aux_invoices.year"]),
      Index(None, "invoice_number", "invoice_year", "position"))
# A convention's names are explicit names to PostgreSQL: nothing needs renaming, the checks accept them.
conv_meta.create_all(engine, tables=[conv_meta.tables[f"{SCHEMA}.aux_invoices"],
                                     conv_meta.tables[f"{SCHEMA}.aux_invoice_lines"]])
with engine.connect() as conn:
    expect_names(conn, "aux_invoices", {
        ("p", "pk_aux_invoices"), ("u", "uq_aux_invoices_number"),
        ("u", "uq_aux_invoices_number_year"), ("f", "fk_aux_invoices_customer_id_aux_customers"),
        ("c", "ck_aux_invoices_amount"), ("c", "ck_aux_invoices_amount_max"),
        ("i", "pk_aux_invoices"), ("i", "uq_aux_invoices_number"), ("i", "uq_aux_invoices_number_year"),
        ("i", "ix_aux_invoices_customer_id"),
        ("S", "sq_aux_invoices_id")})
    expect_names(conn, "aux_invoice_lines", {
        ("p", "pk_aux_invoice_lines"),
        ("f", "fk_aux_invoice_lines_invoice_number_invoice_year_aux_invoices"),
        ("i", "pk_aux_invoice_lines"), ("i", "ix_aux_invoice_lines_sku"),  # unique index, ix_ name
        ("i", "ix_aux_invoice_lines_invoice_number_invoice_year_position"),
        ("S", "sq_aux_invoice_lines_id")})
    unique_ix = conn.execute(text("SELECT indisunique FROM pg_index WHERE indexrelid = "
                                  "CAST('shop.ix_aux_invoice_lines_sku' AS regclass)")).scalar()
    check(unique_ix is True, "ix_aux_invoice_lines_sku should be a unique index")
expect_reflected("aux_invoices", "pk_aux_invoices",
                 uniques=["uq_aux_invoices_number", "uq_aux_invoices_number_year"],
                 fks=["fk_aux_invoices_customer_id_aux_customers"],
                 checks=["ck_aux_invoices_amount", "ck_aux_invoices_amount_max"],
                 indexes=["ix_aux_invoices_customer_id"])
print("naming_convention: explicit standard names accepted unchanged")

# --- 3. models that break the conventions ------------------------------------------------------
# Each case builds its own MetaData; every case runs, and all that went wrong is reported.
cases = []


def case(fn):
    cases.append(fn)
    return fn


@case
def singular_table():
    bad = MetaData(schema=SCHEMA)
    Table("aux_product", bad, Column("id", Integer, primary_key=True), Column("name", Text))
    expect_refused(bad, "singular table aux_product", "aux_products", ["aux_product", "aux_products"])


@case
def bad_index_name():
    # The table is fine, its explicitly named index is not: CREATE TABLE succeeded inside
    # create_all's transaction, the CREATE INDEX failed, and the table went with it.
    bad = MetaData(schema=SCHEMA)
    Table("aux_widgets", bad, Column("id", Integer, primary_key=True), Column("name", Text),
          Index("bad_name", "name"))
    expect_refused(bad, "Index('bad_name')", "ix_aux_widgets_name", ["aux_widgets", "bad_name"])


@case
def default_index_name_with_schema():
    # SQLAlchemy's default index name is ix_%(column_0_label)s, and with MetaData(schema=...) the
    # label carries the schema: ix_shop_aux_gadgets_name is not a standard name, so
    # Column(index=True) is refused there unless a naming_convention like the one above is set.
    bad = MetaData(schema=SCHEMA)
    Table("aux_gadgets", bad, Column("id", Integer, primary_key=True),
          Column("name", Text, index=True))
    default_ix = next(iter(bad.tables[f"{SCHEMA}.aux_gadgets"].indexes)).name
    if default_ix != "ix_aux_gadgets_name":  # ix_shop_aux_gadgets_name in SQLAlchemy 1.4
        expect_refused(bad, f"default-named Column(index=True) with MetaData(schema=...): {default_ix}",
                       "ix_aux_gadgets_name", ["aux_gadgets", default_ix])


@case
def bad_check_name():
    bad = MetaData(schema=SCHEMA)
    Table("aux_items", bad, Column("id", Integer, primary_key=True), Column("price", Numeric),
          CheckConstraint("price > 0", name="positive_price"))
    expect_refused(bad, "CheckConstraint(name='positive_price')", "ck_aux_items_price", ["aux_items"])


@case
def bad_column_name():
    bad = MetaData(schema=SCHEMA, naming_convention=convention)
    Table("aux_notes", bad, Column("id", Integer, primary_key=True), Column("Body", Text))
    expect_refused(bad, "column 'Body'", "body", ["aux_notes"])


# SQLAlchemy renders named PRIMARY KEY, UNIQUE and FOREIGN KEY constraints at table level
# ("CONSTRAINT <name> UNIQUE (...)" after the columns).  They are names the user gave, so they
# are checked like the CHECK above, not silently renamed as if PostgreSQL had generated them.
@case
def alembic_docs_convention_multicolumn_unique():
    # The convention Alembic's documentation recommends names a UNIQUE after its first column only.
    alembic_docs = {"ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
                    "ck": "ck_%(table_name)s_%(constraint_name)s", "pk": "pk_%(table_name)s",
                    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
    bad = MetaData(schema=SCHEMA, naming_convention=alembic_docs)
    Table("aux_parts", bad, Column("id", Integer, primary_key=True), Column("maker", Text),
          Column("code", Text), UniqueConstraint("maker", "code"))  # uq_aux_parts_maker
    expect_refused(bad, "UniqueConstraint('maker', 'code') named uq_aux_parts_maker",
                   "uq_aux_parts_maker_code", ["aux_parts"])


@case
def bad_primary_key_name():
    bad = MetaData(schema=SCHEMA)
    Table("aux_bins", bad, Column("id", Integer), PrimaryKeyConstraint("id", name="bins_pk"))
    expect_refused(bad, "PrimaryKeyConstraint(name='bins_pk')", "pk_aux_bins", ["aux_bins"])


@case
def bad_foreign_key_name():
    bad = MetaData(schema=SCHEMA)
    Table("aux_customers", bad, Column("id", Integer, primary_key=True))  # FK target only
    slots = Table("aux_slots", bad, Column("id", Integer, primary_key=True),
                  Column("customer_id", ForeignKey(f"{SCHEMA}.aux_customers.id", name="slot_owner")))
    expect_refused(bad, "ForeignKey(name='slot_owner')", "fk_aux_slots_customer_id_aux_customers",
                   ["aux_slots"], tables=[slots])


problems = []
for fn in cases:
    try:
        fn()
    except Refusal as e:
        problems.append(str(e))
if problems:
    fail(f"{len(problems)} of {len(cases)} violation cases went wrong:\n  " + "\n  ".join(problems))

with engine.connect() as conn:
    tables = sorted(n for n, k in relations(conn).items() if k == "r")
check(tables == ["aux_customers", "aux_invoice_lines", "aux_invoices", "aux_orders", "aux_tags"],
      f"tables in {SCHEMA}: {tables}")
engine.dispose()
print(f"ok: SQLAlchemy {sa.__version__} (psycopg2): generated names standardised, "
      "convention names accepted, violations refused with SQLSTATE 42602 and the accepted name")
