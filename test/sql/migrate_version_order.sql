-- Natural version order: digit runs compare as numbers.
SELECT steward.version_cmp('2', '10') AS "2<10",
       steward.version_cmp('1.9', '1.10') AS "1.9<1.10",
       steward.version_cmp('1.10', '1.9') AS "1.10>1.9",
       steward.version_cmp('007', '7') AS "007 vs 7",
       steward.version_cmp('1.2', '1.2') AS "equal",
       steward.version_cmp('1', '1.1') AS "1<1.1",
       steward.version_cmp('1.1', '1a') AS "1.1<1a",
       steward.version_cmp('20251212_215117', '20251212_215118') AS ts,
       steward.version_cmp('99999999999999999999999', '100000000000000000000000') AS bignum;

-- A mixed set, sorted by the SQL sort key (the C runner uses the same key).
SELECT v FROM unnest(ARRAY['10', '2', '1.10', '1.9', '1', '1.2.3', '1.2.10', '001_init',
                           '20251212_215117', '20240101_000000', '3a', '3', '3.0', 'v2', 'v10'])
         AS t(v)
 ORDER BY steward.version_key(v);

-- Sorting agrees with version_cmp for every pair of the set.
WITH vs(v) AS (SELECT unnest(ARRAY['10', '2', '1.10', '1.9', '1', '1.2.3', '1.2.10', '3a', '3',
                                   '20251212_215117', '20240101_000000', 'v2', 'v10', '007', '7']))
SELECT count(*) AS pairs,
       count(*) FILTER (WHERE sign(steward.version_cmp(a.v, b.v)) <>
                              CASE WHEN steward.version_key(a.v) < steward.version_key(b.v) THEN -1
                                   WHEN steward.version_key(a.v) > steward.version_key(b.v) THEN 1
                                   ELSE 0 END) AS disagreements
  FROM vs a, vs b;

-- Checksums: SHA-256 of the script, CRLF and trailing blanks normalised.
SELECT steward.checksum('CREATE TABLE t (id int);') =
       encode(sha256('CREATE TABLE t (id int);'), 'hex') AS plain_sha256;
SELECT steward.checksum(E'CREATE TABLE t (\r\n  id int\r\n);\r\n') =
       steward.checksum(E'CREATE TABLE t (\n  id int\n);') AS crlf_same,
       steward.checksum(E'SELECT 1;   \t\nSELECT 2;\n\n\n') =
       steward.checksum(E'SELECT 1;\nSELECT 2;') AS trailing_blanks_same,
       steward.checksum('SELECT 1;') <> steward.checksum('SELECT  1;') AS inner_blanks_differ;
