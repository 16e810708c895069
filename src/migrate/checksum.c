/*-------------------------------------------------------------------------
 *
 * checksum.c
 *		SHA-256 of a migration script, normalised so that the checksum does
 *		not change when a file is checked out with CRLF line ends or an
 *		editor strips or adds trailing blanks: CRLF becomes LF, trailing
 *		spaces and tabs of every line are dropped, and so are trailing
 *		empty lines.  The checksum is over the raw text, before templates
 *		are expanded, so one script serves many schemas.
 *
 *-------------------------------------------------------------------------
 */
#include "checksum.h"

#include "common/cryptohash.h"
#include "common/sha2.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(steward_checksum);

/*
 * Return the normalised script (see file header) in a new StringInfo.
 */
static void
normalise_script(const char *script, size_t len, StringInfo out)
{
	size_t		i = 0;

	while (i < len)
	{
		size_t		eol = i;
		size_t		end;

		while (eol < len && script[eol] != '\n')
			eol++;
		end = eol;
		/* drop CR and other trailing blanks of this line */
		while (end > i && (script[end - 1] == ' ' || script[end - 1] == '\t' ||
						   script[end - 1] == '\r'))
			end--;
		appendBinaryStringInfo(out, script + i, end - i);
		if (eol < len)
			appendStringInfoChar(out, '\n');
		i = eol + 1;
	}
	/* drop trailing empty lines */
	while (out->len > 0 && out->data[out->len - 1] == '\n')
		out->data[--out->len] = '\0';
}

/*
 * Hex SHA-256 of the normalised script, palloc'd.
 */
char *
steward_script_checksum(const char *script, size_t len)
{
	StringInfoData norm;
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	pg_cryptohash_ctx *ctx;
	char	   *hex = palloc(PG_SHA256_DIGEST_LENGTH * 2 + 1);
	int			i;

	initStringInfo(&norm);
	normalise_script(script, len, &norm);

	ctx = pg_cryptohash_create(PG_SHA256);
	if (pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (uint8 *) norm.data, norm.len) < 0 ||
		pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute SHA-256 of migration script: %s",
						pg_cryptohash_error(ctx)),
				 errhint("Check the server's cryptographic library.")));
	pg_cryptohash_free(ctx);
	pfree(norm.data);

	for (i = 0; i < PG_SHA256_DIGEST_LENGTH; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	return hex;
}

/*
 * steward.checksum(text) RETURNS text
 */
Datum
steward_checksum(PG_FUNCTION_ARGS)
{
	text	   *script = PG_GETARG_TEXT_PP(0);

	PG_RETURN_TEXT_P(cstring_to_text(steward_script_checksum(VARDATA_ANY(script),
															 VARSIZE_ANY_EXHDR(script))));
}
