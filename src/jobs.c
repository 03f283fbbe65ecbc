/*
 * jobs.c: the C side of the job API (train_async, cancel_job,
 * worker_status).  The queue itself is the table movierec.jobs and the
 * SQL functions in install/70_mlops.sql; these helpers reach the worker
 * through shared memory:
 *
 *  - waking the launcher when the transaction that queued a job commits
 *    (waking it earlier would let it look before the row is visible);
 *  - asking a running job to stop (a flag in its slot plus SIGINT, which
 *    the job worker turns into a query cancel at its next interrupt check);
 *  - reporting the launcher and the running jobs.
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/wait_event.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "commands/dbcommands.h"

#include "movierec.h"
#include "worker.h"

static bool wake_at_commit = false;
static bool xact_callback_registered = false;

/* At commit, wake the launcher if this transaction queued a job. */
static void
MrJobsXactCallback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT && wake_at_commit && mr_worker_shared)
	{
		LWLockAcquire(mr_worker_shared->lock, LW_SHARED);
		if (mr_worker_shared->launcher_latch)
			SetLatch(mr_worker_shared->launcher_latch);
		LWLockRelease(mr_worker_shared->lock);
	}
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT)
		wake_at_commit = false;
}

PG_FUNCTION_INFO_V1(movierec_worker_wake);

/* movierec._worker_wake(): wake the launcher when this transaction commits. */
Datum
movierec_worker_wake(PG_FUNCTION_ARGS)
{
	MrWorkerRequirePreload();
	if (!xact_callback_registered)
	{
		RegisterXactCallback(MrJobsXactCallback, NULL);
		xact_callback_registered = true;
	}
	wake_at_commit = true;
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(movierec_worker_check);

/* movierec._worker_check(): the "needs shared_preload_libraries" error, or nothing. */
Datum
movierec_worker_check(PG_FUNCTION_ARGS)
{
	MrWorkerRequirePreload();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(movierec_job_signal_cancel);

/*
 * movierec._job_signal_cancel(job_id): flag a running job's slot and send
 * its worker SIGINT.  Returns false when no worker holds the job.
 */
Datum
movierec_job_signal_cancel(PG_FUNCTION_ARGS)
{
	int64		job_id = PG_GETARG_INT64(0);
	pid_t		pid = 0;
	bool		found = false;
	int			s;

	MrWorkerRequirePreload();
	LWLockAcquire(mr_worker_shared->lock, LW_EXCLUSIVE);
	for (s = 0; s < MR_MAX_JOB_SLOTS; s++)
	{
		if (mr_worker_shared->slots[s].job_id == job_id)
		{
			mr_worker_shared->slots[s].cancel = true;
			pid = mr_worker_shared->slots[s].pid;
			found = true;
		}
	}
	LWLockRelease(mr_worker_shared->lock);
	/* a worker that has not started yet sees the flag when it does */
	if (pid != 0)
		kill(pid, SIGINT);
	PG_RETURN_BOOL(found);
}

PG_FUNCTION_INFO_V1(movierec_job_wait);

/*
 * movierec._job_wait(job_id, timeout_ms): wait until no worker holds the
 * job.  Reads shared memory, not the table, so it works whatever the
 * caller's isolation level.  Returns true if the job's worker is gone.
 */
Datum
movierec_job_wait(PG_FUNCTION_ARGS)
{
	int64		job_id = PG_GETARG_INT64(0);
	int32		timeout_ms = PG_GETARG_INT32(1);
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);

	MrWorkerRequirePreload();
	for (;;)
	{
		bool		held = false;
		int			s;

		LWLockAcquire(mr_worker_shared->lock, LW_SHARED);
		for (s = 0; s < MR_MAX_JOB_SLOTS; s++)
			if (mr_worker_shared->slots[s].job_id == job_id)
				held = true;
		LWLockRelease(mr_worker_shared->lock);
		if (!held)
			PG_RETURN_BOOL(true);
		if (GetCurrentTimestamp() >= deadline)
			PG_RETURN_BOOL(false);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 20L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

PG_FUNCTION_INFO_V1(movierec_worker_status);

/* movierec.worker_status(): the launcher, its database and the running jobs, as jsonb. */
Datum
movierec_worker_status(PG_FUNCTION_ARGS)
{
	StringInfoData buf;
	MrWorkerShared snap;
	char	   *dbname = NULL;
	bool		first = true;
	int			s;

	MrWorkerRequirePreload();
	LWLockAcquire(mr_worker_shared->lock, LW_SHARED);
	memcpy(&snap, mr_worker_shared, sizeof(snap));
	LWLockRelease(mr_worker_shared->lock);

	if (OidIsValid(snap.database))
		dbname = get_database_name(snap.database);

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"running\": %s", snap.launcher_pid != 0 ? "true" : "false");
	appendStringInfo(&buf, ", \"launcher_pid\": ");
	if (snap.launcher_pid != 0)
		appendStringInfo(&buf, "%d", (int) snap.launcher_pid);
	else
		appendStringInfoString(&buf, "null");
	appendStringInfoString(&buf, ", \"database\": ");
	escape_json(&buf, snap.launcher_pid != 0 && dbname ? dbname : mr_worker_database);
	appendStringInfo(&buf, ", \"serves_this_database\": %s",
					 snap.launcher_pid != 0 && snap.database == MyDatabaseId ? "true" : "false");
	appendStringInfoString(&buf, ", \"launcher_started\": ");
	if (snap.launcher_pid != 0)
		escape_json(&buf, timestamptz_to_str(snap.launcher_started));
	else
		appendStringInfoString(&buf, "null");
	appendStringInfo(&buf, ", \"launcher_starts\": %d", snap.launcher_starts);
	appendStringInfo(&buf, ", \"max_training_workers\": %d", mr_max_training_workers);
	appendStringInfo(&buf, ", \"jobs_started\": " INT64_FORMAT, snap.jobs_started);
	appendStringInfoString(&buf, ", \"running_jobs\": [");
	for (s = 0; s < MR_MAX_JOB_SLOTS; s++)
	{
		if (snap.slots[s].job_id == 0)
			continue;
		appendStringInfo(&buf, "%s{\"job_id\": " INT64_FORMAT ", \"pid\": %d, \"cancel\": %s}",
						 first ? "" : ", ", snap.slots[s].job_id, (int) snap.slots[s].pid,
						 snap.slots[s].cancel ? "true" : "false");
		first = false;
	}
	appendStringInfoString(&buf, "]}");

	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}
