/*-------------------------------------------------------------------------
 *
 * audit_writer.c
 *		Writing steward.audit_log rows for the audit trigger.
 *
 * Rows go straight to the heap (heap_insert, with a bulk-insert buffer
 * ring for big statements) and to the log's indexes (index_insert with
 * the column values at hand), with no executor state in between.  That
 * shortcut needs every index of the log to be on plain columns, without
 * predicate, exclusion or deferred uniqueness -- true of the indexes the
 * extension creates; if the owner adds another kind, the executor's own
 * index insertion is used for all of them.
 *
 * No SQL runs, so the statement's user needs no privilege on the log and
 * no search_path applies; the log's CHECK on op and its defaults are
 * enforced here.  The log's and its sequence's OIDs and the user names are
 * cached, invalidated by relcache, schema and role changes.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_steward.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "commands/sequence.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"

#include "audit.h"
#include "migrate.h"

/* steward.audit_log and its id sequence, once looked up */
static Oid	log_relid = InvalidOid;
static Oid	log_seqid = InvalidOid;

/* the name of the last session user and current role seen */
typedef struct RoleName
{
	Oid			roleid;
	NameData	name;
} RoleName;
static RoleName session_user_name = {InvalidOid};
static RoleName current_role_name = {InvalidOid};

/*
 * steward.audit_log or its sequence changed (maybe dropped with the
 * extension), or everything did: look them up again.
 */
static void
log_relcache_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == log_relid || relid == log_seqid)
		log_relid = log_seqid = InvalidOid;
}

static void
log_namespace_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	log_relid = log_seqid = InvalidOid;
}

/*
 * A role changed (maybe renamed): forget the cached names.
 */
static void
role_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	session_user_name.roleid = InvalidOid;
	current_role_name.roleid = InvalidOid;
}

/*
 * The role's name as a name datum, looked up when the role is not the one
 * cached.
 */
static Datum
role_name(RoleName *cache, Oid roleid)
{
	if (cache->roleid != roleid)
	{
		namestrcpy(&cache->name, GetUserNameFromId(roleid, false));
		cache->roleid = roleid;
	}
	return NameGetDatum(&cache->name);
}

/*
 * Find steward.audit_log and its sequence (cached until invalidated).
 */
static void
log_lookup(void)
{
	Oid			nsp;

	if (OidIsValid(log_relid) && OidIsValid(log_seqid))
		return;
	nsp = get_namespace_oid("steward", true);
	log_relid = OidIsValid(nsp) ? get_relname_relid("audit_log", nsp) : InvalidOid;
	log_seqid = OidIsValid(nsp) ? get_relname_relid("audit_log_id_seq", nsp) : InvalidOid;
	if (!OidIsValid(log_relid) || !OidIsValid(log_seqid))
	{
		log_relid = log_seqid = InvalidOid;
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("steward.audit_log does not exist"),
				 errhint("Install pg_steward in this database, or drop the audit triggers with steward.disable_audit().")));
	}
}

/*
 * Can the log's indexes be filled directly from the row's values?
 */
static bool
indexes_direct(ResultRelInfo *rri)
{
	int			i;

	for (i = 0; i < rri->ri_NumIndices; i++)
	{
		IndexInfo  *ii = rri->ri_IndexRelationInfo[i];
		int			k;

		if (ii->ii_Expressions != NIL || ii->ii_Predicate != NIL || ii->ii_ExclusionOps != NULL ||
			!rri->ri_IndexRelationDescs[i]->rd_index->indimmediate)
			return false;
		for (k = 0; k < ii->ii_NumIndexAttrs; k++)
			if (ii->ii_IndexAttrNumbers[k] <= 0)
				return false;
	}
	return true;
}

/*
 * Open steward.audit_log and fill the per-statement columns.
 */
void
audit_writer_open(AuditWriter *w, AuditTarget *target, const char *op, int64 rows)
{
	LOCAL_FCINFO(client, 0);
	Datum		addr;

	log_lookup();
	w->seqid = log_seqid;
	w->log = table_open(log_relid, RowExclusiveLock);
	/* taking the lock may have processed invalidations; the OIDs held */
	if (RelationGetDescr(w->log)->natts != AL_NATTS)
		elog(ERROR, "steward.audit_log has %d columns, expected %d",
			 RelationGetDescr(w->log)->natts, AL_NATTS);
	InitResultRelInfo(&w->rri, w->log, 1, NULL, 0);
	ExecOpenIndices(&w->rri, false);
	w->direct = indexes_direct(&w->rri);
	w->estate = NULL;
	w->slot = NULL;
	if (!w->direct)
	{
		w->estate = CreateExecutorState();
		w->slot = ExecInitExtraTupleSlot(w->estate, RelationGetDescr(w->log), &TTSOpsHeapTuple);
	}
	/* a bulk-insert buffer ring pays off only for many rows */
	w->bistate = rows > 64 ? GetBulkInsertState() : NULL;
	w->cid = GetCurrentCommandId(true);

	memset(w->nulls, true, sizeof(w->nulls));
	w->values[AL_AT] = TimestampTzGetDatum(GetCurrentStatementStartTimestamp());
	w->values[AL_TXID] = FullTransactionIdGetDatum(GetTopFullTransactionId());
	w->values[AL_RELID] = ObjectIdGetDatum(target->relid);
	w->values[AL_SCHEMA] = target->schema_name;
	w->values[AL_TABLE] = target->table_name;
	w->values[AL_OP] = CStringGetTextDatum(op);
	w->values[AL_DB_USER] = role_name(&session_user_name, GetSessionUserId());
	w->values[AL_ROLE] = role_name(&current_role_name, GetUserId());
	w->nulls[AL_AT] = w->nulls[AL_TXID] = w->nulls[AL_RELID] = false;
	w->nulls[AL_SCHEMA] = w->nulls[AL_TABLE] = w->nulls[AL_OP] = false;
	w->nulls[AL_DB_USER] = w->nulls[AL_ROLE] = false;
	if (application_name && application_name[0])
	{
		w->values[AL_APPNAME] = CStringGetTextDatum(application_name);
		w->nulls[AL_APPNAME] = false;
	}
	InitFunctionCallInfoData(*client, NULL, 0, InvalidOid, NULL, NULL);
	addr = inet_client_addr(client);
	if (!client->isnull)
	{
		w->values[AL_CLIENT] = addr;
		w->nulls[AL_CLIENT] = false;
	}
	if (steward_current_module)
	{
		w->values[AL_MODULE] = CStringGetTextDatum(steward_current_module);
		w->values[AL_VERSION] = CStringGetTextDatum(steward_current_version);
		w->nulls[AL_MODULE] = w->nulls[AL_VERSION] = false;
	}
}

/*
 * Write one log row: the per-statement columns plus the given ones.
 */
void
audit_writer_put(AuditWriter *w, Datum row_id, bool row_id_null, Datum old_row, bool old_null,
				 Datum new_row, bool new_null, Datum changed, bool changed_null)
{
	Datum		values[AL_NATTS];
	bool		nulls[AL_NATTS];
	HeapTuple	tuple;
	int			i;

	memcpy(values, w->values, sizeof(values));
	memcpy(nulls, w->nulls, sizeof(nulls));
	values[AL_ID] = Int64GetDatum(nextval_internal(w->seqid, false));
	nulls[AL_ID] = false;
	values[AL_ROW_ID] = row_id;
	nulls[AL_ROW_ID] = row_id_null;
	values[AL_OLD] = old_row;
	nulls[AL_OLD] = old_null;
	values[AL_NEW] = new_row;
	nulls[AL_NEW] = new_null;
	values[AL_CHANGED] = changed;
	nulls[AL_CHANGED] = changed_null;
	tuple = heap_form_tuple(RelationGetDescr(w->log), values, nulls);

	if (!w->direct)
	{
		ExecStoreHeapTuple(tuple, w->slot, false);
		table_tuple_insert(w->log, w->slot, w->cid, 0, w->bistate);
		(void) ExecInsertIndexTuples(&w->rri, w->slot, w->estate, false, false, NULL, NIL);
		ExecClearTuple(w->slot);
		return;
	}
	heap_insert(w->log, tuple, w->cid, 0, w->bistate);
	for (i = 0; i < w->rri.ri_NumIndices; i++)
	{
		Relation	index = w->rri.ri_IndexRelationDescs[i];
		IndexInfo  *ii = w->rri.ri_IndexRelationInfo[i];
		Datum		ivalues[INDEX_MAX_KEYS];
		bool		inulls[INDEX_MAX_KEYS];
		int			k;

		if (!ii->ii_ReadyForInserts)
			continue;
		for (k = 0; k < ii->ii_NumIndexAttrs; k++)
		{
			ivalues[k] = values[ii->ii_IndexAttrNumbers[k] - 1];
			inulls[k] = nulls[ii->ii_IndexAttrNumbers[k] - 1];
		}
		index_insert(index, ivalues, inulls, &tuple->t_self, w->log,
					 index->rd_index->indisunique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO,
					 false, ii);
	}
}

void
audit_writer_close(AuditWriter *w)
{
	if (w->bistate)
	{
		FreeBulkInsertState(w->bistate);
		table_finish_bulk_insert(w->log, 0);
	}
	ExecCloseIndices(&w->rri);
	if (w->estate)
	{
		ExecDropSingleTupleTableSlot(w->slot);
		FreeExecutorState(w->estate);
	}
	table_close(w->log, NoLock);
}

/*
 * Register the invalidation callbacks (from _PG_init, once per backend).
 */
void
audit_writer_init(void)
{
	CacheRegisterRelcacheCallback(log_relcache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(NAMESPACEOID, log_namespace_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHOID, role_callback, (Datum) 0);
}
