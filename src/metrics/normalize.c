/*-------------------------------------------------------------------------
 *
 * normalize.c
 *		The text a ring entry keeps of a statement: with steward.normalize_text
 *		its constants replaced by $n, as pg_stat_statements shows it, so that
 *		values a driver inlined (passwords, tokens, personal data) never
 *		reach shared memory.
 *
 * Two ways to find the constants:
 *
 * - The query jumble's constant locations, when query identifiers are
 *	 computed (compute_query_id = on, or auto with a module such as
 *	 pg_stat_statements asking for them).  The post_parse_analyze hook
 *	 normalizes the statement right away and stashes the result under its
 *	 query id and a hash of its text; recording the statement later (the
 *	 same parse, or an execution of the same prepared statement) finds it
 *	 there.  This is exactly what the parser considers a constant: LIMIT 10
 *	 becomes LIMIT $1, ORDER BY 1 and varchar(10) stay.
 * - Otherwise a small lexer: every string (also E'', B'', X'', U&'' and
 *	 dollar-quoted) and every number outside comments and quoted
 *	 identifiers.  Utility statements (query ids of PostgreSQL 15 do not
 *	 locate their constants), statements that fail before parse analysis
 *	 and statements executed without a stashed jumble use it.
 *
 * Both run without allocating or raising an error: recording a statement
 * calls them on the error path too.
 *
 *-------------------------------------------------------------------------
 */
#include "metrics_int.h"

#include "common/hashfn.h"
#include "mb/pg_wchar.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

/* character classes of the lexer */
#define CC_OTHER	0
#define CC_SPACE	1
#define CC_IDENT	2			/* starts an identifier: letter, _, high bit */
#define CC_DIGIT	3
#define CC_QUOTE	4			/* ' */
#define CC_DQUOTE	5			/* " */
#define CC_DOLLAR	6
#define CC_DASH		7
#define CC_SLASH	8
#define CC_DOT		9

static unsigned char cclass[256];

/*
 * The lexer's fast loop: bytes that may start a constant, a comment, a
 * quoted identifier or a parameter (special), and bytes a word is made of
 * (in_word: letters, digits, _, $, high bit).
 */
static bool special[256];
static bool in_word[256];

#define IS_DIGIT(c)		(cclass[(unsigned char) (c)] == CC_DIGIT)
#define IS_IDCHAR(c)	(cclass[(unsigned char) (c)] == CC_IDENT || IS_DIGIT(c))

/* where constants are, in a statement */
typedef struct ConstLoc
{
	int			loc;			/* offset in the statement */
	int			len;
	bool		squashed;		/* a list of constants (PostgreSQL 18) */
} ConstLoc;

/* the output: at most cap bytes, cut on a character boundary */
typedef struct TextOut
{
	char	   *dst;
	int			cap;
	int			n;
	bool		full;
} TextOut;

/* jumbled statements, normalized at parse analysis, by query id */
#define STASH_SIZE	16
typedef struct JumbleStash
{
	uint64		queryid;		/* 0: empty */
	uint64		hash;			/* of the statement's raw text */
	int			rawlen;
	int			normlen;
	char	   *norm;
} JumbleStash;

static JumbleStash stash[STASH_SIZE];

/*
 * Query ids of utility statements by a hash of their text: pg_stat_statements
 * clears a utility statement's query id before the ProcessUtility hooks it
 * calls see it (so that the executor does not count it twice), and the
 * rings need it to join pg_stat_statements.
 */
#define UTILITY_IDS	8
typedef struct UtilityId
{
	uint64		hash;
	uint64		queryid;
} UtilityId;

static UtilityId utility_ids[UTILITY_IDS];
static bool utility_ids_used = false;

/*
 * Fill the character classes once.
 */
static void
init_classes(void)
{
	int			c;

	for (c = 0; c < 256; c++)
	{
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80)
			cclass[c] = CC_IDENT;
		else if (c >= '0' && c <= '9')
			cclass[c] = CC_DIGIT;
		else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
			cclass[c] = CC_SPACE;
	}
	cclass['\''] = CC_QUOTE;
	cclass['"'] = CC_DQUOTE;
	cclass['$'] = CC_DOLLAR;
	cclass['-'] = CC_DASH;
	cclass['/'] = CC_SLASH;
	cclass['.'] = CC_DOT;
	for (c = 0; c < 256; c++)
	{
		special[c] = cclass[c] != CC_OTHER && cclass[c] != CC_SPACE && cclass[c] != CC_IDENT;
		in_word[c] = cclass[c] == CC_IDENT || cclass[c] == CC_DIGIT || c == '$';
	}
}

static inline void
out_raw(TextOut *o, const char *s, int n)
{
	if (o->full || n <= 0)
		return;
	if (n > o->cap - o->n)
	{
		n = pg_mbcliplen(s, n, o->cap - o->n);
		o->full = true;
	}
	memcpy(o->dst + o->n, s, n);
	o->n += n;
}

/*
 * Append "$num" (and pg_stat_statements' marker of a squashed list), or
 * stop the output when it does not fit whole.
 */
static inline void
out_param(TextOut *o, int num, bool squashed)
{
	char		buf[32];
	int			n;

	if (o->full)
		return;
	buf[0] = '$';
	if (num < 10)
	{
		buf[1] = '0' + num;
		n = 2;
	}
	else
		n = 1 + pg_ultoa_n((uint32) num, buf + 1);
	if (squashed)
	{
		memcpy(buf + n, " /*, ... */", 11);
		n += 11;
	}
	if (n > o->cap - o->n)
	{
		o->full = true;
		return;
	}
	memcpy(o->dst + o->n, buf, n);
	o->n += n;
}

/*
 * The end of a quoted string whose opening quote is at s[i], with the
 * strings that continue it (whitespace holding a newline, then another
 * quote).  An unterminated string runs to the end.
 */
static int
string_end(const char *s, int i, int end, bool backslash)
{
	for (;;)
	{
		int			j;
		bool		newline = false;

		for (i++; i < end; i++)
		{
			if (s[i] == '\\' && backslash)
				i++;
			else if (s[i] == '\'')
			{
				if (i + 1 < end && s[i + 1] == '\'')
					i++;
				else
					break;
			}
		}
		if (i >= end)
			return end;
		i++;
		for (j = i; j < end && cclass[(unsigned char) s[j]] == CC_SPACE; j++)
			newline |= (s[j] == '\n' || s[j] == '\r');
		if (!newline || j >= end || s[j] != '\'')
			return i;
		i = j;
	}
}

/*
 * The length of a dollar-quote delimiter ($$ or $tag$) at s[i], 0 when
 * there is none.
 */
static int
dollar_tag(const char *s, int i, int end)
{
	int			j = i + 1;

	if (j < end && cclass[(unsigned char) s[j]] == CC_IDENT)
		while (j < end && IS_IDCHAR(s[j]))
			j++;
	return (j < end && s[j] == '$') ? j - i + 1 : 0;
}

/*
 * The end of a dollar-quoted string whose delimiter (taglen bytes) is at
 * s[i]; an unterminated one runs to the end.
 */
static int
dollar_end(const char *s, int i, int end, int taglen)
{
	int			j;

	for (j = i + taglen; j + taglen <= end; j++)
		if (s[j] == '$' && memcmp(s + j, s + i, taglen) == 0)
			return j + taglen;
	return end;
}

/*
 * The end of a number at s[i]: decimal with fraction and exponent, or an
 * 0x/0o/0b integer, with the underscores PostgreSQL 16 allows.
 */
static int
number_end(const char *s, int i, int end)
{
	if (s[i] == '0' && i + 2 < end && strchr("xXoObB", s[i + 1]) != NULL &&
		IS_IDCHAR(s[i + 2]))
	{
		for (i += 2; i < end && IS_IDCHAR(s[i]); i++)
			;
		return i;
	}
	while (i < end && ((unsigned char) (s[i] - '0') < 10 || s[i] == '_'))
		i++;
	if (i < end && s[i] == '.' && !(i + 1 < end && s[i + 1] == '.'))
		for (i++; i < end && (IS_DIGIT(s[i]) || s[i] == '_'); i++)
			;
	if (i + 1 < end && (s[i] == 'e' || s[i] == 'E'))
	{
		int			j = i + 1;

		if (j + 1 < end && (s[j] == '+' || s[j] == '-'))
			j++;
		if (j < end && IS_DIGIT(s[j]))
			for (i = j; i < end && IS_DIGIT(s[i]); i++)
				;
	}
	return i;
}

/*
 * The end of a comment at s[i] (-- to the end of the line, or a nested
 * C-style one), i itself when there is none.
 */
static int
comment_end(const char *s, int i, int end)
{
	int			depth = 0;

	if (i + 1 >= end)
		return i;
	if (s[i] == '-' && s[i + 1] == '-')
	{
		while (i < end && s[i] != '\n')
			i++;
		return i;
	}
	if (s[i] != '/' || s[i + 1] != '*')
		return i;
	while (i + 1 < end)
	{
		if (s[i] == '/' && s[i + 1] == '*')
		{
			depth++;
			i += 2;
		}
		else if (s[i] == '*' && s[i + 1] == '/')
		{
			i += 2;
			if (--depth == 0)
				return i;
		}
		else
			i++;
	}
	return end;
}

/*
 * The end of an identifier or keyword at s[i], or of the string it
 * prefixes: E'', B'', X'', N'' and U&''.  *literal says which.
 */
static int
word_end(const char *s, int i, int end, bool *literal)
{
	int			j = i + 1;
	char		c = s[i];

	while (j < end && (IS_IDCHAR(s[j]) || s[j] == '$'))
		j++;
	*literal = false;
	if (j - i == 1 && j < end && s[j] == '\'' && strchr("EeBbXxNn", c) != NULL)
	{
		*literal = true;
		return string_end(s, j, end, c == 'E' || c == 'e' || !standard_conforming_strings);
	}
	if (j - i == 1 && (c == 'U' || c == 'u') && j + 1 < end && s[j] == '&' && s[j + 1] == '\'')
	{
		*literal = true;
		return string_end(s, j + 1, end, !standard_conforming_strings);
	}
	return j;
}

/*
 * The end of the token at s[i]; *literal tells whether it is a constant
 * the lexer replaces (strings and numbers; parameters, keywords, quoted
 * identifiers and comments are kept).
 */
static int
token_end(const char *s, int i, int end, bool *literal)
{
	int			j;

	*literal = false;
	switch (cclass[(unsigned char) s[i]])
	{
		case CC_SPACE:
			for (j = i + 1; j < end && cclass[(unsigned char) s[j]] == CC_SPACE; j++)
				;
			return j;
		case CC_IDENT:
			return word_end(s, i, end, literal);
		case CC_DIGIT:
			*literal = true;
			return number_end(s, i, end);
		case CC_DOT:
			*literal = i + 1 < end && IS_DIGIT(s[i + 1]);
			return *literal ? number_end(s, i, end) : i + 1;
		case CC_QUOTE:
			*literal = true;
			return string_end(s, i, end, !standard_conforming_strings);
		case CC_DQUOTE:
			for (j = i + 1; j < end; j++)
				if (s[j] == '"')
				{
					if (j + 1 >= end || s[j + 1] != '"')
						return j + 1;
					j++;
				}
			return end;
		case CC_DOLLAR:
			for (j = i + 1; j < end && IS_DIGIT(s[j]); j++)
				;
			if (j > i + 1)
				return j;		/* a parameter */
			j = dollar_tag(s, i, end);
			*literal = j > 0;
			return j > 0 ? dollar_end(s, i, end, j) : i + 1;
		case CC_DASH:
		case CC_SLASH:
			j = comment_end(s, i, end);
			return j > i ? j : i + 1;
		default:
			return i + 1;
	}
}

/*
 * The highest parameter number ($n) in a text, so that the constants
 * replaced are numbered after it, as pg_stat_statements numbers them.
 */
static int
highest_param(const char *s, int end)
{
	const char *p = s;
	int			max = 0;

	while ((p = memchr(p, '$', end - (p - s))) != NULL)
	{
		int			n = 0;

		for (p++; p < s + end && IS_DIGIT(*p) && n < 100000; p++)
			n = n * 10 + (*p - '0');
		max = Max(max, n);
	}
	return max;
}

/*
 * Whether none of 8 bytes may start a token the lexer looks at: all ASCII,
 * none in '"' .. '\'' (" $ ' and the rare # % &) or in '-' .. '9' (- . /
 * and digits).  Eight bytes are tested at once with two range checks (no
 * byte's sum carries into the next, as all are below 0x80).
 */
static inline bool
plain_chunk(const unsigned char *p)
{
	const uint64 ones = UINT64CONST(0x0101010101010101);
	const uint64 high = UINT64CONST(0x8080808080808080);
	uint64		w;

	memcpy(&w, p, sizeof(w));
	return ((w | ((w + ones * (0x80 - '"')) & ~(w + ones * (0x80 - '\'' - 1))) |
			 ((w + ones * (0x80 - '-')) & ~(w + ones * (0x80 - '9' - 1)))) & high) == 0;
}

/*
 * The first byte at or after u[i] that may start a token the lexer looks
 * at (special), or end: eight bytes at a time while they are plain.
 */
static inline int
skip_plain(const unsigned char *u, int i, int end)
{
	for (;;)
	{
		int			lim;

		while (i + 8 <= end && plain_chunk(u + i))
			i += 8;
		lim = Min(i + 8, end);
		while (i < lim && !special[u[i]])
			i++;
		if (i < lim || i >= end)
			return i;
	}
}

/*
 * The end of the plain integer at u[i] (digits, then neither a word
 * character nor a dot), the constant statements hold most; 0 when the
 * number at u[i] is another kind (a fraction, an exponent, 0x..., 1_000),
 * which number_end reads.
 */
static inline int
plain_integer_end(const unsigned char *u, int i, int end)
{
	for (i++; i < end && IS_DIGIT(u[i]); i++)
		;
	return (i >= end || (!in_word[u[i]] && u[i] != '.')) ? i : 0;
}

/*
 * Lexer mode: copy s[0 .. end) with every string and number replaced.
 * Recording every statement runs this, so a tight loop skips every byte
 * that cannot start a constant, a comment or a quoted identifier; at one
 * that can, the byte before it tells a digit or $ inside a word (t1, a$b)
 * from one that starts a token.
 */
static void
normalize_lexed(TextOut *o, const char *s, int end)
{
	const unsigned char *u = (const unsigned char *) s;
	int			param = -1;
	int			copied = 0;
	int			i = 0;

	while (!o->full)
	{
		int			start;
		int			end_int;
		bool		literal;

		i = skip_plain(u, i, end);
		if (i >= end)
			break;
		start = i;
		if (i > 0 && in_word[u[i - 1]] && (IS_DIGIT(s[i]) || s[i] == '$'))
		{
			while (i < end && in_word[u[i]])
				i++;
			continue;
		}
		/* a word of one letter may prefix a string: E'', B'', X'', N'' */
		if (s[i] == '\'' && i >= 1 && cclass[u[i - 1]] == CC_IDENT && (i < 2 || !in_word[u[i - 2]]))
			i = word_end(s, --start, end, &literal);
		else if (IS_DIGIT(s[i]) && (end_int = plain_integer_end(u, i, end)) > 0)
		{
			i = end_int;
			literal = true;
		}
		else
			i = token_end(s, i, end, &literal);
		if (!literal)
			continue;
		if (param < 0)
			param = highest_param(s, end);
		out_raw(o, s + copied, start - copied);
		out_param(o, ++param, false);
		copied = i;
	}
	out_raw(o, s + copied, end - copied);
}

/*
 * Jumble mode: copy s[0 .. end) with the constants at locs[] (sorted, no
 * two the same) replaced, numbered after the query's highest parameter.
 */
static void
normalize_located(TextOut *o, const char *s, int end, const ConstLoc *locs, int nlocs,
				  int param)
{
	int			copied = 0;
	int			k;

	for (k = 0; k < nlocs && !o->full; k++)
	{
		out_raw(o, s + copied, locs[k].loc - copied);
		out_param(o, ++param, locs[k].squashed);
		copied = locs[k].loc + locs[k].len;
	}
	out_raw(o, s + copied, end - copied);
}

/*
 * The bounds of one statement in a source text: from location, len bytes
 * (0: to the end), without surrounding whitespace and final semicolons.
 * The location comes from the parser and lies inside the text.
 */
static const char *
statement_bounds(const char *text, int location, int len, int *stmtlen)
{
	int			n;

	if (text == NULL)
		text = "";
	text	  +=Max(location, 0);

	n = len > 0 ? len : (int) strlen(text);
	while (n > 0 && cclass[(unsigned char) *text] == CC_SPACE)
		text	  ++,
					n--;

	while (n > 0 && (cclass[(unsigned char) text[n - 1]] == CC_SPACE || text[n - 1] == ';'))
		n--;
	*stmtlen = n;
	return text;
}

/*
 * Write the text of a statement (one statement of a source text, from
 * location for len bytes) into dst: at most cap bytes and a NUL, cut on a
 * character boundary, normalized when steward.normalize_text is on.
 * Returns the bytes written.
 */
int
steward_statement_text(char *dst, int cap, const char *text, int location, int len,
					   uint64 queryid)
{
	TextOut		o = {dst, cap, 0, false};
	int			n;
	const char *s = statement_bounds(text, location, len, &n);

	if (!steward_normalize_text)
		out_raw(&o, s, n);
	else
	{
		JumbleStash *st = &stash[queryid % STASH_SIZE];

		if (queryid != 0 && st->queryid == queryid && st->rawlen == n &&
			st->hash == hash_bytes_extended((const unsigned char *) s, n, 0))
			out_raw(&o, st->norm, st->normlen);
		else
			normalize_lexed(&o, s, n);
	}
	dst[o.n] = '\0';
	return o.n;
}

static int
compare_loc(const void *a, const void *b)
{
	const ConstLoc *x = a;
	const ConstLoc *y = b;

	return (x->loc > y->loc) - (x->loc < y->loc);
}

/*
 * The length of the constant the parser located at s[loc]: a string, a
 * number (with the minus sign and blanks before it of a negative one), a
 * parameter of a squashed list, or a keyword (TRUE, FALSE, NULL); 0 when
 * no constant can start there.
 */
static int
constant_len(const char *s, int loc, int n)
{
	bool		literal;
	int			e = loc;

	if (s[e] == '-')
		for (e++; e < n && cclass[(unsigned char) s[e]] == CC_SPACE; e++)
			;
	if (e >= n)
		return 0;
	switch (cclass[(unsigned char) s[e]])
	{
		case CC_IDENT:
		case CC_DIGIT:
		case CC_DOT:
		case CC_QUOTE:
		case CC_DOLLAR:
			return token_end(s, e, n, &literal) - loc;
		default:
			return 0;
	}
}

/*
 * The constants of a jumble inside the statement s[0 .. n) (offset start
 * in the source text), sorted, duplicates removed, with their lengths;
 * -1 when one is not where a constant can start (then the lexer is used).
 */
static int
jumble_locations(const struct JumbleState *js, int start, const char *s, int n, ConstLoc *locs)
{
	int			nlocs = 0;
	int			i;

	for (i = 0; i < js->clocations_count; i++)
	{
		int			loc = js->clocations[i].location - start;

		if (steward_jumble_loc_skipped(js, i) || loc < 0 || loc >= n)
			continue;
		locs[nlocs].loc = loc;
		locs[nlocs].squashed = steward_jumble_loc_squashed(js, i);
		locs[nlocs].len = locs[nlocs].squashed ? js->clocations[i].length : 0;
		nlocs++;
	}
	if (nlocs > 1)
		qsort(locs, nlocs, sizeof(ConstLoc), compare_loc);
	for (i = 0; i < nlocs; i++)
	{
		if (i > 0 && locs[i].loc < locs[i - 1].loc + locs[i - 1].len)
		{
			/* the same constant twice, or one inside a squashed list */
			memmove(&locs[i], &locs[i + 1], sizeof(ConstLoc) * (nlocs - i - 1));
			nlocs--;
			i--;
			continue;
		}
		if (!locs[i].squashed && (locs[i].len = constant_len(s, locs[i].loc, n)) <= 0)
			return -1;
		if (locs[i].loc + locs[i].len > n)
			return -1;
	}
	return nlocs;
}

/*
 * post_parse_analyze: normalize a jumbled statement with its constant
 * locations and stash the result under its query id and text, where
 * steward_statement_text finds it when the statement is recorded.
 */
void
steward_stash_jumble(const char *text, int location, int len, uint64 queryid,
					 const struct JumbleState *jstate)
{
	JumbleStash *st = &stash[queryid % STASH_SIZE];
	int			n;
	const char *s = statement_bounds(text, location, len, &n);
	ConstLoc   *locs;
	int			nlocs;
	TextOut		o;

	st->queryid = 0;
	if (st->norm == NULL)
		st->norm = MemoryContextAlloc(TopMemoryContext, steward_metrics->query_len + 1);
	locs = palloc(sizeof(ConstLoc) * (jstate->clocations_count + 1));
	nlocs = jumble_locations(jstate, s - text, s, n, locs);
	if (nlocs >= 0)
	{
		o.dst = st->norm;
		o.cap = steward_metrics->query_len;
		o.n = 0;
		o.full = false;
		normalize_located(&o, s, n, locs, nlocs, jstate->highest_extern_param_id);
		st->norm[o.n] = '\0';
		st->normlen = o.n;
		st->rawlen = n;
		st->hash = hash_bytes_extended((const unsigned char *) s, n, 0);
		st->queryid = queryid;
	}
	pfree(locs);
}

/*
 * post_parse_analyze of a utility statement: remember its query id.
 */
void
steward_stash_utility_id(const char *text, int location, int len, uint64 queryid)
{
	int			n;
	const char *s = statement_bounds(text, location, len, &n);
	uint64		h = hash_bytes_extended((const unsigned char *) s, n, 0);

	utility_ids[h % UTILITY_IDS].hash = h;
	utility_ids[h % UTILITY_IDS].queryid = queryid;
	utility_ids_used = true;
}

/*
 * The query id parse analysis gave a utility statement, 0 when unknown.
 */
uint64
steward_utility_id(const char *text, int location, int len)
{
	int			n;
	const char *s;
	uint64		h;

	if (!utility_ids_used)
		return 0;
	s = statement_bounds(text, location, len, &n);
	h = hash_bytes_extended((const unsigned char *) s, n, 0);
	return utility_ids[h % UTILITY_IDS].hash == h ? utility_ids[h % UTILITY_IDS].queryid : 0;
}

/*
 * Set up the lexer's tables (at library load).
 */
void
steward_normalize_init(void)
{
	init_classes();
}
