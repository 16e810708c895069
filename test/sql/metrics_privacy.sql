-- Query metrics, privacy: query text, error messages and client addresses
-- follow one rule in every view and in prometheus() (superuser,
-- pg_read_all_stats, or the statement's session user); statements are
-- attributed to the session user, also when they fail inside a SECURITY
-- DEFINER function; the rings keep constants as $n (steward.normalize_text).
SELECT steward.reset_metrics();
CREATE ROLE mp_alice;
CREATE ROLE mp_bob;
CREATE ROLE mp_owner;
CREATE ROLE mp_reader IN ROLE pg_read_all_stats;
CREATE TABLE mp_secrets (id int PRIMARY KEY, token text);
GRANT SELECT, INSERT ON mp_secrets TO mp_alice;
-- A SECURITY DEFINER function of mp_owner that fails on a wrong token.
CREATE FUNCTION mp_check(t text) RETURNS int LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
  IF t <> 'open sesame' THEN
    RAISE EXCEPTION 'token "%" rejected', t USING ERRCODE = 'invalid_password';
  END IF;
  RETURN 1;
END $$;
ALTER FUNCTION mp_check(text) OWNER TO mp_owner;

-- alice's session: literals inlined as psycopg2 sends parameters, and a
-- failure inside mp_owner's function.
SET SESSION AUTHORIZATION mp_alice;
INSERT INTO mp_secrets VALUES (1, 'alice-password-1234');
SELECT token FROM mp_secrets WHERE token = 'alice-token-5678' AND id = 42;
SELECT mp_check('alice-secret-token');
RESET SESSION AUTHORIZATION;

-- Everything is alice's (the session user), nothing mp_owner's.
SELECT username, command, calls, errors FROM steward.query_metrics
 WHERE datname = current_database() AND username LIKE 'mp\_%' ORDER BY 1, 2;
-- No literal reached the rings; alice's failure has its SQLSTATE and message.
SELECT username, command, sqlstate, query, message FROM steward.recent_queries
 WHERE username = 'mp_alice' ORDER BY at;
SELECT count(*) AS literals_in_rings FROM steward.recent_queries WHERE query LIKE '%alice-%';

-- The function's owner sees neither alice's text nor her message.
SET SESSION AUTHORIZATION mp_owner;
SELECT username, command, sqlstate, query, message, client_addr FROM steward.recent_queries
 WHERE username = 'mp_alice' ORDER BY at;
SELECT sqlstate, count, last_message FROM steward.error_metrics
 WHERE datname = current_database() ORDER BY sqlstate;
-- prometheus() emits counters only: no text, no message.
SELECT count(*) AS text_in_prometheus FROM regexp_split_to_table(steward.prometheus(), E'\n') AS l
 WHERE l LIKE '%alice-%' OR l LIKE '%rejected%' OR l LIKE '%mp_secrets%WHERE%';
SELECT count(*) > 0 AS alice_counted FROM regexp_split_to_table(steward.prometheus(), E'\n') AS l
 WHERE l LIKE 'steward_statements_total{%username="mp_alice"%';
RESET SESSION AUTHORIZATION;

-- alice sees her own text and message; bob (another plain role) sees none.
SET SESSION AUTHORIZATION mp_alice;
SELECT query, message FROM steward.recent_queries WHERE sqlstate = '28P01';
SELECT last_message FROM steward.error_metrics WHERE datname = current_database() AND sqlstate = '28P01';
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION mp_bob;
SELECT query, message FROM steward.recent_queries WHERE sqlstate = '28P01';
SELECT last_message FROM steward.error_metrics WHERE datname = current_database() AND sqlstate = '28P01';
RESET SESSION AUTHORIZATION;
-- A member of pg_read_all_stats sees everything.
SET SESSION AUTHORIZATION mp_reader;
SELECT query, message FROM steward.recent_queries WHERE sqlstate = '28P01';
SELECT last_message FROM steward.error_metrics WHERE datname = current_database() AND sqlstate = '28P01';
RESET SESSION AUTHORIZATION;
-- So does a role that has alice's privileges (as in pg_stat_activity).
GRANT mp_alice TO mp_bob;
SET SESSION AUTHORIZATION mp_bob;
SELECT query, message FROM steward.recent_queries WHERE sqlstate = '28P01';
RESET SESSION AUTHORIZATION;
REVOKE mp_alice FROM mp_bob;

-- SET ROLE changes the current user, not the session user the statements
-- are counted for.
SET ROLE mp_alice;
SELECT 'under set role' AS x;
RESET ROLE;
SELECT username = session_user AS session_user_counted, query FROM steward.recent_queries
 WHERE query LIKE '%under set role%' OR query = 'SELECT $1 AS x';

-- steward.normalize_text = off keeps the raw text; only a superuser may
-- turn it off.
SET steward.normalize_text = off;
SELECT token FROM mp_secrets WHERE token = 'kept as typed';
RESET steward.normalize_text;
SELECT query FROM steward.recent_queries WHERE query LIKE '%kept as typed%';
SET SESSION AUTHORIZATION mp_alice;
SET steward.normalize_text = off;
RESET SESSION AUTHORIZATION;

-- How constants are found.  With query identifiers off, a lexer replaces
-- every string and number (quoted identifiers, comments and parameters
-- stay); with compute_query_id = on, the constants the query jumble located,
-- exactly as pg_stat_statements shows them (ORDER BY 1 stays, a negative
-- number is one constant).
SET compute_query_id = off;
SELECT 'it''s' AS a, E'\x41' AS b, $tag$dollar$tag$ AS c, 1.5e3 AS d, x'1F' AS e, -7 AS f,
       "id" /* 99 */ FROM mp_secrets ORDER BY 1 LIMIT 3;
SET compute_query_id = on;
SELECT 'it''s' AS a, E'\x41' AS b, $tag$dollar$tag$ AS c, 1.5e3 AS d, x'1F' AS e, -7 AS f,
       "id" /* 99 */ FROM mp_secrets ORDER BY 1 LIMIT 3;
RESET compute_query_id;
SELECT queryid IS NOT NULL AS has_queryid, query FROM steward.recent_queries
 WHERE query LIKE 'SELECT $1 AS a%' ORDER BY at;
-- Parameters keep their numbers; constants are numbered after them.
PREPARE mp_prep(int) AS SELECT $1 + 10 AS sum, 'x' AS y;
EXECUTE mp_prep(5);
DEALLOCATE mp_prep;
SELECT query FROM steward.recent_queries WHERE query LIKE '%$1 + $2%';
-- A password in a utility statement, and text that does not even parse.
CREATE ROLE mp_pw PASSWORD 'hunter2-secret';
DROP ROLE mp_pw;
SELECT 'secret-in-bad-syntax' FROM;
SELECT query, sqlstate FROM steward.recent_queries
 WHERE query LIKE '%ROLE mp_pw%' OR sqlstate = '42601' ORDER BY at;
SELECT count(*) AS secrets_in_rings FROM steward.recent_queries
 WHERE query LIKE '%hunter2%' OR query LIKE '%secret-in-bad-syntax%';
-- The lexer's numbers (the statement fails to parse before them on every
-- major, so the lexer reads it): integers, hexadecimal, with underscores,
-- fractions, exponents; digits inside words stay.
SELECT 42 AS g FROM FROM 0x1F, 1_000, 7.5, 1e5, .5, 12, t1.c1, a$b, 3;
SELECT query FROM steward.recent_queries WHERE query LIKE 'SELECT % AS g FROM FROM%';

DROP FUNCTION mp_check(text);
DROP TABLE mp_secrets;
DROP ROLE mp_alice, mp_bob, mp_owner, mp_reader;
