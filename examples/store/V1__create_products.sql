-- The store's first table.  {{schema}} and {{tables.x}} expand to the
-- module's schema (pg_steward status/upgrade --schema store).
CREATE SCHEMA {{schema}};
CREATE TABLE {{tables.products}} (
    id int PRIMARY KEY,
    name text NOT NULL
);
