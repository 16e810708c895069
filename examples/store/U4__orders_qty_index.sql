-- steward:no-transaction
DROP INDEX CONCURRENTLY {{schema}}.ix_orders_qty;
