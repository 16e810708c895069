ALTER TABLE {{tables.products}} DROP price;
