/*-------------------------------------------------------------------------
 *
 * inflect.c
 *		English inflection for table names: plural and singular of the last
 *		word of a snake_case name ("aux_order_item" -> "aux_order_items").
 *
 * Words are looked up, in order, in the uncountables (unchanged), the
 * irregular pairs, then suffix rules tried from the most specific to the
 * most general.  Only ASCII lower case is inflected; other words are left
 * alone.  A name is plural when it is uncountable, or when singularising
 * and pluralising it again gives it back ("products", "people"), so that
 * "status" and "product" are singular and "statuses" is plural.
 *
 *-------------------------------------------------------------------------
 */
#include "inflect.h"

#include "fmgr.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(steward_pluralize_sql);
PG_FUNCTION_INFO_V1(steward_singularize_sql);

static const char *const uncountables[] = {
	"advice", "aircraft", "audio", "baggage", "bison", "chassis", "cod", "corps", "wildlife",
	"deer", "equipment", "evidence", "feedback", "firmware", "fish", "furniture", "hardware",
	"headquarters", "homework", "information", "jeans", "knowledge", "luggage", "means",
	"metadata", "money", "moose", "news", "offspring", "police", "rice", "research",
	"salmon", "series", "sheep", "shrimp", "software", "species", "staff", "swine",
	"traffic", "trout", "music", "analytics", "settings", "pants", "scissors",
	"clothes", "thanks", "goods", "premises", NULL
};

/* singular, plural */
static const char *const irregulars[][2] = {
	{"person", "people"}, {"man", "men"}, {"woman", "women"}, {"child", "children"},
	{"mouse", "mice"}, {"louse", "lice"}, {"goose", "geese"}, {"foot", "feet"},
	{"tooth", "teeth"}, {"ox", "oxen"}, {"die", "dice"}, {"quiz", "quizzes"},
	{"index", "indices"}, {"vertex", "vertices"}, {"matrix", "matrices"},
	{"appendix", "appendices"}, {"criterion", "criteria"}, {"phenomenon", "phenomena"},
	{"datum", "data"}, {"medium", "media"}, {"cactus", "cacti"}, {"focus", "foci"},
	{"fungus", "fungi"}, {"nucleus", "nuclei"}, {"radius", "radii"}, {"stimulus", "stimuli"},
	{"syllabus", "syllabi"}, {"alumnus", "alumni"}, {"genus", "genera"}, {"corpus", "corpora"},
	{"axis", "axes"}, {"leaf", "leaves"}, {"life", "lives"}, {"knife", "knives"},
	{"wife", "wives"}, {"half", "halves"}, {"wolf", "wolves"}, {"shelf", "shelves"},
	{"calf", "calves"}, {"loaf", "loaves"}, {"thief", "thieves"}, {"elf", "elves"},
	{"self", "selves"}, {"hero", "heroes"}, {"potato", "potatoes"}, {"tomato", "tomatoes"},
	{"echo", "echoes"}, {"veto", "vetoes"}, {"torpedo", "torpedoes"}, {"cookie", "cookies"},
	{"movie", "movies"}, {"pie", "pies"}, {"tie", "ties"}, {"lie", "lies"}, {"zombie", "zombies"},
	{"calorie", "calories"}, {"sense", "senses"}, {"octopus", "octopuses"},
	{"database", "databases"}, {"cache", "caches"}, {"niche", "niches"}, {"avalanche", "avalanches"},
	{"house", "houses"}, {"cause", "causes"}, {"use", "uses"}, {"case", "cases"},
	{"base", "bases"}, {"phase", "phases"}, {"purchase", "purchases"}, {"license", "licenses"},
	{"response", "responses"}, {"expense", "expenses"}, {"release", "releases"},
	{"course", "courses"}, {"nurse", "nurses"}, {"horse", "horses"}, {"verse", "verses"},
	{"warehouse", "warehouses"}, {"clause", "clauses"}, {"pause", "pauses"},
	{"lens", "lenses"}, {"canvas", "canvases"}, {"gas", "gases"}, {"atlas", "atlases"},
	{"analysis", "analyses"}, {"crisis", "crises"}, {"thesis", "theses"},
	{"diagnosis", "diagnoses"}, {"hypothesis", "hypotheses"}, {"synopsis", "synopses"},
	{"parenthesis", "parentheses"}, {"emphasis", "emphases"}, {"oasis", "oases"},
	{"ellipsis", "ellipses"}, {"excuse", "excuses"}, {"abuse", "abuses"}, {"menu", "menus"},
	{"bonus", "bonuses"}, {"alias", "aliases"}, {"bias", "biases"},
	{NULL, NULL}
};

/* irregulars that also end compound words ("salesperson", "housewife") */
static const char *const compound_irregulars[][2] = {
	{"person", "people"}, {"child", "children"}, {"woman", "women"}, {"mouse", "mice"},
	{"goose", "geese"}, {"tooth", "teeth"}, {"knife", "knives"}, {"wife", "wives"},
	{"shelf", "shelves"}, {"house", "houses"}, {"leaf", "leaves"},
	{NULL, NULL}
};

/* suffix rules: word ends with from -> replace by to (keep = letters kept) */
typedef struct SuffixRule
{
	const char *from;
	const char *to;
} SuffixRule;

static const SuffixRule plural_rules[] = {
	{"sis", "ses"}, {"ss", "sses"}, {"us", "uses"}, {"ch", "ches"}, {"sh", "shes"},
	{"x", "xes"}, {"z", "zes"}, {"s", "ses"},
	{"ay", "ays"}, {"ey", "eys"}, {"iy", "iys"}, {"oy", "oys"}, {"uy", "uys"}, {"y", "ies"},
	{"", "s"}, {NULL, NULL}
};

static const SuffixRule singular_rules[] = {
	{"yses", "ysis"}, {"sses", "ss"}, {"uses", "us"}, {"zzes", "zz"}, {"ches", "ch"}, {"shes", "sh"}, {"xes", "x"},
	{"zes", "z"}, {"ays", "ay"}, {"eys", "ey"}, {"oys", "oy"}, {"uys", "uy"},
	{"ies", "y"}, {"ss", "ss"}, {"us", "us"}, {"is", "is"}, {"s", ""}, {NULL, NULL}
};

static bool
ends_with(const char *word, size_t len, const char *suffix, size_t *slen)
{
	*slen = strlen(suffix);
	return *slen <= len && strcmp(word + len - *slen, suffix) == 0;
}

static bool
is_uncountable(const char *word)
{
	int			i;

	for (i = 0; uncountables[i]; i++)
		if (strcmp(word, uncountables[i]) == 0)
			return true;
	return false;
}

/* The word with a suffix rule applied, or NULL when none matches. */
static char *
apply_rules(const char *word, const SuffixRule *rules)
{
	size_t		len = strlen(word);
	int			i;

	for (i = 0; rules[i].from; i++)
	{
		size_t		slen;

		if (ends_with(word, len, rules[i].from, &slen))
			return psprintf("%.*s%s", (int) (len - slen), word, rules[i].to);
	}
	return NULL;
}

/*
 * Inflect one lower-case word.
 */
static char *
inflect_word(const char *word, bool plural)
{
	int			i;
	const char *p;
	char	   *r;

	for (p = word; *p; p++)
		if (*p < 'a' || *p > 'z')
			return pstrdup(word);
	if (*word == '\0' || is_uncountable(word))
		return pstrdup(word);
	for (i = 0; irregulars[i][0]; i++)
	{
		if (strcmp(word, irregulars[i][plural ? 0 : 1]) == 0)
			return pstrdup(irregulars[i][plural ? 1 : 0]);
		if (strcmp(word, irregulars[i][plural ? 1 : 0]) == 0)
			return pstrdup(word);	/* already in the wanted form */
	}

	/*
	 * Compound words ending in one of a few irregulars ("salesperson",
	 * "grandchild"); not all of them, or "cities" would end in "tie".
	 */
	for (i = 0; compound_irregulars[i][0]; i++)
	{
		const char *from = compound_irregulars[i][plural ? 0 : 1];
		const char *to = compound_irregulars[i][plural ? 1 : 0];
		size_t		len = strlen(word),
					flen = strlen(from);

		if (len > flen && strcmp(word + len - flen, from) == 0)
			return psprintf("%.*s%s", (int) (len - flen), word, to);
		if (len > strlen(to) && strcmp(word + len - strlen(to), to) == 0)
			return pstrdup(word);	/* already in the wanted form */
	}
	if (plural)
	{
		/* a regular plural stays as it is: "products", not "productses" */
		char	   *single = apply_rules(word, singular_rules);

		if (single && strcmp(single, word) != 0)
		{
			r = apply_rules(single, plural_rules);
			if (r && strcmp(r, word) == 0)
				return pstrdup(word);
		}
		return apply_rules(word, plural_rules);
	}
	r = apply_rules(word, singular_rules);
	return r ? r : pstrdup(word);
}

/*
 * Apply inflect_word to the last underscore-separated word of name.
 */
static char *
inflect_name(const char *name, bool plural)
{
	const char *last = strrchr(name, '_');
	size_t		head = last ? (size_t) (last - name + 1) : 0;

	return psprintf("%.*s%s", (int) head, name, inflect_word(name + head, plural));
}

char *
steward_pluralize(const char *name)
{
	return inflect_name(name, true);
}

char *
steward_singularize(const char *name)
{
	return inflect_name(name, false);
}

/*
 * Is the last word of name plural (or uncountable)?
 */
bool
steward_is_plural(const char *name)
{
	const char *last = strrchr(name, '_');
	const char *word = last ? last + 1 : name;

	if (is_uncountable(word))
		return true;
	return strcmp(steward_pluralize(steward_singularize(name)), name) == 0 &&
		strcmp(steward_singularize(name), name) != 0;
}

/*
 * steward.pluralize(text) / steward.singularize(text)
 */
Datum
steward_pluralize_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(steward_pluralize(text_to_cstring(PG_GETARG_TEXT_PP(0)))));
}

Datum
steward_singularize_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(steward_singularize(text_to_cstring(PG_GETARG_TEXT_PP(0)))));
}
