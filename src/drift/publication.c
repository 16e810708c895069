/*-------------------------------------------------------------------------
 *
 * publication.c
 *		A warning when a publication publishes steward's own catalogs.
 *
 * Logical replication copies rows: a publication FOR ALL TABLES, or one
 * that names the steward schema or one of its tables, sends this
 * database's migrations, DDL log, fingerprints and audit log to every
 * subscriber.  A subscriber with pg_steward writes its own rows into the
 * same catalogs, so the copies collide on their keys and a duplicate key
 * stops the subscription, often days later.  PostgreSQL 15 to 18 cannot
 * leave a schema out of FOR ALL TABLES, so the command is not refused
 * (a subscriber without pg_steward may want exactly that); the user is
 * told at once, with what to publish instead.
 *
 *-------------------------------------------------------------------------
 */
#include "drift_int.h"

#include "access/htup_details.h"
#include "catalog/pg_publication.h"
#include "catalog/pg_publication_namespace.h"
#include "catalog/pg_publication_rel.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

/*
 * The publication an object of CREATE or ALTER PUBLICATION belongs to
 * (the publication itself, a table or a schema added to it), or
 * InvalidOid.
 */
static Oid
publication_of(DdlObject *o)
{
	HeapTuple	tup;
	Oid			pubid = InvalidOid;

	if (o->classid == PublicationRelationId)
		return o->objid;
	if (o->classid == PublicationRelRelationId &&
		HeapTupleIsValid(tup = SearchSysCache1(PUBLICATIONREL, ObjectIdGetDatum(o->objid))))
	{
		pubid = ((Form_pg_publication_rel) GETSTRUCT(tup))->prpubid;
		ReleaseSysCache(tup);
	}
	else if (o->classid == PublicationNamespaceRelationId &&
			 HeapTupleIsValid(tup = SearchSysCache1(PUBLICATIONNAMESPACE,
													ObjectIdGetDatum(o->objid))))
	{
		pubid = ((Form_pg_publication_namespace) GETSTRUCT(tup))->pnpubid;
		ReleaseSysCache(tup);
	}
	return pubid;
}

/*
 * The dispatcher's listener (ddl_command_end): warn once per publication
 * the command left publishing any table of the steward schema.  Changes
 * no object.
 */
bool
steward_publication_objects(EventTriggerData *trig, List *objs)
{
	List	   *seen = NIL;
	ListCell   *lc;

	foreach(lc, objs)
	{
		Oid			pubid = publication_of(lfirst(lc));
		char	   *name;
		Oid			types[1] = {TEXTOID};
		Datum		values[1];

		if (!OidIsValid(pubid) || list_member_oid(seen, pubid))
			continue;
		seen = lappend_oid(seen, pubid);
		name = get_publication_name(pubid, true);
		if (name == NULL)
			continue;
		values[0] = CStringGetTextDatum(name);
		if (steward_exec_cached("SELECT pg_catalog.string_agg(pg_catalog.quote_ident(schemaname) || '.' || "
								"  pg_catalog.quote_ident(tablename), ', ' ORDER BY tablename) "
								"FROM pg_catalog.pg_publication_tables "
								"WHERE pubname = $1 AND schemaname = 'steward' HAVING count(*) > 0",
								1, types, values, NULL, SPI_OK_SELECT) == 0)
			continue;
		ereport(WARNING,
				(errcode(ERRCODE_WARNING),
				 errmsg("publication \"%s\" publishes pg_steward's own catalogs", name),
				 errdetail("It sends %s to its subscribers; where a subscriber has pg_steward too, those rows collide with its own and a duplicate key stops the subscription.",
						   SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)),
				 errhint("Publish the application's schemas or tables instead, e.g. CREATE PUBLICATION %s FOR TABLES IN SCHEMA <your schemas>, and run the same migrations on the subscriber.",
						 quote_identifier(name))));
	}
	return false;
}
