/*-------------------------------------------------------------------------
 *
 * version.c
 *		Natural version order: digit runs compare as numbers, so 2 < 10,
 *		1.9 < 1.10 and 20251212_215117 style timestamps sort as expected.
 *
 * The order is defined by a byte string sort key, so that C code (memcmp)
 * and SQL (ORDER BY steward.version_key(v), bytea comparison) agree exactly.
 * Key encoding, per character of the version:
 *   - a run of digits becomes 0x01, one byte holding the number of
 *     significant digits (leading zeros dropped, at least one digit), then
 *     those digits; a longer number therefore sorts after a shorter one and
 *     numbers sort before any letter or punctuation at the same position;
 *   - any other byte is copied as is.
 * The key ends with 0x00 and the raw version, so that "1.01" and "1.1"
 * (equal as numbers) still get distinct, stable positions and a version
 * sorts before its own extensions ("1" < "1.1" < "1a").
 *
 *-------------------------------------------------------------------------
 */
#include "version.h"

#include "lib/stringinfo.h"

#include "fmgr.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(steward_version_key);
PG_FUNCTION_INFO_V1(steward_version_cmp);

/*
 * Build the sort key described in the file header.
 */
bytea *
steward_version_sort_key(const char *version)
{
	size_t		len = strlen(version);
	StringInfoData buf;
	const char *p = version;
	bytea	   *result;

	initStringInfo(&buf);
	while (*p)
	{
		if (isdigit((unsigned char) *p))
		{
			const char *start;
			size_t		ndigits;

			while (*p == '0' && isdigit((unsigned char) p[1]))
				p++;
			start = p;
			while (isdigit((unsigned char) *p))
				p++;
			ndigits = p - start;
			if (ndigits > 250)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("version \"%.40s...\" has a number of more than 250 digits", version),
						 errhint("Use versions such as 3, 1.10 or 20251212_215117.")));
			appendStringInfoChar(&buf, '\x01');
			appendStringInfoChar(&buf, (char) ndigits);
			appendBinaryStringInfo(&buf, start, ndigits);
		}
		else
			appendStringInfoChar(&buf, *p++);
	}
	appendStringInfoChar(&buf, '\0');
	appendBinaryStringInfo(&buf, version, len);

	result = (bytea *) palloc(VARHDRSZ + buf.len);
	SET_VARSIZE(result, VARHDRSZ + buf.len);
	memcpy(VARDATA(result), buf.data, buf.len);
	pfree(buf.data);
	return result;
}

/*
 * Compare two versions in natural order: negative, zero or positive.
 */
int
steward_version_compare(const char *a, const char *b)
{
	bytea	   *ka = steward_version_sort_key(a);
	bytea	   *kb = steward_version_sort_key(b);
	int			la = VARSIZE(ka) - VARHDRSZ;
	int			lb = VARSIZE(kb) - VARHDRSZ;
	int			r = memcmp(VARDATA(ka), VARDATA(kb), Min(la, lb));

	if (r == 0)
		r = (la > lb) - (la < lb);
	pfree(ka);
	pfree(kb);
	return (r > 0) - (r < 0);
}

/*
 * Refuse a version string that cannot be stored: versions are also parsed
 * as targets ("head", "base", "+N", "-N"), so they must not look like one,
 * and they appear in messages and file names, so they are kept to a plain
 * character set.
 */
void
steward_check_version(const char *version, const char *what)
{
	const char *p;
	bool		ok = version != NULL && version[0] != '\0' &&
		strlen(version) <= STEWARD_VERSION_MAXLEN &&
		isalnum((unsigned char) version[0]);

	for (p = version; ok && *p; p++)
		if (!isalnum((unsigned char) *p) && *p != '.' && *p != '_' && *p != '-')
			ok = false;
	if (ok && (strcmp(version, "head") == 0 || strcmp(version, "base") == 0))
		ok = false;
	if (!ok)
	{
		if (version == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not be NULL", what),
					 errhint("Give a version such as 3, 1.10 or 20251212_215117.")));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s \"%s\"", what, version),
				 errdetail("A version is 1 to %d letters, digits, '.', '_' or '-', starts with a letter or digit, and is not \"head\" or \"base\".",
						   STEWARD_VERSION_MAXLEN),
				 errhint("Give a version such as 3, 1.10 or 20251212_215117.")));
	}
}

/*
 * steward.version_key(text) RETURNS bytea — the sort key, for ORDER BY.
 */
Datum
steward_version_key(PG_FUNCTION_ARGS)
{
	PG_RETURN_BYTEA_P(steward_version_sort_key(text_to_cstring(PG_GETARG_TEXT_PP(0))));
}

/*
 * steward.version_cmp(a, b) RETURNS integer: -1, 0 or 1.
 */
Datum
steward_version_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(steward_version_compare(text_to_cstring(PG_GETARG_TEXT_PP(0)),
											text_to_cstring(PG_GETARG_TEXT_PP(1))));
}
