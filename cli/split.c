/*-------------------------------------------------------------------------
 *
 * split.c
 *		Cut a script into its top-level statements.
 *
 * Only a no-transaction step is split: PostgreSQL runs CREATE INDEX
 * CONCURRENTLY and its kind only as a statement of its own, outside any
 * transaction block, so the program sends such a step's statements one at
 * a time.  Every other script goes to the server whole.
 *
 * A ';' ends a statement unless it is inside a string ('...', E'...' with
 * backslash escapes, "identifier", $tag$...$tag$), a comment (-- to the
 * end of the line, nested block comments), parentheses (CREATE RULE ...
 * (a; b)) or the BEGIN ATOMIC ... END body of a SQL-standard function,
 * as psql decides.  Statements that are only blanks and comments are
 * dropped.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_steward.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool
ident_char(char c)
{
	return isalnum((unsigned char) c) || c == '_' || c == '$' || (unsigned char) c >= 0x80;
}

static bool
ident_start(char c)
{
	return isalpha((unsigned char) c) || c == '_' || (unsigned char) c >= 0x80;
}

/*
 * If s[i] starts a dollar quote, return the length of its opening tag
 * ($$ or $tag$), else 0.
 */
static size_t
dollar_tag(const char *s, size_t i)
{
	size_t		j = i + 1;

	if (s[i] != '$' || (i > 0 && ident_char(s[i - 1])))
		return 0;
	if (s[j] == '$')
		return 2;
	if (!ident_start(s[j]))
		return 0;
	while (s[j] && ident_char(s[j]) && s[j] != '$')
		j++;
	return s[j] == '$' ? j - i + 1 : 0;
}

/* Does the word at s[i] (case-insensitively, whole word) equal w? */
static bool
word_at(const char *s, size_t i, const char *w)
{
	size_t		n = strlen(w);

	return (i == 0 || !ident_char(s[i - 1])) && strncasecmp(s + i, w, n) == 0 &&
		!ident_char(s[i + n]);
}

static void
add_statement(Statement **out, int *n, int *cap, const char *s, size_t start, size_t end,
			  int line)
{
	while (end > start && isspace((unsigned char) s[end - 1]))
		end--;
	if (end <= start)
		return;
	if (*n == *cap)
	{
		*cap = *cap ? *cap * 2 : 8;
		*out = xrealloc(*out, sizeof(Statement) * *cap);
	}
	(*out)[*n].sql = xmalloc(end - start + 1);
	memcpy((*out)[*n].sql, s + start, end - start);
	(*out)[*n].sql[end - start] = '\0';
	(*out)[*n].line = line;
	(*n)++;
}

/*
 * Split sql into statements; returns their number and sets *out (each
 * without its ';', with the line it starts on).  An unterminated string,
 * identifier, dollar quote or comment simply runs to the end: the server
 * reports the syntax error when the statement is sent.
 */
int
split_statements(const char *s, Statement **out)
{
	size_t		i = 0;
	size_t		start = 0;		/* start of the current statement's text */
	bool		started = false;	/* has it a token yet */
	int			line = 1;
	int			start_line = 1;
	int			parens = 0;
	int			atomic = 0;		/* depth inside BEGIN ATOMIC ... END */
	bool		routine = false;	/* statement is CREATE [OR REPLACE]
									 * FUNCTION/PROCEDURE */
	int			words = 0;		/* words seen in the statement (up to 4) */
	int			n = 0;
	int			cap = 0;

	*out = NULL;
	while (s[i])
	{
		char		c = s[i];
		size_t		tag;

		if (c == '\n')
		{
			line++;
			i++;
			continue;
		}
		if (isspace((unsigned char) c))
		{
			i++;
			continue;
		}
		if (c == '-' && s[i + 1] == '-')
		{
			while (s[i] && s[i] != '\n')
				i++;
			continue;
		}
		if (c == '/' && s[i + 1] == '*')
		{
			int			depth = 1;

			i += 2;
			while (s[i] && depth > 0)
			{
				if (s[i] == '/' && s[i + 1] == '*')
					depth++, i += 2;
				else if (s[i] == '*' && s[i + 1] == '/')
					depth--, i += 2;
				else
				{
					if (s[i] == '\n')
						line++;
					i++;
				}
			}
			continue;
		}
		if (!started)
		{
			started = true;
			start = i;
			start_line = line;
		}
		if (c == ';' && parens == 0 && atomic == 0)
		{
			add_statement(out, &n, &cap, s, start, i, start_line);
			started = false;
			routine = false;
			words = 0;
			i++;
			continue;
		}
		if (c == '\'')
		{
			bool		escapes = i > 0 && (s[i - 1] == 'E' || s[i - 1] == 'e') &&
				(i < 2 || !ident_char(s[i - 2]));

			i++;
			while (s[i])
			{
				if (s[i] == '\n')
					line++;
				if (escapes && s[i] == '\\' && s[i + 1])
				{
					if (s[i + 1] == '\n')
						line++;
					i += 2;
					continue;
				}
				if (s[i] == '\'')
				{
					if (s[i + 1] == '\'')
					{
						i += 2;
						continue;
					}
					break;
				}
				i++;
			}
			if (s[i])
				i++;
			continue;
		}
		if (c == '"')
		{
			i++;
			while (s[i] && !(s[i] == '"' && s[i + 1] != '"'))
			{
				if (s[i] == '"')
					i++;
				else if (s[i] == '\n')
					line++;
				i++;
			}
			if (s[i])
				i++;
			continue;
		}
		if ((tag = dollar_tag(s, i)) > 0)
		{
			const char *open = s + i;
			const char *close;

			i += tag;
			close = s + i;
			while ((close = strchr(close, '$')) != NULL && strncmp(close, open, tag) != 0)
				close++;
			if (close == NULL)
				close = s + strlen(s);
			for (; s + i < close; i++)
				if (s[i] == '\n')
					line++;
			if (s[i])
				i += tag;
			continue;
		}
		if (c == '(')
			parens++;
		else if (c == ')' && parens > 0)
			parens--;
		if (ident_start(c))
		{
			size_t		j = i;

			if (words < 4)
			{
				/* CREATE [OR REPLACE] FUNCTION|PROCEDURE */
				if (words == 0 && !word_at(s, i, "create"))
					words = 4;
				else if (words > 0 && (word_at(s, i, "function") || word_at(s, i, "procedure")))
					routine = true, words = 4;
				else if (words > 0 && !word_at(s, i, "or") && !word_at(s, i, "replace"))
					words = 4;
				else
					words++;
			}
			if (routine && word_at(s, i, "begin"))
			{
				size_t		k = i + 5;

				while (s[k] && isspace((unsigned char) s[k]))
					k++;
				if (atomic > 0 || word_at(s, k, "atomic"))
					atomic++;
			}
			else if (atomic > 0 && word_at(s, i, "case"))
				atomic++;
			else if (atomic > 0 && word_at(s, i, "end"))
				atomic--;
			while (s[j] && ident_char(s[j]))
				j++;
			i = j;
			continue;
		}
		i++;
	}
	if (started)
		add_statement(out, &n, &cap, s, start, i, start_line);
	return n;
}
