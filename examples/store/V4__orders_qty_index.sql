-- steward:no-transaction
-- Built without blocking writes to orders: pg_steward runs this step
-- statement by statement, outside a transaction.
CREATE INDEX CONCURRENTLY ix_orders_qty ON {{tables.orders}} (qty);
