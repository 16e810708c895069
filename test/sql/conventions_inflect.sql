-- English inflection: pluralize and singularize round-trip on 150 words.
CREATE TEMP TABLE words (singular text, plural text);
INSERT INTO words VALUES
 ('product', 'products'), ('order', 'orders'), ('user', 'users'), ('account', 'accounts'),
 ('invoice', 'invoices'), ('payment', 'payments'), ('customer', 'customers'), ('item', 'items'),
 ('event', 'events'), ('message', 'messages'), ('page', 'pages'), ('file', 'files'),
 ('role', 'roles'), ('tag', 'tags'), ('note', 'notes'), ('price', 'prices'),
 ('category', 'categories'), ('company', 'companies'), ('city', 'cities'), ('country', 'countries'),
 ('entry', 'entries'), ('policy', 'policies'), ('reply', 'replies'), ('story', 'stories'),
 ('activity', 'activities'), ('property', 'properties'), ('currency', 'currencies'), ('query', 'queries'),
 ('day', 'days'), ('key', 'keys'), ('survey', 'surveys'), ('toy', 'toys'), ('journey', 'journeys'),
 ('holiday', 'holidays'), ('monkey', 'monkeys'), ('guy', 'guys'), ('display', 'displays'),
 ('box', 'boxes'), ('tax', 'taxes'), ('fax', 'faxes'), ('index', 'indices'), ('match', 'matches'),
 ('batch', 'batches'), ('branch', 'branches'), ('search', 'searches'), ('dish', 'dishes'),
 ('wish', 'wishes'), ('crash', 'crashes'), ('address', 'addresses'), ('class', 'classes'),
 ('process', 'processes'), ('access', 'accesses'), ('business', 'businesses'), ('status', 'statuses'),
 ('bus', 'buses'), ('campus', 'campuses'), ('virus', 'viruses'), ('bonus', 'bonuses'),
 ('alias', 'aliases'), ('canvas', 'canvases'), ('gas', 'gases'), ('buzz', 'buzzes'),
 ('quiz', 'quizzes'), ('analysis', 'analyses'), ('base', 'bases'), ('crisis', 'crises'),
 ('thesis', 'theses'), ('diagnosis', 'diagnoses'), ('hypothesis', 'hypotheses'), ('axis', 'axes'),
 ('person', 'people'), ('man', 'men'), ('woman', 'women'), ('child', 'children'),
 ('mouse', 'mice'), ('goose', 'geese'), ('foot', 'feet'), ('tooth', 'teeth'), ('ox', 'oxen'),
 ('die', 'dice'), ('vertex', 'vertices'), ('matrix', 'matrices'), ('appendix', 'appendices'),
 ('criterion', 'criteria'), ('phenomenon', 'phenomena'), ('datum', 'data'), ('medium', 'media'),
 ('cactus', 'cacti'), ('fungus', 'fungi'), ('nucleus', 'nuclei'), ('radius', 'radii'),
 ('stimulus', 'stimuli'), ('syllabus', 'syllabi'), ('alumnus', 'alumni'), ('genus', 'genera'),
 ('leaf', 'leaves'), ('life', 'lives'), ('knife', 'knives'), ('wife', 'wives'), ('half', 'halves'),
 ('wolf', 'wolves'), ('shelf', 'shelves'), ('thief', 'thieves'), ('roof', 'roofs'),
 ('chief', 'chiefs'), ('belief', 'beliefs'), ('hero', 'heroes'), ('potato', 'potatoes'),
 ('tomato', 'tomatoes'), ('echo', 'echoes'), ('photo', 'photos'), ('video', 'videos'),
 ('radio', 'radios'), ('zoo', 'zoos'), ('memo', 'memos'), ('movie', 'movies'), ('cookie', 'cookies'),
 ('tie', 'ties'), ('house', 'houses'), ('cause', 'causes'), ('case', 'cases'), ('phase', 'phases'),
 ('purchase', 'purchases'), ('license', 'licenses'), ('response', 'responses'), ('course', 'courses'),
 ('database', 'databases'), ('cache', 'caches'), ('menu', 'menus'), ('octopus', 'octopuses'),
 ('salesperson', 'salespeople'), ('grandchild', 'grandchildren'), ('human', 'humans'),
 ('german', 'germans'), ('warehouse', 'warehouses'), ('lens', 'lenses'), ('atlas', 'atlases'),
 ('equipment', 'equipment'), ('information', 'information'), ('series', 'series'),
 ('species', 'species'), ('news', 'news'), ('sheep', 'sheep'), ('fish', 'fish'), ('deer', 'deer'),
 ('money', 'money'), ('software', 'software'), ('metadata', 'metadata'), ('feedback', 'feedback'),
 ('bias', 'biases'), ('housewife', 'housewives'), ('bookshelf', 'bookshelves'), ('city_tax', 'city_taxes');
SELECT count(*) AS words FROM words;
-- Every pair round-trips; list the ones that do not (none).
SELECT singular, plural, steward.pluralize(singular) AS got_plural, steward.singularize(plural) AS got_singular
  FROM words
 WHERE steward.pluralize(singular) <> plural OR steward.singularize(plural) <> singular;
-- Plurals are recognised, singulars (other than uncountables) are not.
SELECT count(*) FILTER (WHERE steward.is_plural(plural)) AS plurals_recognised,
       count(*) FILTER (WHERE steward.is_plural(singular) AND singular <> plural) AS singulars_taken_for_plural
  FROM words;
-- Pluralising a plural leaves it alone.
SELECT count(*) AS changed FROM words WHERE steward.pluralize(plural) <> plural;
-- Only the last word of a snake_case name is inflected.
SELECT steward.pluralize('aux_order_item'), steward.pluralize('aux_person'), steward.singularize('aux_people'),
       steward.pluralize('aux_equipment'), steward.singularize('aux_categories'), steward.pluralize('x');
-- Non-ASCII and mixed case are left alone; NULL in, NULL out.
SELECT steward.pluralize('Straße'), steward.pluralize('Product'), steward.pluralize(NULL);
