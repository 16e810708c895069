ALTER TABLE {{tables.products}} ADD price numeric(10,2);
