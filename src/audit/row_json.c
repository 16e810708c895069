/*-------------------------------------------------------------------------
 *
 * row_json.c
 *		Rows as jsonb for the audit log, exactly as to_jsonb() renders them.
 *
 * to_jsonb(row) spends most of its time on work that is the same for every
 * row of a statement: it looks up the row type, classifies every column's
 * type (syscache lookups for base type, element type, output function),
 * goes through a parse state that sorts the keys, and turns the result
 * into the on-disk format.  Here the classification and the key order are
 * planned once per statement, and each row is written straight into the
 * jsonb on-disk format: an object whose keys (the column names) come in
 * jsonb's order (shorter first, then bytewise), followed by the values.
 *
 * The values are what to_jsonb gives for each type:
 *   bool                 true/false
 *   int2, int4, int8     numbers
 *   numeric              numbers; NaN and infinities as strings
 *   date, timestamp[tz]  ISO 8601 strings (JsonEncodeDateTime, as to_jsonb)
 *   text, varchar, char  strings
 *   jsonb                the value itself: a container is copied as it is
 *                        (a stored jsonb is already in canonical form), a
 *                        scalar is unwrapped
 *   other built-in types strings from the output function
 * Everything else -- float4/8 (their I/O conversion rules), json, arrays,
 * composites, domains over those and every non-built-in type (which may
 * have a cast to json) -- goes through to_jsonb() for that value, and the
 * result is embedded like a jsonb value.  Domains are classified by their
 * base type, as to_jsonb does.
 *
 *-------------------------------------------------------------------------
 */
#include "audit_int.h"

#include "access/transam.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "nodes/primnodes.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"

#include "row_json.h"

typedef enum RjKind
{
	RJ_BOOL,
	RJ_INT2,
	RJ_INT4,
	RJ_INT8,
	RJ_NUMERIC,
	RJ_DATETIME,				/* date, timestamp, timestamptz (typid) */
	RJ_TEXT,
	RJ_JSONB,
	RJ_OUTPUT,					/* string from the type's output function */
	RJ_GENERIC					/* to_jsonb() of the value */
} RjKind;

typedef struct RjColumn
{
	int			attno;			/* 0-based attribute index */
	const char *name;
	int			namelen;
	RjKind		kind;
	Oid			typid;			/* base type (RJ_DATETIME) */
	FmgrInfo	fn;				/* RJ_OUTPUT: output function; RJ_GENERIC:
								 * to_jsonb with the column type as argument */
} RjColumn;

struct RowJsonPlan
{
	int			ncols;
	RjColumn   *cols;			/* in jsonb key order */
};

/*
 * jsonb's key order: shorter keys first, equal lengths bytewise.  Sorts
 * attribute indexes (cheap to move) by their names.
 */
static int
key_order_cmp(const void *a, const void *b, void *arg)
{
	TupleDesc	desc = (TupleDesc) arg;
	const char *na = NameStr(TupleDescAttr(desc, *(const int *) a)->attname);
	const char *nb = NameStr(TupleDescAttr(desc, *(const int *) b)->attname);
	size_t		la = strlen(na);
	size_t		lb = strlen(nb);

	if (la != lb)
		return la < lb ? -1 : 1;
	return memcmp(na, nb, la);
}

/*
 * Classify a column type the way to_jsonb does (by its base type, also
 * returned), and set up the function a kind needs.
 */
static RjKind
column_kind(Oid typid, Oid *basetype, FmgrInfo *fn)
{
	Oid			base = getBaseType(typid);
	Oid			outfn;
	bool		varlena;
	Param	   *param;

	*basetype = base;
	switch (base)
	{
		case BOOLOID:
			return RJ_BOOL;
		case INT2OID:
			return RJ_INT2;
		case INT4OID:
			return RJ_INT4;
		case INT8OID:
			return RJ_INT8;
		case NUMERICOID:
			return RJ_NUMERIC;
		case DATEOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			return RJ_DATETIME;
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
			return RJ_TEXT;
		case JSONBOID:
			return RJ_JSONB;
		case FLOAT4OID:
		case FLOAT8OID:
		case JSONOID:
			break;
		default:
			if (base < FirstNormalObjectId && !OidIsValid(get_element_type(base)) &&
				base != ANYARRAYOID && base != ANYCOMPATIBLEARRAYOID && base != RECORDARRAYOID &&
				!type_is_rowtype(base))
			{
				getTypeOutputInfo(base, &outfn, &varlena);
				fmgr_info(outfn, fn);
				return RJ_OUTPUT;
			}
			break;
	}
	param = makeNode(Param);
	param->paramkind = PARAM_EXTERN;
	param->paramtype = typid;
	param->paramtypmod = -1;
	param->location = -1;
	fmgr_info(F_TO_JSONB, fn);
	fmgr_info_set_expr((Node *) makeFuncExpr(F_TO_JSONB, JSONBOID, list_make1(param), InvalidOid,
											 InvalidOid, COERCE_EXPLICIT_CALL), fn);
	return RJ_GENERIC;
}

RowJsonPlan *
row_json_plan(TupleDesc desc, const bool *skip)
{
	RowJsonPlan *plan = palloc(sizeof(RowJsonPlan));
	int		   *order = palloc(sizeof(int) * Max(desc->natts, 1));
	int			n = 0;
	int			i;

	for (i = 0; i < desc->natts; i++)
		if (!TupleDescAttr(desc, i)->attisdropped && !(skip && skip[i]))
			order[n++] = i;
	qsort_arg(order, n, sizeof(int), key_order_cmp, desc);

	plan->ncols = n;
	plan->cols = palloc0(sizeof(RjColumn) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, order[i]);
		RjColumn   *col = &plan->cols[i];

		col->attno = order[i];
		col->namelen = strlen(NameStr(att->attname));
		col->name = pnstrdup(NameStr(att->attname), col->namelen);
		col->kind = column_kind(att->atttypid, &col->typid, &col->fn);
	}
	pfree(order);
	return plan;
}

/*
 * Zero bytes up to the next 4-byte boundary of the buffer (which starts
 * with the varlena header, as jsonb's own serialiser counts); returns how
 * many.  Numerics and containers are stored at such boundaries.
 */
static int
pad_to_int(StringInfo buf)
{
	int			padlen = INTALIGN(buf->len) - buf->len;

	if (padlen > 0)
	{
		enlargeStringInfo(buf, padlen);
		memset(buf->data + buf->len, 0, padlen);
		buf->len += padlen;
	}
	return padlen;
}

static JEntry
put_string(StringInfo buf, const char *s, int len)
{
	if (len > JENTRY_OFFLENMASK)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("string too long to represent as jsonb string"),
				 errdetail("Due to an implementation restriction, jsonb strings cannot exceed %d bytes.",
						   JENTRY_OFFLENMASK),
				 errhint("Exclude the column from auditing with steward.enable_audit(tbl, exclude_columns => ...).")));
	appendBinaryStringInfo(buf, s, len);
	return JENTRY_ISSTRING | len;
}

static JEntry
put_numeric(StringInfo buf, Numeric num)
{
	int			padlen = pad_to_int(buf);
	int			numlen = VARSIZE_ANY(num);

	appendBinaryStringInfo(buf, (char *) num, numlen);
	return JENTRY_ISNUMERIC | (padlen + numlen);
}

/*
 * Embed a jsonb value: a scalar as that scalar, a container byte for byte.
 */
static JEntry
put_jsonb(StringInfo buf, Jsonb *jb)
{
	int			padlen;
	int			len;

	if (JB_ROOT_IS_SCALAR(jb))
	{
		JsonbValue	v;

		if (!JsonbExtractScalar(&jb->root, &v))
			elog(ERROR, "jsonb scalar expected");
		switch (v.type)
		{
			case jbvNull:
				return JENTRY_ISNULL;
			case jbvBool:
				return v.val.boolean ? JENTRY_ISBOOL_TRUE : JENTRY_ISBOOL_FALSE;
			case jbvString:
				return put_string(buf, v.val.string.val, v.val.string.len);
			case jbvNumeric:
				return put_numeric(buf, v.val.numeric);
			default:
				elog(ERROR, "unexpected jsonb scalar type %d", (int) v.type);
		}
	}
	padlen = pad_to_int(buf);
	len = VARSIZE(jb) - VARHDRSZ;
	appendBinaryStringInfo(buf, (char *) &jb->root, len);
	return JENTRY_ISCONTAINER | (padlen + len);
}

/*
 * Append the value of one column and return its JEntry (type and length,
 * padding included).
 */
static JEntry
put_value(StringInfo buf, RjColumn *col, Datum v)
{
	char		dt[MAXDATELEN + 1];
	Numeric		num;
	text	   *txt;
	char	   *s;

	switch (col->kind)
	{
		case RJ_BOOL:
			return DatumGetBool(v) ? JENTRY_ISBOOL_TRUE : JENTRY_ISBOOL_FALSE;
		case RJ_INT2:
			return put_numeric(buf, int64_to_numeric(DatumGetInt16(v)));
		case RJ_INT4:
			return put_numeric(buf, int64_to_numeric(DatumGetInt32(v)));
		case RJ_INT8:
			return put_numeric(buf, int64_to_numeric(DatumGetInt64(v)));
		case RJ_NUMERIC:
			num = DatumGetNumeric(v);
			if (numeric_is_nan(num) || numeric_is_inf(num))
			{
				s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(num)));
				return put_string(buf, s, strlen(s));
			}
			return put_numeric(buf, num);
		case RJ_DATETIME:
			JsonEncodeDateTime(dt, v, col->typid, NULL);
			return put_string(buf, dt, strlen(dt));
		case RJ_TEXT:
			txt = DatumGetTextPP(v);
			return put_string(buf, VARDATA_ANY(txt), VARSIZE_ANY_EXHDR(txt));
		case RJ_JSONB:
			return put_jsonb(buf, DatumGetJsonbP(v));
		case RJ_OUTPUT:
			s = OutputFunctionCall(&col->fn, v);
			return put_string(buf, s, strlen(s));
		case RJ_GENERIC:
			return put_jsonb(buf, DatumGetJsonbP(FunctionCall1(&col->fn, v)));
	}
	elog(ERROR, "unexpected column kind %d", (int) col->kind);
	return 0;					/* keep compiler quiet */
}

static void
total_length_check(uint32 totallen)
{
	if (totallen > JENTRY_OFFLENMASK)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("total size of jsonb object elements exceeds the maximum of %u bytes",
						JENTRY_OFFLENMASK),
				 errhint("Exclude large columns from auditing with steward.enable_audit(tbl, exclude_columns => ...).")));
}

/*
 * Write the object: varlena header, container header, one JEntry per key
 * then per value (every JB_OFFSET_STRIDE-th holding the end offset instead
 * of the length), the keys' bytes, the values' bytes.
 */
Datum
row_json_render(RowJsonPlan *plan, const Datum *values, const bool *nulls, const bool *include)
{
	StringInfoData buf;
	int			n = 0;
	int			i,
				k;
	int			jentries;
	uint32		header;
	uint32		totallen = 0;

	for (i = 0; i < plan->ncols; i++)
		if (include == NULL || include[plan->cols[i].attno])
			n++;

	initStringInfo(&buf);
	enlargeStringInfo(&buf, VARHDRSZ + sizeof(uint32) + sizeof(JEntry) * 2 * n);
	buf.len = VARHDRSZ;
	header = n | JB_FOBJECT;
	appendBinaryStringInfo(&buf, (char *) &header, sizeof(uint32));
	jentries = buf.len;
	buf.len += sizeof(JEntry) * 2 * n;

	/* keys */
	k = 0;
	for (i = 0; i < plan->ncols; i++)
	{
		RjColumn   *col = &plan->cols[i];
		JEntry		meta;

		if (include && !include[col->attno])
			continue;
		appendBinaryStringInfo(&buf, col->name, col->namelen);
		totallen += col->namelen;
		meta = JENTRY_ISSTRING | col->namelen;
		if (k % JB_OFFSET_STRIDE == 0)
			meta = JENTRY_ISSTRING | totallen | JENTRY_HAS_OFF;
		memcpy(buf.data + jentries + sizeof(JEntry) * k, &meta, sizeof(JEntry));
		k++;
	}
	/* values */
	for (i = 0; i < plan->ncols; i++)
	{
		RjColumn   *col = &plan->cols[i];
		JEntry		meta;

		if (include && !include[col->attno])
			continue;
		meta = nulls[col->attno] ? JENTRY_ISNULL : put_value(&buf, col, values[col->attno]);
		totallen += JBE_OFFLENFLD(meta);
		total_length_check(totallen);
		if (k % JB_OFFSET_STRIDE == 0)
			meta = (meta & JENTRY_TYPEMASK) | totallen | JENTRY_HAS_OFF;
		memcpy(buf.data + jentries + sizeof(JEntry) * k, &meta, sizeof(JEntry));
		k++;
	}
	total_length_check(buf.len - VARHDRSZ);
	SET_VARSIZE(buf.data, buf.len);
	return PointerGetDatum(buf.data);
}
