CREATE TABLE {{tables.orders}} (
    id int PRIMARY KEY,
    product_id int NOT NULL REFERENCES {{tables.products}},
    qty int NOT NULL CHECK (qty > 0)
);
CREATE INDEX ix_orders_product_id ON {{tables.orders}} (product_id);
