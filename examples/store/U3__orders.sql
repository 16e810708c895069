DROP TABLE {{tables.orders}};
