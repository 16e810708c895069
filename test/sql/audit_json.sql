-- The audit log's JSON is written by pg_steward's own encoder (src/audit/row_json.c),
-- planned once per statement.  It must be exactly what to_jsonb renders, for
-- every kind of column.  Each row is compared with to_jsonb of the same row
-- four ways: jsonb equality, text equality, key lookup of every key (binary
-- search over the stored keys and offsets), and stored size.
SET TimeZone = 'America/St_Johns';
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TYPE pair AS (a int, b text);
CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE DOMAIN label AS text;
CREATE DOMAIN doc AS jsonb;
CREATE DOMAIN moods AS mood[];
-- A non-built-in type with a cast to json is rendered through that cast.
CREATE TYPE shade AS ENUM ('light', 'dark');
CREATE FUNCTION shade_json(shade) RETURNS json LANGUAGE sql IMMUTABLE
  AS $$ SELECT json_build_object('shade', $1::text) $$;
CREATE CAST (shade AS json) WITH FUNCTION shade_json(shade);

CREATE TABLE everything (
  id serial PRIMARY KEY,
  b bool, i2 int2, i4 int4, i8 int8, n numeric, n2 numeric(12, 2),
  f4 float4, f8 float8, d date, ts timestamp, tz timestamptz, tm time, tmz timetz, iv interval,
  t text, vc varchar(20), c char(5), nm name, u uuid, ip inet, cidr_ cidr, mac macaddr,
  by bytea, o oid, m money, bits bit varying(8), pt point, tsv tsvector,
  js json, jb jsonb, arr int[], arr2 text[], arr3 int[], arr0 int[], rng int4range, mrng int4multirange,
  cmp pair, e mood, dom posint, lbl label, dc doc, ea moods, sh shade,
  "a much longer column name than the others" text, "ü" text, "x" text,
  "drop me" int, big text, bigj jsonb
);
ALTER TABLE everything DROP COLUMN "drop me";
SELECT steward.enable_audit('everything');
-- One row of ordinary values, one of edge values, one all NULL.
INSERT INTO everything (b, i2, i4, i8, n, n2, f4, f8, d, ts, tz, tm, tmz, iv, t, vc, c, nm, u, ip, cidr_, mac,
                        by, o, m, bits, pt, tsv, js, jb, arr, arr2, arr3, arr0, rng, mrng, cmp, e, dom, lbl, dc,
                        ea, sh, "a much longer column name than the others", "ü", "x", big, bigj)
VALUES
 (true, 1, 2, 3, 1.50, 1250.00, 1.5, 2.25, '2024-02-29', '2024-02-29 12:34:56.789', '2024-02-29 12:34:56.789+01',
  '12:34:56', '12:34:56+05:30', '1 year 2 days 03:04:05', 'plain', 'v', 'ab', 'nm',
  '00000000-0000-0000-0000-000000000001', '10.1.2.3/16', '10.1.0.0/16', '08:00:2b:01:02:03',
  '\x00ff', 42, 12.34, B'1011', '(1,2)', 'a fat cat', '{"b": 1, "a": [1, 2], "b": 2}', '{"z": {"y": [1, "x", null, true, 1.0]}, "a": 0}',
  '{1,2,NULL}', '{"a","b c","\"q\""}', '{{1,2},{3,4}}', '{}', '[3,7)', '{[1,2], [5,8)}', ROW(1, 'x,y'), 'happy', 7, 'lbl',
  '"just a string"', '{sad,ok}', 'dark', 'long', 'umlaut', 'empty name', repeat('ü', 200000),
  (SELECT jsonb_agg(g) FROM generate_series(1, 50000) g)),
 (false, -32768, -2147483648, -9223372036854775808, 'NaN', -0.01, 'NaN', '-0', 'infinity', '-infinity',
  '0044-03-15 10:00:00+00 BC', '24:00:00', '00:00:00-14', '-1 mons', E'tab\tquote"back\\slash\nnewline\u0001', '', 'x',
  '', '00000000-0000-0000-0000-000000000000', '::1', '::/0', '00:00:00:00:00:00',
  '\x', 0, -0.01, B'', '(-1.5,1e300)', '', '[]', '[]', '{}', '{NULL}', '{{NULL}}', '{}', 'empty', '{}', ROW(NULL, NULL), 'sad',
  1, '', 'null', '{}', 'light', '', '', '', '', '{}'),
 (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO everything (n, f4, f8, jb, tz, d) VALUES
 ('Infinity', 'Infinity', '-Infinity', '12.500', 'infinity', '-infinity'),
 ('-Infinity', '1e-40', '1.7976931348623157e308', 'true', '1999-12-31 23:59:59.999999-11', '5874897-12-31'),
 (123456789012345678901234567890.000000000000000000001, '3.4e38', '-1e-300', 'null', '2000-01-01', '4713-01-01 BC');

CREATE TEMP TABLE expected AS SELECT id, to_jsonb(ev) AS j FROM everything ev;
CREATE FUNCTION check_json(cond text) RETURNS TABLE (rows bigint, same_jsonb bigint, same_text bigint,
                                                     keys_found bigint, same_size bigint)
  LANGUAGE sql AS $$
  SELECT count(*),
         count(*) FILTER (WHERE a.new_row = x.j),
         count(*) FILTER (WHERE a.new_row::text = x.j::text),
         count(*) FILTER (WHERE (SELECT bool_and(a.new_row -> k IS NOT DISTINCT FROM x.j -> k)
                                   FROM jsonb_object_keys(x.j) k)),
         count(*) FILTER (WHERE pg_column_size(a.new_row) = pg_column_size(x.j))
    FROM steward.audit_log a JOIN expected x ON a.row_id = x.id::text
   WHERE a.relid = 'everything'::regclass AND a.op = cond
  $$;
SELECT * FROM check_json('INSERT');
-- Spot checks of what to_jsonb does with particular values.
SELECT new_row->'n' AS n, new_row->'f4' AS f4, new_row->'f8' AS f8, new_row->'d' AS d, new_row->'tz' AS tz,
       new_row->'jb' AS jb, new_row->'js' AS js, new_row->'sh' AS sh, new_row->'c' AS c
  FROM steward.audit_log WHERE relid = 'everything'::regclass AND op = 'INSERT' ORDER BY id;
SELECT jsonb_object_keys(new_row) AS first_keys FROM steward.audit_log
 WHERE relid = 'everything'::regclass AND row_id = '1' LIMIT 6;
SELECT length(new_row->>'big') AS big_len, jsonb_array_length(new_row->'bigj') AS bigj_len
  FROM steward.audit_log WHERE relid = 'everything'::regclass AND row_id = '1';

-- UPDATE renders both rows; DELETE the old one.
UPDATE everything SET i4 = coalesce(i4, 0) + 1, t = 'changed';
TRUNCATE expected;
INSERT INTO expected SELECT id, to_jsonb(ev) FROM everything ev;
SELECT * FROM check_json('UPDATE');
DELETE FROM everything WHERE id = 2;
SELECT a.old_row = x.j AND a.old_row::text = x.j::text AS delete_same
  FROM steward.audit_log a JOIN expected x ON a.row_id = x.id::text
 WHERE a.relid = 'everything'::regclass AND a.op = 'DELETE';

-- Excluded columns and diff mode leave keys out, keeping the order of the rest.
SELECT steward.enable_audit('everything', exclude_columns => ARRAY['big', 'bigj', 'ü'], mode => 'diff');
UPDATE everything SET b = NOT b, "x" = 'new', big = 'x' WHERE id = 1;
SELECT old_row, new_row, changed FROM steward.audit_log
 WHERE relid = 'everything'::regclass ORDER BY id DESC LIMIT 1;
SELECT steward.enable_audit('everything', exclude_columns => ARRAY['big', 'bigj']);
INSERT INTO everything (id, i4) VALUES (100, 100);
SELECT new_row = to_jsonb(ev) - 'big' - 'bigj' AS full_minus_excluded
  FROM steward.audit_log a, everything ev WHERE a.relid = 'everything'::regclass AND a.row_id = '100' AND ev.id = 100;

-- More than 32 keys: jsonb stores an offset instead of a length every 32
-- entries; lookups of every key must still work.
SELECT format('CREATE TABLE wide (%s)', string_agg(format('c%s int', g), ', ')) FROM generate_series(1, 70) g \gexec
SELECT steward.enable_audit('wide');
SELECT format('INSERT INTO wide VALUES (%s)', string_agg(g::text, ', ')) FROM generate_series(1, 70) g \gexec
SELECT a.new_row = to_jsonb(w) AS same_jsonb, a.new_row::text = to_jsonb(w)::text AS same_text,
       (SELECT bool_and((a.new_row ->> k)::int = substr(k, 2)::int) FROM jsonb_object_keys(to_jsonb(w)) k) AS all_keys,
       pg_column_size(a.new_row) = pg_column_size(to_jsonb(w)) AS same_size
  FROM steward.audit_log a, wide w WHERE a.relid = 'wide'::regclass;

-- A table whose every column is excluded logs an empty object.
CREATE TABLE secrets (s text);
SELECT steward.enable_audit('secrets', exclude_columns => ARRAY['s']);
INSERT INTO secrets VALUES ('hidden');
SELECT new_row, new_row = '{}'::jsonb AS empty FROM steward.audit_log WHERE relid = 'secrets'::regclass;
RESET TimeZone;
