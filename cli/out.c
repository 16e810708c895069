/*-------------------------------------------------------------------------
 *
 * out.c
 *		Messages, string buffers, JSON strings, aligned tables, UTF-8.
 *
 * Errors are one line on stderr, "pg_steward: error: ...", and end the
 * program with one of the documented exit statuses.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_steward.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void *
xmalloc(size_t n)
{
	void	   *p = malloc(n ? n : 1);

	if (p == NULL)
	{
		fprintf(stderr, "%s: error: out of memory\n", PROGRAM_NAME);
		exit(EXIT_FAILED);
	}
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
	{
		fprintf(stderr, "%s: error: out of memory\n", PROGRAM_NAME);
		exit(EXIT_FAILED);
	}
	return p;
}

char *
xstrdup(const char *s)
{
	size_t		n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

char *
xasprintf(const char *fmt,...)
{
	va_list		ap;
	StrBuf		sb;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	sb_init(&sb);
	sb.data = xrealloc(sb.data, n + 1);
	va_start(ap, fmt);
	vsnprintf(sb.data, n + 1, fmt, ap);
	va_end(ap);
	return sb.data;
}

/* ---------- string buffers ---------- */

void
sb_init(StrBuf *sb)
{
	sb->cap = 256;
	sb->len = 0;
	sb->data = xmalloc(sb->cap);
	sb->data[0] = '\0';
}

void
sb_putn(StrBuf *sb, const char *s, size_t n)
{
	if (sb->len + n + 1 > sb->cap)
	{
		while (sb->len + n + 1 > sb->cap)
			sb->cap *= 2;
		sb->data = xrealloc(sb->data, sb->cap);
	}
	memcpy(sb->data + sb->len, s, n);
	sb->len += n;
	sb->data[sb->len] = '\0';
}

void
sb_puts(StrBuf *sb, const char *s)
{
	sb_putn(sb, s, strlen(s));
}

void
sb_printf(StrBuf *sb, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (sb->len + n + 1 > sb->cap)
	{
		while (sb->len + n + 1 > sb->cap)
			sb->cap *= 2;
		sb->data = xrealloc(sb->data, sb->cap);
	}
	va_start(ap, fmt);
	vsnprintf(sb->data + sb->len, n + 1, fmt, ap);
	va_end(ap);
	sb->len += n;
}

/*
 * Append s as a JSON string (null for NULL).  s is valid UTF-8: every
 * script was checked when it was read, and the server sends UTF-8.
 */
void
sb_json_string(StrBuf *sb, const char *s)
{
	const unsigned char *p;

	if (s == NULL)
	{
		sb_puts(sb, "null");
		return;
	}
	sb_putn(sb, "\"", 1);
	for (p = (const unsigned char *) s; *p; p++)
	{
		switch (*p)
		{
			case '"':
				sb_puts(sb, "\\\"");
				break;
			case '\\':
				sb_puts(sb, "\\\\");
				break;
			case '\n':
				sb_puts(sb, "\\n");
				break;
			case '\r':
				sb_puts(sb, "\\r");
				break;
			case '\t':
				sb_puts(sb, "\\t");
				break;
			default:
				if (*p < 0x20)
					sb_printf(sb, "\\u%04x", *p);
				else
					sb_putn(sb, (const char *) p, 1);
		}
	}
	sb_putn(sb, "\"", 1);
}

void
sb_free(StrBuf *sb)
{
	free(sb->data);
	sb->data = NULL;
	sb->len = sb->cap = 0;
}

/* ---------- messages ---------- */

void
error_exit(int status, const char *fmt,...)
{
	va_list		ap;

	fflush(stdout);
	fprintf(stderr, "%s: error: ", PROGRAM_NAME);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

void
warning(const char *fmt,...)
{
	va_list		ap;

	fflush(stdout);
	fprintf(stderr, "%s: warning: ", PROGRAM_NAME);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
hint(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "hint: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---------- UTF-8 ---------- */

/*
 * Is s[0..len) valid UTF-8 (no overlong forms, surrogates or code points
 * above U+10FFFF) without NUL bytes?  On failure *bad_offset is the offset
 * of the first bad byte.
 */
bool
utf8_valid(const char *s, size_t len, size_t *bad_offset)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		i = 0;

	while (i < len)
	{
		unsigned char c = p[i];
		int			n;
		unsigned int cp;
		int			k;

		if (c == 0)
			goto bad;
		if (c < 0x80)
		{
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			n = 1, cp = c & 0x1F;
		else if (c >= 0xE0 && c <= 0xEF)
			n = 2, cp = c & 0x0F;
		else if (c >= 0xF0 && c <= 0xF4)
			n = 3, cp = c & 0x07;
		else
			goto bad;
		for (k = 1; k <= n; k++)
		{
			if (i + k >= len || (p[i + k] & 0xC0) != 0x80)
				goto bad;
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
			cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			goto bad;
		i += n + 1;
	}
	return true;
bad:
	*bad_offset = i;
	return false;
}

/* Display width of a UTF-8 string: its code points (no East Asian widths). */
int
utf8_width(const char *s)
{
	int			w = 0;

	for (; *s; s++)
		if (((unsigned char) *s & 0xC0) != 0x80)
			w++;
	return w;
}

double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* ---------- tables ---------- */

void
table_init(Table *t, int ncols, const char **headers)
{
	t->ncols = ncols;
	t->headers = headers;
	t->nrows = 0;
	t->caprows = 16;
	t->cells = xmalloc(sizeof(char *) * ncols * t->caprows);
}

void
table_add(Table *t, const char *const *row)
{
	int			i;

	if (t->nrows == t->caprows)
	{
		t->caprows *= 2;
		t->cells = xrealloc(t->cells, sizeof(char *) * t->ncols * t->caprows);
	}
	for (i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = row[i] ? xstrdup(row[i]) : NULL;
	t->nrows++;
}

static void
print_cell(const char *s, int width, bool last)
{
	int			pad = width - utf8_width(s);

	fputs(s, stdout);
	if (!last)
		printf("%*s | ", pad > 0 ? pad : 0, "");
}

/*
 * Print like psql's aligned format: a header, a rule, the rows, and
 * "(N rows)".  Multi-line cells are cut at their first line.
 */
void
table_print(Table *t)
{
	int		   *w = xmalloc(sizeof(int) * t->ncols);
	int			r,
				c;

	for (c = 0; c < t->ncols; c++)
	{
		w[c] = utf8_width(t->headers[c]);
		for (r = 0; r < t->nrows; r++)
		{
			char	   *s = t->cells[r * t->ncols + c];
			char	   *nl;

			if (s == NULL)
				continue;
			if ((nl = strchr(s, '\n')) != NULL)
				*nl = '\0';
			if (utf8_width(s) > w[c])
				w[c] = utf8_width(s);
		}
	}
	for (c = 0; c < t->ncols; c++)
		print_cell(t->headers[c], w[c], c == t->ncols - 1);
	putchar('\n');
	for (c = 0; c < t->ncols; c++)
	{
		for (r = 0; r < w[c]; r++)
			putchar('-');
		if (c < t->ncols - 1)
			fputs("-+-", stdout);
	}
	putchar('\n');
	for (r = 0; r < t->nrows; r++)
	{
		for (c = 0; c < t->ncols; c++)
		{
			const char *s = t->cells[r * t->ncols + c];

			print_cell(s ? s : "", w[c], c == t->ncols - 1);
		}
		putchar('\n');
	}
	printf("(%d row%s)\n", t->nrows, t->nrows == 1 ? "" : "s");
	free(w);
}

void
table_free(Table *t)
{
	int			i;

	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
}
