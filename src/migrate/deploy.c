#include "migrate_int.h"

PG_FUNCTION_INFO_V1(steward_deploy);

Datum
steward_deploy(PG_FUNCTION_ARGS)
{
	elog(ERROR, "not yet");
	PG_RETURN_VOID();
}
