/*-------------------------------------------------------------------------
 *
 * catalog_access.c
 *		Steward's own statements on its catalogs, run as the catalog owner.
 *
 * The catalogs belong to the extension owner and nobody else may write
 * them.  Functions such as the migration runner are SECURITY INVOKER,
 * because user SQL must run with the caller's privileges; only around each
 * catalog statement do they switch to the owner (SECURITY_LOCAL_USERID_CHANGE,
 * as PostgreSQL itself does for index builds) with a search_path no caller
 * can shadow.  Every statement run here is steward's own, fully
 * schema-qualified SQL.  All functions expect SPI to be connected.
 *
 *-------------------------------------------------------------------------
 */
#include "common/common.h"

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

/*
 * Owner of steward's catalogs: the owner of steward.migrations.
 */
static Oid
catalog_owner(void)
{
	Oid			nsp = get_namespace_oid("steward", false);
	Oid			relid = get_relname_relid("migrations", nsp);
	HeapTuple	tp;
	Oid			owner;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("steward.migrations does not exist"),
				 errhint("Run CREATE EXTENSION pg_steward in this database.")));
	tp = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tp))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tp))->relowner;
	ReleaseSysCache(tp);
	return owner;
}

/*
 * Become the catalog owner for steward's own statements, with a search_path
 * that no caller-created object can shadow.  SECURITY_LOCAL_USERID_CHANGE
 * forbids SET ROLE meanwhile; an error in between is cleaned up by
 * transaction (or subtransaction) abort, which restores both.
 */
void
steward_catalog_enter(StewardCatalogAccess *ca)
{
	Oid			owner = catalog_owner();

	GetUserIdAndSecContext(&ca->save_userid, &ca->save_sec);
	SetUserIdAndSecContext(owner, ca->save_sec | SECURITY_LOCAL_USERID_CHANGE);
	ca->nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
}

/*
 * Undo catalog_enter: back to the caller's identity and search_path.
 */
void
steward_catalog_leave(StewardCatalogAccess *ca)
{
	AtEOXact_GUC(true, ca->nestlevel);
	SetUserIdAndSecContext(ca->save_userid, ca->save_sec);
}

/*
 * Run one catalog statement as the owner and check its SPI result code;
 * parameters are text (NULL pointers become SQL NULLs) and are cast in the
 * statement where another type is needed.  sql must be a string literal
 * (its plan is cached by address).  Returns the rows processed.
 */
int
steward_catalog_exec(const char *sql, int nargs, const char **args, int expected)
{
	StewardCatalogAccess ca;
	Oid			types[16];
	Datum		values[16];
	char		nulls[16];
	int			i;
	int			rc;

	Assert(nargs <= 16);
	for (i = 0; i < nargs; i++)
	{
		types[i] = TEXTOID;
		values[i] = args[i] ? CStringGetTextDatum(args[i]) : (Datum) 0;
		nulls[i] = args[i] ? ' ' : 'n';
	}
	steward_catalog_enter(&ca);
	rc = steward_exec_cached(sql, nargs, types, values, nulls, expected);
	steward_catalog_leave(&ca);
	return rc;
}

/*
 * Build an oid[] (from a list of OIDs) or text[] (from a list of C
 * strings) array Datum.
 */
Datum
steward_list_to_array(List *list, Oid elemtype)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(list_length(list), 1));
	ListCell   *lc;
	int			n = 0;

	foreach(lc, list)
	{
		elems[n++] = elemtype == OIDOID ? ObjectIdGetDatum(lfirst_oid(lc)) :
			CStringGetTextDatum(lfirst(lc));
	}
	if (elemtype == OIDOID)
		return PointerGetDatum(construct_array(elems, n, OIDOID, sizeof(Oid), true, TYPALIGN_INT));
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}
