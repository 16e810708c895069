/*-------------------------------------------------------------------------
 *
 * writer.c
 *		Writing steward.audit_log rows for the audit trigger.
 *
 * Rows go straight to the heap (heap_insert, with a bulk-insert buffer
 * ring for big statements) and to the log's indexes (index_insert with
 * the column values at hand), with no executor state in between.  That
 * shortcut needs every index of the log to be on plain columns, without
 * predicate or exclusion -- true of the indexes the extension creates; if
 * the owner adds another kind, the executor's own index insertion is used
 * for all of them.  Deferrable constraints on the log are refused.
 *
 * No SQL runs, so the statement's user needs no privilege on the log and
 * no search_path applies; the log's CHECK on op and its defaults are
 * enforced here.  The log's and its sequence's OIDs and the user names are
 * cached, invalidated by relcache, schema and role changes.
 *
 *-------------------------------------------------------------------------
 */
#include "audit_int.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"

#include "migrate/migrate.h"

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
 * The log must have the columns the writer fills, of the types it fills
 * them with (heap_form_tuple trusts the datums), and may not forbid NULL
 * where the writer leaves one: a changed log is an error, not corrupt
 * rows.
 */
static void
log_check_columns(Relation log)
{
	static const Oid types[AL_NATTS] = {
		INT8OID, TIMESTAMPTZOID, XID8OID, OIDOID, NAMEOID, NAMEOID, TEXTOID, TEXTOID, JSONBOID,
		JSONBOID, TEXTARRAYOID, NAMEOID, NAMEOID, TEXTOID, INETOID, TEXTOID, TEXTOID
	};
	static const bool nullable[AL_NATTS] = {
		false, false, false, false, false, false, false, true, true,
		true, true, false, false, true, true, true, true
	};
	TupleDesc	desc = RelationGetDescr(log);
	int			i;

	for (i = 0; i < AL_NATTS && i < desc->natts; i++)
		if (TupleDescAttr(desc, i)->attisdropped || TupleDescAttr(desc, i)->atttypid != types[i] ||
			(nullable[i] && TupleDescAttr(desc, i)->attnotnull))
			break;
	if (desc->natts != AL_NATTS || i < AL_NATTS)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("steward.audit_log does not have the columns pg_steward writes"),
				 errdetail("Column %d differs from the table the extension created.", i + 1),
				 errhint("Restore the table's definition (see the extension script), or disable auditing with steward.disable_audit().")));
}

/*
 * Refuse a log the writer cannot write or would write behind its owner's
 * back.  problem says what is wrong.
 */
static void
log_unsupported(const char *problem)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("steward.audit_log is not a table the audit trigger can write"),
			 errdetail("%s", problem),
			 errhint("Restore the table as the extension script defines it: the audit trigger writes heap tuples into it directly. Archive old rows into a table of your own (partitioned if you like) instead.")));
}

/*
 * The writer puts heap tuples straight into the log's one heap, so the
 * log must be a plain heap table: a partitioned one has no storage to
 * write to.
 */
static void
log_check_kind(Relation log)
{
	if (log->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
		log_unsupported("It is a partitioned table.");
	if (log->rd_rel->relkind != RELKIND_RELATION)
		log_unsupported("It is not a table.");
	if (log->rd_rel->relam != HEAP_TABLE_AM_OID)
		log_unsupported("It uses a table access method other than heap.");
}

/*
 * Nothing an INSERT statement would run may be on the log, since the
 * writer skips it all: INSERT triggers (foreign keys from the log among
 * them), rules, CHECK constraints other than the extension's own on op
 * (which the writer keeps by construction).
 */
static void
log_check_bypassed(Relation log)
{
	TriggerDesc *trig = log->trigdesc;
	TupleConstr *constr = RelationGetDescr(log)->constr;
	int			i;

	if (trig != NULL &&
		(trig->trig_insert_before_row || trig->trig_insert_after_row ||
		 trig->trig_insert_before_statement || trig->trig_insert_after_statement))
		log_unsupported("It has INSERT triggers (or foreign keys), which the audit trigger's direct writes would bypass.");
	if (log->rd_rules != NULL)
		log_unsupported("It has rules, which the audit trigger's direct writes would bypass.");
	for (i = 0; constr != NULL && i < constr->num_check; i++)
		if (strcmp(constr->check[i].ccname, "audit_log_op_check") != 0)
			log_unsupported("It has a CHECK constraint the audit trigger's direct writes would bypass.");
}

/*
 * Can the log's indexes be filled directly from the row's values?  Owner
 * indexes with deferred uniqueness are refused: their recheck needs the
 * constraint trigger an INSERT statement would queue.
 */
static bool
indexes_direct(ResultRelInfo *rri)
{
	int			i;

	for (i = 0; i < rri->ri_NumIndices; i++)
	{
		IndexInfo  *ii = rri->ri_IndexRelationInfo[i];
		int			k;

		if (!rri->ri_IndexRelationDescs[i]->rd_index->indimmediate)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("steward.audit_log has a deferrable constraint (index \"%s\")",
							RelationGetRelationName(rri->ri_IndexRelationDescs[i])),
					 errhint("Drop the constraint or make it NOT DEFERRABLE; the audit trigger checks constraints at once.")));
		if (ii->ii_Expressions != NIL || ii->ii_Predicate != NIL || ii->ii_ExclusionOps != NULL)
			return false;
		for (k = 0; k < ii->ii_NumIndexAttrs; k++)
			if (ii->ii_IndexAttrNumbers[k] <= 0)
				return false;
	}
	return true;
}

/*
 * audit_writer_open's second step: the columns that are the same for
 * every row of the statement (when, who, what, from where, in which
 * migration), worked out once here and copied into each row by
 * audit_writer_put.
 */
static void
statement_columns(AuditWriter *w, AuditTarget *target, const char *op)
{
	LOCAL_FCINFO(client, 0);
	Datum		addr;

	memset(w->nulls, true, sizeof(w->nulls));
	w->values[AL_AT] = TimestampTzGetDatum(GetCurrentStatementStartTimestamp());
	w->values[AL_TXID] = FullTransactionIdGetDatum(GetTopFullTransactionId());
	w->values[AL_RELID] = ObjectIdGetDatum(target->logas);
	w->values[AL_SCHEMA] = target->schema_name;
	w->values[AL_TABLE] = target->table_name;
	w->values[AL_OP] = CStringGetTextDatum(op);
	w->db_user = *DatumGetName(role_name(&session_user_name, GetSessionUserId()));
	w->role = *DatumGetName(role_name(&current_role_name, GetUserId()));
	w->values[AL_DB_USER] = NameGetDatum(&w->db_user);
	w->values[AL_ROLE] = NameGetDatum(&w->role);
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
	if (steward_migration_module())
	{
		w->values[AL_MODULE] = CStringGetTextDatum(steward_migration_module());
		w->values[AL_VERSION] = CStringGetTextDatum(steward_migration_version());
		w->nulls[AL_MODULE] = w->nulls[AL_VERSION] = false;
	}
}

/*
 * Open steward.audit_log and fill the per-statement columns.
 */
void
audit_writer_open(AuditWriter *w, AuditTarget *target, const char *op, int64 rows)
{
	/*
	 * only an audited temporary table can be written in a read-only
	 * transaction
	 */
	if (XactReadOnly)
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot write steward.audit_log in a read-only transaction"),
				 errhint("Change audited tables in a read-write transaction, or disable auditing of this table with steward.disable_audit().")));
	log_lookup();
	w->seqid = log_seqid;
	w->log = table_open(log_relid, RowExclusiveLock);
	/* taking the lock may have processed invalidations; the OIDs held */
	log_check_kind(w->log);
	log_check_columns(w->log);
	InitResultRelInfo(&w->rri, w->log, 1, NULL, 0);
	ExecOpenIndices(&w->rri, false);
	w->direct = indexes_direct(&w->rri);
	log_check_bypassed(w->log);
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
	statement_columns(w, target, op);
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
		(void) steward_insert_index_tuples(&w->rri, w->slot, w->estate);
		ExecClearTuple(w->slot);
		ResetPerTupleExprContext(w->estate);
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
