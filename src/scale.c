/*
 * scale.c: the primary/standby split (doc/scale.md).
 *
 * Design.  A hot standby serves every read-only call (recommend, predict,
 * similar_movies, recommend_for_ratings, explain, fold-in): they only read
 * tables and write backend-local memory.  What writes the database (train,
 * train_async, promote, rollback, import_factors) cannot run there.  The
 * server would refuse the first write anyway ("cannot execute INSERT in a
 * read-only transaction"), but only after a training run read every
 * rating, and with a message that does not say what to do.  So these
 * entry points check RecoveryInProgress() first and fail at once with
 * SQLSTATE 25006 (read_only_sql_transaction, which PostgREST maps to
 * HTTP 405) and a hint naming the fix: send the call to the primary.
 * movierec does not route calls itself: the client, pgbouncer or the
 * PostgREST deployment that writes chooses the primary
 * (target_session_attrs=read-write).
 */
#include "movierec.h"
#include "scale.h"

#include "access/xlog.h"
#include "fmgr.h"
#include "utils/builtins.h"

/* Raise a clear error when this server is a hot standby. */
void
MrRequirePrimary(const char *what)
{
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("%s needs the primary: this server is a hot standby", what),
				 errdetail("A standby serves recommendations; models, stages and jobs are written on the primary and replayed here."),
				 errhint("Connect to the primary, e.g. with target_session_attrs=read-write in the connection string.")));
}

PG_FUNCTION_INFO_V1(movierec_require_primary);

/* movierec._require_primary(what text): MrRequirePrimary for SQL callers. */
Datum
movierec_require_primary(PG_FUNCTION_ARGS)
{
	MrRequirePrimary(PG_ARGISNULL(0) ? "this call" : text_to_cstring(PG_GETARG_TEXT_PP(0)));
	PG_RETURN_VOID();
}
