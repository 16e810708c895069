/*-------------------------------------------------------------------------
 *
 * dir.c
 *		Read a migration directory.
 *
 * Two styles, detected per directory (a mix is an error):
 *
 *	Flyway		V<ver>__<desc>.sql	versioned (underscores in <ver> read as
 *									dots, as Flyway does: V1_1 is 1.1)
 *				U<ver>__<desc>.sql	its undo (down) script
 *				R__<desc>.sql		repeatable, identified by <desc>
 *	numbered	<ver>_<desc>.sql	versioned (also <ver>_<desc>.up.sql)
 *				<ver>_<desc>.down.sql its down script
 *
 * <desc> has its underscores read as blanks.  Files not ending in .sql,
 * hidden files and subdirectories are ignored; a .sql file that fits no
 * style is an error.  Every script must be readable, non-empty UTF-8.
 * Leading comment lines may say
 *
 *	-- steward:no-transaction			(first line: run outside a transaction)
 *	-- steward:requires core:3 auth:1	(other modules' versions needed first)
 *
 * Everything that is wrong is found before anything is sent to a server.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_steward.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NO_TRANSACTION_MARK "-- steward:no-transaction"
#define REQUIRES_MARK "-- steward:requires"
#define MAX_VERSION_LEN 100

typedef enum FileRole
{
	ROLE_UP,
	ROLE_DOWN,
	ROLE_REPEATABLE
} FileRole;

typedef struct DirFile
{
	char	   *name;
	DirStyle	style;			/* STYLE_NONE: fits no style */
	FileRole	role;
	char	   *version;		/* NULL for repeatables */
	char	   *description;
} DirFile;

const char *
style_name(DirStyle style)
{
	switch (style)
	{
		case STYLE_FLYWAY:
			return "flyway";
		case STYLE_NUMBERED:
			return "numbered";
		default:
			return "none";
	}
}

/*
 * Natural version order, as the server's: digit runs compare as numbers
 * (2 < 10, 1.9 < 1.10), everything else bytewise.
 */
int
version_compare(const char *a, const char *b)
{
	while (*a && *b)
	{
		if (isdigit((unsigned char) *a) && isdigit((unsigned char) *b))
		{
			const char *ea,
					   *eb;
			size_t		la,
						lb;
			int			c;

			while (*a == '0' && isdigit((unsigned char) a[1]))
				a++;
			while (*b == '0' && isdigit((unsigned char) b[1]))
				b++;
			for (ea = a; isdigit((unsigned char) *ea); ea++);
			for (eb = b; isdigit((unsigned char) *eb); eb++);
			la = ea - a;
			lb = eb - b;
			if (la != lb)
				return la < lb ? -1 : 1;
			if ((c = strncmp(a, b, la)) != 0)
				return c < 0 ? -1 : 1;
			a = ea;
			b = eb;
			continue;
		}
		if (*a != *b)
			return (unsigned char) *a < (unsigned char) *b ? -1 : 1;
		a++;
		b++;
	}
	return *a ? 1 : (*b ? -1 : 0);
}

/* "create_users" -> "create users" */
static char *
description_of(const char *s, size_t n)
{
	char	   *d = xmalloc(n + 1);
	size_t		i;

	for (i = 0; i < n; i++)
		d[i] = s[i] == '_' ? ' ' : s[i];
	d[n] = '\0';
	return d;
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t		ls = strlen(s),
				lx = strlen(suffix);

	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/*
 * Length of a version at s: digit runs separated by single separators
 * from seps ("._" for Flyway, "." for numbered); 0 if there is none.
 */
static size_t
version_len(const char *s, const char *seps)
{
	size_t		i = 0;

	if (!isdigit((unsigned char) s[0]))
		return 0;
	for (;;)
	{
		while (isdigit((unsigned char) s[i]))
			i++;
		if (s[i] && strchr(seps, s[i]) && isdigit((unsigned char) s[i + 1]))
			i++;
		else
			return i;
	}
}

/* Classify one file name; f->style stays STYLE_NONE when it fits none. */
static void
classify(DirFile *f)
{
	const char *n = f->name;
	size_t		len = strlen(n) - 4;	/* without .sql */
	size_t		vl;

	f->style = STYLE_NONE;
	if ((n[0] == 'V' || n[0] == 'U') && (vl = version_len(n + 1, "._")) > 0 &&
		strncmp(n + 1 + vl, "__", 2) == 0 && 1 + vl + 2 < len)
	{
		size_t		i;

		f->style = STYLE_FLYWAY;
		f->role = n[0] == 'V' ? ROLE_UP : ROLE_DOWN;
		f->version = xmalloc(vl + 1);
		for (i = 0; i < vl; i++)
			f->version[i] = n[1 + i] == '_' ? '.' : n[1 + i];
		f->version[vl] = '\0';
		f->description = description_of(n + 1 + vl + 2, len - (1 + vl + 2));
	}
	else if (strncmp(n, "R__", 3) == 0 && len > 3)
	{
		f->style = STYLE_FLYWAY;
		f->role = ROLE_REPEATABLE;
		f->version = NULL;
		f->description = description_of(n + 3, len - 3);
	}
	else if ((vl = version_len(n, ".")) > 0 && n[vl] == '_' && vl + 1 < len)
	{
		size_t		dend = len;

		f->style = STYLE_NUMBERED;
		f->role = ROLE_UP;
		if (ends_with(n, ".down.sql"))
			f->role = ROLE_DOWN, dend = len - 5;
		else if (ends_with(n, ".up.sql"))
			dend = len - 3;
		if (dend <= vl + 1)
		{
			f->style = STYLE_NONE;
			return;
		}
		f->version = xmalloc(vl + 1);
		memcpy(f->version, n, vl);
		f->version[vl] = '\0';
		f->description = description_of(n + vl + 1, dend - (vl + 1));
	}
}

/*
 * Read a script: readable, UTF-8 without NUL bytes, not empty.  A UTF-8
 * byte order mark is dropped.
 */
static char *
read_script(const char *dir, const char *name)
{
	char	   *path = xasprintf("%s/%s", dir, name);
	FILE	   *fp = fopen(path, "rb");
	StrBuf		sb;
	char		buf[65536];
	size_t		n;
	size_t		bad;
	char	   *p;

	if (fp == NULL)
		error_exit(EXIT_INPUT, "%s: cannot read: %s", path, strerror(errno));
	sb_init(&sb);
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		sb_putn(&sb, buf, n);
	if (ferror(fp))
		error_exit(EXIT_INPUT, "%s: cannot read: %s", path, strerror(errno));
	fclose(fp);
	if (!utf8_valid(sb.data, sb.len, &bad))
	{
		int			line = 1;
		size_t		i;

		for (i = 0; i < bad; i++)
			if (sb.data[i] == '\n')
				line++;
		if (sb.data[bad] == '\0')
			error_exit(EXIT_INPUT, "%s: line %d: contains a NUL byte", path, line);
		error_exit(EXIT_INPUT, "%s: line %d: not valid UTF-8 (byte 0x%02x at offset %zu)",
				   path, line, (unsigned char) sb.data[bad], bad);
	}
	p = sb.data;
	if (strncmp(p, "\xEF\xBB\xBF", 3) == 0)
		memmove(p, p + 3, sb.len - 2);
	if (p[strspn(p, " \t\r\n")] == '\0')
		error_exit(EXIT_INPUT, "%s: the script is empty", path);
	free(path);
	return p;
}

/* Does the script's first line say it runs outside a transaction? */
bool
script_no_transaction(const char *sql)
{
	size_t		n = strlen(NO_TRANSACTION_MARK);
	const char *rest = sql + n;

	if (strncmp(sql, NO_TRANSACTION_MARK, n) != 0)
		return false;
	while (*rest == ' ' || *rest == '\t' || *rest == '\r')
		rest++;
	return *rest == '\n' || *rest == '\0';
}

/*
 * The -- steward:requires lines of the leading comment block:
 * module:version entries separated by blanks or commas.
 */
static void
parse_requires(Script *s, const char *dir)
{
	const char *p = s->up_sql;

	s->requires = NULL;
	s->nrequires = 0;
	for (;;)
	{
		const char *eol;

		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (strncmp(p, "--", 2) != 0)
			return;
		eol = strchr(p, '\n');
		if (eol == NULL)
			eol = p + strlen(p);
		if (strncmp(p, REQUIRES_MARK, strlen(REQUIRES_MARK)) == 0)
		{
			const char *q = p + strlen(REQUIRES_MARK);

			while (q < eol)
			{
				const char *e;

				while (q < eol && (*q == ' ' || *q == '\t' || *q == ',' || *q == '\r'))
					q++;
				for (e = q; e < eol && *e != ' ' && *e != '\t' && *e != ',' && *e != '\r'; e++);
				if (e > q)
				{
					char	   *req = xmalloc(e - q + 1);
					char	   *colon;

					memcpy(req, q, e - q);
					req[e - q] = '\0';
					colon = strrchr(req, ':');
					if (colon == NULL || colon == req || colon[1] == '\0')
						error_exit(EXIT_INPUT, "%s/%s: steward:requires entry \"%s\" is not module:version",
								   dir, s->up_file, req);
					s->requires = xrealloc(s->requires, sizeof(char *) * (s->nrequires + 1));
					s->requires[s->nrequires++] = req;
				}
				q = e;
			}
		}
		p = eol;
	}
}

/* List files (comma separated, at most 10) for an error message. */
static char *
file_list(DirFile *files, int nfiles, DirStyle style)
{
	StrBuf		sb;
	int			i,
				shown = 0,
				total = 0;

	sb_init(&sb);
	for (i = 0; i < nfiles; i++)
	{
		if (files[i].style != style)
			continue;
		total++;
		if (shown < 10)
			sb_printf(&sb, "%s%s", shown++ ? ", " : "", files[i].name);
	}
	if (total > shown)
		sb_printf(&sb, " and %d more", total - shown);
	return sb.data;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(((const DirFile *) a)->name, ((const DirFile *) b)->name);
}

static int
cmp_scripts(const void *a, const void *b)
{
	const Script *x = a,
			   *y = b;

	if (x->kind != y->kind)
		return x->kind == KIND_VERSIONED ? -1 : 1;
	if (x->kind == KIND_REPEATABLE)
		return strcmp(x->description, y->description);
	return version_compare(x->version, y->version);
}

static Script *
find_script(MigrationDir *md, const DirFile *f)
{
	int			i;

	for (i = 0; i < md->nscripts; i++)
	{
		Script	   *s = &md->scripts[i];

		if (f->role == ROLE_REPEATABLE ?
			(s->kind == KIND_REPEATABLE && strcmp(s->description, f->description) == 0) :
			(s->kind == KIND_VERSIONED && version_compare(s->version, f->version) == 0))
			return s;
	}
	return NULL;
}

/* Gather the directory's .sql files (sorted by name) and classify them. */
static DirFile *
list_files(const char *path, int *nfiles)
{
	DIR		   *d = opendir(path);
	struct dirent *de;
	DirFile    *files = NULL;
	int			n = 0;

	if (d == NULL)
		error_exit(EXIT_INPUT, "%s: cannot open the migration directory: %s", path, strerror(errno));
	while ((errno = 0, de = readdir(d)) != NULL)
	{
		struct stat st;
		char	   *full;

		if (de->d_name[0] == '.' || !ends_with(de->d_name, ".sql"))
			continue;
		full = xasprintf("%s/%s", path, de->d_name);
		if (stat(full, &st) != 0)
			error_exit(EXIT_INPUT, "%s: cannot read: %s", full, strerror(errno));
		free(full);
		if (!S_ISREG(st.st_mode))
			continue;
		files = xrealloc(files, sizeof(DirFile) * (n + 1));
		memset(&files[n], 0, sizeof(DirFile));
		files[n].name = xstrdup(de->d_name);
		classify(&files[n]);
		n++;
	}
	if (errno != 0)
		error_exit(EXIT_INPUT, "%s: cannot read the migration directory: %s", path, strerror(errno));
	closedir(d);
	if (n > 0)
		qsort(files, n, sizeof(DirFile), cmp_names);
	*nfiles = n;
	return files;
}

/* The directory's one style; names that fit none, or a mix, are errors. */
static DirStyle
detect_style(const char *path, DirFile *files, int n)
{
	int			counts[3] = {0, 0, 0};
	int			i;

	for (i = 0; i < n; i++)
		counts[files[i].style]++;
	if (counts[STYLE_NONE] > 0)
		error_exit(EXIT_INPUT, "%s: file name%s fit%s no migration style: %s (expected V<version>__<description>.sql, U<version>__<description>.sql and R__<description>.sql, or <version>_<description>.sql and <version>_<description>.down.sql)",
				   path, counts[STYLE_NONE] > 1 ? "s" : "", counts[STYLE_NONE] > 1 ? "" : "s",
				   file_list(files, n, STYLE_NONE));
	if (counts[STYLE_FLYWAY] > 0 && counts[STYLE_NUMBERED] > 0)
	{
		DirStyle	minority = counts[STYLE_FLYWAY] >= counts[STYLE_NUMBERED] ?
			STYLE_NUMBERED : STYLE_FLYWAY;
		DirStyle	majority = minority == STYLE_FLYWAY ? STYLE_NUMBERED : STYLE_FLYWAY;

		error_exit(EXIT_INPUT, "%s: mixes the %s style (%d file%s) with the %s style: %s; use one style per directory",
				   path, style_name(majority), counts[majority], counts[majority] == 1 ? "" : "s",
				   style_name(minority), file_list(files, n, minority));
	}
	return counts[STYLE_FLYWAY] ? STYLE_FLYWAY : counts[STYLE_NUMBERED] ? STYLE_NUMBERED : STYLE_NONE;
}

/*
 * Read the directory at path into md.  Exits with EXIT_INPUT, naming the
 * file, on anything that makes the directory unusable.
 */
void
dir_read(MigrationDir *md, const char *path)
{
	int			nfiles;
	DirFile    *files = list_files(path, &nfiles);
	int			i;

	memset(md, 0, sizeof(*md));
	md->path = xstrdup(path);
	md->style = detect_style(path, files, nfiles);

	/* up and repeatable scripts first, then their down scripts */
	md->scripts = xmalloc(sizeof(Script) * (nfiles + 1));
	for (i = 0; i < nfiles; i++)
	{
		DirFile    *f = &files[i];
		Script	   *s;

		if (f->role == ROLE_DOWN)
			continue;
		if (f->version && strlen(f->version) > MAX_VERSION_LEN)
			error_exit(EXIT_INPUT, "%s/%s: version is longer than %d characters", path, f->name,
					   MAX_VERSION_LEN);
		if ((s = find_script(md, f)) != NULL)
			error_exit(EXIT_INPUT, "%s: %s %s is defined twice: %s and %s", path,
					   f->version ? "version" : "repeatable script",
					   f->version ? f->version : f->description, s->up_file, f->name);
		s = &md->scripts[md->nscripts++];
		memset(s, 0, sizeof(*s));
		s->kind = f->role == ROLE_REPEATABLE ? KIND_REPEATABLE : KIND_VERSIONED;
		s->version = f->version;
		s->description = f->description;
		s->up_file = f->name;
		s->up_sql = read_script(path, f->name);
		s->transactional = !script_no_transaction(s->up_sql);
		parse_requires(s, path);
		if (f->version && f->version[0] == '0' && f->version[1] != '\0' && md->pad_width == 0)
			md->pad_width = (int) strlen(f->version);
	}
	for (i = 0; i < nfiles; i++)
	{
		DirFile    *f = &files[i];
		Script	   *s;

		if (f->role != ROLE_DOWN)
			continue;
		s = find_script(md, f);
		if (s == NULL)
			error_exit(EXIT_INPUT, "%s/%s: down script of version %s, which has no %s file",
					   path, f->name, f->version,
					   md->style == STYLE_FLYWAY ? "V" : "up");
		if (s->down_file != NULL)
			error_exit(EXIT_INPUT, "%s: version %s has two down scripts: %s and %s", path,
					   f->version, s->down_file, f->name);
		s->down_file = f->name;
		s->down_sql = read_script(path, f->name);
		if (script_no_transaction(s->down_sql))
			s->transactional = false;
	}
	if (md->nscripts > 1)
		qsort(md->scripts, md->nscripts, sizeof(Script), cmp_scripts);
}

const Script *
dir_find(const MigrationDir *md, const char *version)
{
	int			i;

	if (md == NULL || version == NULL)
		return NULL;
	for (i = 0; i < md->nscripts; i++)
		if (md->scripts[i].kind == KIND_VERSIONED && strcmp(md->scripts[i].version, version) == 0)
			return &md->scripts[i];
	return NULL;
}

/*
 * The scripts as steward.register_set() takes them: [{"version",
 * "up_sql", "down_sql", "description", "requires", "kind",
 * "transactional"}, ...].
 */
char *
dir_scripts_json(const MigrationDir *md)
{
	StrBuf		sb;
	int			i,
				j;

	sb_init(&sb);
	sb_putn(&sb, "[", 1);
	for (i = 0; i < md->nscripts; i++)
	{
		const Script *s = &md->scripts[i];

		sb_puts(&sb, i ? ",\n{\"version\": " : "{\"version\": ");
		sb_json_string(&sb, s->version);
		sb_puts(&sb, ", \"up_sql\": ");
		sb_json_string(&sb, s->up_sql);
		sb_puts(&sb, ", \"down_sql\": ");
		sb_json_string(&sb, s->down_sql);
		sb_puts(&sb, ", \"description\": ");
		sb_json_string(&sb, s->description);
		sb_puts(&sb, ", \"requires\": ");
		if (s->nrequires == 0)
			sb_puts(&sb, "null");
		else
		{
			sb_putn(&sb, "[", 1);
			for (j = 0; j < s->nrequires; j++)
			{
				if (j)
					sb_puts(&sb, ", ");
				sb_json_string(&sb, s->requires[j]);
			}
			sb_putn(&sb, "]", 1);
		}
		sb_printf(&sb, ", \"kind\": \"%s\", \"transactional\": %s}",
				  s->kind == KIND_VERSIONED ? "versioned" : "repeatable",
				  s->transactional ? "true" : "false");
	}
	sb_putn(&sb, "]", 1);
	return sb.data;
}

/* ---------- new ---------- */

/* Add one to a string of digits, keeping at least its width. */
static char *
increment_digits(const char *v)
{
	size_t		n = strlen(v);
	char	   *r = xmalloc(n + 2);
	size_t		i;

	memcpy(r + 1, v, n + 1);
	r[0] = '0';
	for (i = n; i > 0; i--)
	{
		if (r[i] == '9')
			r[i] = '0';
		else
		{
			r[i]++;
			break;
		}
	}
	if (i == 0)
		r[0] = '1';
	return r[0] == '0' ? memmove(r, r + 1, n + 1) : r;
}

/*
 * The version after the directory's highest: a timestamp when versions
 * are timestamps (12 or 14 digits), the last number plus one otherwise
 * (1.9 -> 1.10, 007 -> 008).
 */
static char *
next_version(const MigrationDir *md, DirStyle style)
{
	const char *last = NULL;
	size_t		n;
	int			i;
	char	   *dot;
	char	   *v;

	for (i = 0; i < md->nscripts; i++)
		if (md->scripts[i].kind == KIND_VERSIONED)
			last = md->scripts[i].version;
	if (last == NULL)
		return xstrdup(style == STYLE_NUMBERED ? "001" : "1");
	n = strlen(last);
	if ((n == 12 || n == 14) && strspn(last, "0123456789") == n)
	{
		char		stamp[32];
		time_t		now = time(NULL);

		strftime(stamp, sizeof(stamp), n == 14 ? "%Y%m%d%H%M%S" : "%Y%m%d%H%M", gmtime(&now));
		if (version_compare(stamp, last) > 0)
			return xstrdup(stamp);
		return increment_digits(last);
	}
	v = xstrdup(last);
	dot = strrchr(v, '.');
	if (dot == NULL)
		return increment_digits(v);
	*dot = '\0';
	return xasprintf("%s.%s", v, increment_digits(dot + 1));
}

/* "Add price, and SKU!" -> "add_price_and_sku" */
static char *
slug(const char *description)
{
	char	   *s = xmalloc(strlen(description) + 1);
	size_t		n = 0;
	const char *p;

	for (p = description; *p; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (isalnum(c) || c >= 0x80)
			s[n++] = (char) tolower(c);
		else if (n > 0 && s[n - 1] != '_')
			s[n++] = '_';
	}
	while (n > 0 && s[n - 1] == '_')
		n--;
	s[n] = '\0';
	return s;
}

/*
 * Create path with content, refusing to overwrite a file; false with errno
 * set when it cannot be created or written (a partial file is removed).
 */
bool
dir_create_file(const char *path, const char *content)
{
	int			fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	size_t		len = strlen(content);
	int			save_errno;

	if (fd < 0)
		return false;
	if (write(fd, content, len) == (ssize_t) len && close(fd) == 0)
		return true;
	save_errno = errno;
	close(fd);
	unlink(path);
	errno = save_errno;
	return false;
}

static void
write_new(const char *path, const char *content)
{
	if (!dir_create_file(path, content))
		error_exit(EXIT_INPUT, "%s: cannot create: %s", path, strerror(errno));
}

/*
 * The paths of version's files in the style (the directory's own when it
 * has one): the up file, and the down file in *down_path when with_down.
 */
char *
dir_version_paths(const MigrationDir *md, const char *version, const char *description,
				  DirStyle style, bool with_down, char **down_path)
{
	char	   *name = slug(description);

	if (md->style != STYLE_NONE)
		style = md->style;
	if (name[0] == '\0')
		error_exit(EXIT_USAGE, "the description \"%s\" has no letters or digits", description);
	*down_path = NULL;
	if (style == STYLE_FLYWAY)
	{
		if (with_down)
			*down_path = xasprintf("%s/U%s__%s.sql", md->path, version, name);
		return xasprintf("%s/V%s__%s.sql", md->path, version, name);
	}
	if (with_down)
		*down_path = xasprintf("%s/%s_%s.down.sql", md->path, version, name);
	return xasprintf("%s/%s_%s.sql", md->path, version, name);
}

/*
 * Create the next migration file in the directory's style (style for an
 * empty directory); returns its path, and the down script's in *down_path
 * when with_down.
 */
char *
dir_new_file(const MigrationDir *md, const char *description, DirStyle style,
			 bool with_down, char **down_path)
{
	char	   *down;
	char	   *up;

	up = dir_version_paths(md, next_version(md, md->style != STYLE_NONE ? md->style : style),
						   description, style, with_down, &down);
	write_new(up, xasprintf("-- %s\n", description));
	if (down)
		write_new(down, xasprintf("-- revert: %s\n", description));
	if (down_path)
		*down_path = down;
	return up;
}
