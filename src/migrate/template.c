/*-------------------------------------------------------------------------
 *
 * template.c
 *		Expansion of module templates in migration scripts:
 *		  {{schema}}       -> the module's schema, quoted as an identifier
 *		  {{tables.name}}  -> schema-qualified table name, both parts quoted
 *		Blanks inside the braces are allowed ({{ tables.users }}).  Anything
 *		else between double braces is left alone: '{{1,2},{3,4}}' is a valid
 *		two-dimensional array literal and must survive.
 *
 *-------------------------------------------------------------------------
 */
#include "template.h"

#include "lib/stringinfo.h"
#include "utils/builtins.h"

/*
 * If text at p starts a known template, append its expansion to out and
 * return the number of bytes consumed; otherwise return 0.
 */
static size_t
expand_one(const char *p, const char *schema, StringInfo out)
{
	const char *q = p + 2;
	const char *end;
	const char *word;
	size_t		wlen;

	while (*q == ' ' || *q == '\t')
		q++;
	word = q;
	end = strstr(q, "}}");
	if (end == NULL || end - q > NAMEDATALEN + 16)
		return 0;
	wlen = end - word;
	while (wlen > 0 && (word[wlen - 1] == ' ' || word[wlen - 1] == '\t'))
		wlen--;

	if (wlen == 6 && strncmp(word, "schema", 6) == 0)
	{
		appendStringInfoString(out, quote_identifier(schema));
		return end + 2 - p;
	}
	if (wlen > 7 && strncmp(word, "tables.", 7) == 0)
	{
		char	   *table = pnstrdup(word + 7, wlen - 7);
		const char *c;

		for (c = table; *c; c++)
			if (*c == ' ' || *c == '\t' || *c == '\n' || *c == '{' || *c == '}' ||
				*c == '.' || *c == '"')
				return 0;
		appendStringInfoString(out, quote_identifier(schema));
		appendStringInfoChar(out, '.');
		appendStringInfoString(out, quote_identifier(table));
		pfree(table);
		return end + 2 - p;
	}
	return 0;
}

/*
 * Return a palloc'd copy of script with every known template expanded.
 */
char *
steward_expand_templates(const char *script, const char *schema)
{
	StringInfoData out;
	const char *p = script;

	if (strstr(script, "{{") == NULL)
		return pstrdup(script);

	initStringInfo(&out);
	while (*p)
	{
		size_t		used;

		if (p[0] == '{' && p[1] == '{' && (used = expand_one(p, schema, &out)) > 0)
		{
			p += used;
			continue;
		}
		appendStringInfoChar(&out, *p++);
	}
	return out.data;
}
