/*
 * worker.c: the background training worker.
 *
 * Design
 * ------
 * Two kinds of process:
 *
 *  - The launcher, registered statically in _PG_init when movierec is
 *    preloaded (restart time MR_LAUNCHER_RESTART seconds).  It connects to
 *    the database named by movierec.database and loops on its latch: it
 *    is woken when a transaction that queued a job commits (jobs.c), when
 *    a job worker exits (bgw_notify_pid), on SIGHUP, and every
 *    movierec.worker_naptime as a safety net.  Each pass it reaps
 *    finished job workers and claims queued jobs (oldest first, FOR UPDATE
 *    SKIP LOCKED) while fewer than movierec.max_training_workers run,
 *    starting one dynamic job worker per job.
 *
 *  - A job worker runs exactly one job and exits.  It connects to the
 *    launcher's database as the bootstrap superuser (only to update the
 *    job's row), then runs movierec.run_training_job() with the rights of
 *    the role that queued the job (SetUserIdAndSecContext, as a SECURITY
 *    DEFINER function owned by that role would), in one REPEATABLE READ
 *    transaction: the snapshot record, the promotion gate and the training
 *    all read the same data, and the model and the job's 'succeeded' state
 *    commit together.  Any error is caught, the transaction rolled back
 *    (no model is left behind) and the job marked failed with the error's
 *    message, detail and hint; a query cancel (cancel_job sends SIGINT)
 *    marks it cancelled instead.
 *
 * Recovery: the shared job slots (worker_shmem.c) are recreated with
 * shared memory, so when the launcher starts, every job still 'running'
 * whose id is in no slot has lost its process.  It is marked failed
 * ("server restarted" after a restart or crash, "training worker exited
 * unexpectedly" otherwise) and, if the job asked for retries, queued again
 * as a new job pointing back with retry_of.
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "movierec.h"
#include "train.h"
#include "worker.h"

#define MR_LAUNCHER_RESTART 5	/* seconds before the postmaster restarts it */

int			mr_max_training_workers = 1;
char	   *mr_worker_database = NULL;
int			mr_worker_naptime = 10;
double		mr_promotion_margin = 0.005;
double		mr_gate_holdout = 0.1;

/* What a job worker learns from the launcher besides the job id. */
typedef struct MrJobWorkerArgs
{
	Oid			database;
	int			slot;
} MrJobWorkerArgs;

/* Launcher-local: handles of the job workers it started, by slot. */
static BackgroundWorkerHandle *job_handles[MR_MAX_JOB_SLOTS];
static int64 job_handle_ids[MR_MAX_JOB_SLOTS];

/* Define the GUCs; when preloading, reserve shared memory and register the launcher. */
void
MrWorkerInit(void)
{
	BackgroundWorker worker;

	DefineCustomIntVariable("movierec.max_training_workers",
							"Training jobs the background worker runs at once.",
							"0 pauses the queue; jobs already running finish.",
							&mr_max_training_workers,
							1, 0, MR_MAX_JOB_SLOTS,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomStringVariable("movierec.database",
							   "Database whose movierec.jobs queue the background worker serves.",
							   "Changing it makes the launcher restart and connect there.",
							   &mr_worker_database,
							   "postgres",
							   PGC_SIGHUP, 0,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("movierec.worker_naptime",
							"Longest time the launcher sleeps between two looks at the queue.",
							"New jobs wake it at once; this is a safety net.",
							&mr_worker_naptime,
							10, 1, 3600,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomRealVariable("movierec.promotion_margin",
							 "Relative improvement a candidate needs over production to be promoted.",
							 "0.005 means RMSE 0.5% lower, or NDCG@10 0.5% higher.",
							 &mr_promotion_margin,
							 0.005, 0.0, 1.0,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomRealVariable("movierec.gate_holdout",
							 "Fraction of the newest ratings the promotion gate holds out.",
							 NULL,
							 &mr_gate_holdout,
							 0.1, 0.01, 0.5,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	if (!process_shared_preload_libraries_in_progress)
		return;

	MrWorkerShmemInit();

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = MR_LAUNCHER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "movierec");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "MrLauncherMain");
	snprintf(worker.bgw_name, BGW_MAXLEN, "movierec training launcher");
	snprintf(worker.bgw_type, BGW_MAXLEN, "movierec training launcher");
	RegisterBackgroundWorker(&worker);
}

/* Open a transaction with a snapshot and an SPI connection. */
static void
MrBeginWork(const char *activity)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
}

/* Close what MrBeginWork opened and commit. */
static void
MrEndWork(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* Run one statement with bigint parameters; returns SPI_processed. */
static uint64
MrExec(const char *sql, int nargs, int64 a, int64 b)
{
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		values[2] = {Int64GetDatum(a), Int64GetDatum(b)};
	int			rc;

	rc = SPI_execute_with_args(sql, nargs, types, values, NULL, false, 0);
	if (rc < 0)
		elog(ERROR, "SPI failed (%d) running: %s", rc, sql);
	return SPI_processed;
}

/* Is the movierec extension installed in this database? (inside a transaction) */
static bool
MrExtensionInstalled(void)
{
	int			rc;

	rc = SPI_execute("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'movierec'",
					 true, 1);
	return rc == SPI_OK_SELECT && SPI_processed == 1;
}

/*
 * Fail a job whose process is gone and queue its retry if it asked for one.
 * Runs inside a transaction.
 */
static void
MrFailLostJob(int64 job_id, const char *reason)
{
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		values[2] = {Int64GetDatum(job_id), CStringGetTextDatum(reason)};

	SPI_execute_with_args("UPDATE movierec.jobs SET state = 'failed', "
						  "finished_at = clock_timestamp(), error = $2 "
						  "WHERE job_id = $1 AND state = 'running'",
						  2, types, values, NULL, false, 0);
	if (SPI_processed == 0)
		return;
	ereport(LOG,
			(errmsg("movierec job " INT64_FORMAT " failed: %s", job_id, reason)));
	MrExec("INSERT INTO movierec.jobs (model_name, algorithm, params, source, "
		   "user_col, item_col, rating_col, promote, owner, max_retries, attempt, retry_of) "
		   "SELECT model_name, algorithm, params, source, user_col, item_col, rating_col, "
		   "promote, owner, max_retries, attempt + 1, job_id "
		   "FROM movierec.jobs WHERE job_id = $1 AND attempt <= max_retries",
		   1, job_id, 0);
}

/* At launcher start: fail (and maybe re-queue) running jobs that have no process. */
static void
MrRecoverJobs(bool first_start)
{
	int64	   *lost;
	uint64		n,
				i;

	MrBeginWork("movierec: recovering jobs");
	if (MrExtensionInstalled())
	{
		SPI_execute("SELECT job_id FROM movierec.jobs WHERE state = 'running' ORDER BY job_id",
					false, 0);
		n = SPI_processed;
		lost = palloc0(sizeof(int64) * (n + 1));
		for (i = 0; i < n; i++)
		{
			bool		isnull;
			int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
														 SPI_tuptable->tupdesc, 1, &isnull));
			bool		alive = false;
			int			s;

			LWLockAcquire(mr_worker_shared->lock, LW_SHARED);
			for (s = 0; s < MR_MAX_JOB_SLOTS; s++)
				if (mr_worker_shared->slots[s].job_id == id)
					alive = true;
			LWLockRelease(mr_worker_shared->lock);
			lost[i] = alive ? 0 : id;
		}
		for (i = 0; i < n; i++)
			if (lost[i] != 0)
				MrFailLostJob(lost[i], first_start ? "server restarted"
							  : "training worker exited unexpectedly");
	}
	MrEndWork();
}

/* Launcher: notice job workers that exited; fail their job if they left it running. */
static void
MrReapJobWorkers(void)
{
	int			s;

	for (s = 0; s < MR_MAX_JOB_SLOTS; s++)
	{
		pid_t		pid;
		int64		id = job_handle_ids[s];

		if (job_handles[s] == NULL ||
			GetBackgroundWorkerPid(job_handles[s], &pid) != BGWH_STOPPED)
			continue;
		pfree(job_handles[s]);
		job_handles[s] = NULL;
		job_handle_ids[s] = 0;

		/* a worker that never started cannot have cleared its slot */
		LWLockAcquire(mr_worker_shared->lock, LW_EXCLUSIVE);
		if (mr_worker_shared->slots[s].job_id == id)
			memset(&mr_worker_shared->slots[s], 0, sizeof(MrJobSlot));
		LWLockRelease(mr_worker_shared->lock);

		MrBeginWork("movierec: reaping a job worker");
		MrFailLostJob(id, "training worker exited unexpectedly");
		MrEndWork();
	}
}

/* Launcher: start a dynamic job worker for a claimed job in slot s. */
static bool
MrStartJobWorker(int64 job_id, int s)
{
	BackgroundWorker worker;
	MrJobWorkerArgs args;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "movierec");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "MrJobWorkerMain");
	snprintf(worker.bgw_name, BGW_MAXLEN, "movierec training worker for job " INT64_FORMAT, job_id);
	snprintf(worker.bgw_type, BGW_MAXLEN, "movierec training worker");
	worker.bgw_main_arg = Int64GetDatum(job_id);
	args.database = MyDatabaseId;
	args.slot = s;
	memcpy(worker.bgw_extra, &args, sizeof(args));
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &job_handles[s]))
	{
		job_handles[s] = NULL;
		return false;
	}
	job_handle_ids[s] = job_id;
	return true;
}

/* Launcher: claim queued jobs and start workers while slots allow. */
static void
MrDispatchJobs(void)
{
	for (;;)
	{
		int			s,
					running = 0,
					free_slot = -1;
		int64		job_id = 0;

		CHECK_FOR_INTERRUPTS();
		LWLockAcquire(mr_worker_shared->lock, LW_SHARED);
		for (s = 0; s < MR_MAX_JOB_SLOTS; s++)
		{
			if (mr_worker_shared->slots[s].job_id != 0 || job_handles[s] != NULL)
				running++;
			else if (free_slot < 0)
				free_slot = s;
		}
		LWLockRelease(mr_worker_shared->lock);
		if (running >= mr_max_training_workers || free_slot < 0)
			return;

		MrBeginWork("movierec: looking for queued jobs");
		if (MrExtensionInstalled())
		{
			SPI_execute("UPDATE movierec.jobs SET state = 'running', started_at = clock_timestamp() "
						"WHERE job_id = (SELECT job_id FROM movierec.jobs WHERE state = 'queued' "
						"ORDER BY job_id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING job_id",
						false, 0);
			if (SPI_processed == 1)
			{
				bool		isnull;

				job_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
													 SPI_tuptable->tupdesc, 1, &isnull));
				/* the slot is taken before the claim commits, so cancel_job always finds it */
				LWLockAcquire(mr_worker_shared->lock, LW_EXCLUSIVE);
				mr_worker_shared->slots[free_slot].job_id = job_id;
				mr_worker_shared->slots[free_slot].pid = 0;
				mr_worker_shared->slots[free_slot].cancel = false;
				mr_worker_shared->jobs_started++;
				LWLockRelease(mr_worker_shared->lock);
			}
		}
		MrEndWork();
		if (job_id == 0)
			return;

		if (!MrStartJobWorker(job_id, free_slot))
		{
			ereport(WARNING,
					(errmsg("movierec could not start a training worker for job " INT64_FORMAT, job_id),
					 errhint("Raise max_worker_processes; the job stays queued.")));
			LWLockAcquire(mr_worker_shared->lock, LW_EXCLUSIVE);
			memset(&mr_worker_shared->slots[free_slot], 0, sizeof(MrJobSlot));
			LWLockRelease(mr_worker_shared->lock);
			MrBeginWork("movierec: re-queueing a job");
			MrExec("UPDATE movierec.jobs SET state = 'queued', started_at = NULL "
				   "WHERE job_id = $1 AND state = 'running'", 1, job_id, 0);
			MrEndWork();
			return;
		}
	}
}

/* Launcher exit: forget our latch so that backends stop setting it. */
static void
MrLauncherExit(int code, Datum arg)
{
	LWLockAcquire(mr_worker_shared->lock, LW_EXCLUSIVE);
	if (mr_worker_shared->launcher_pid == MyProcPid)
	{
		mr_worker_shared->launcher_pid = 0;
		mr_worker_shared->launcher_latch = NULL;
	}
	LWLockRelease(mr_worker_shared->lock);
}

/* The launcher's main loop. */
void
MrLauncherMain(Datum main_arg)
{
	bool		first_start;
	char	   *database;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	database = pstrdup(mr_worker_database);
	BackgroundWorkerInitializeConnection(database, NULL, 0);
	pgstat_report_appname("movierec training launcher");

	LWLockAcquire(mr_worker_shared->lock, LW_EXCLUSIVE);
	mr_worker_shared->launcher_pid = MyProcPid;
	mr_worker_shared->launcher_latch = &MyProc->procLatch;
	mr_worker_shared->database = MyDatabaseId;
	mr_worker_shared->launcher_started = GetCurrentTimestamp();
	first_start = (++mr_worker_shared->launcher_starts == 1);
	LWLockRelease(mr_worker_shared->lock);
	before_shmem_exit(MrLauncherExit, (Datum) 0);

	ereport(LOG, (errmsg("movierec training launcher started in database \"%s\"", database)));

	MrRecoverJobs(first_start);

	for (;;)
	{
		MemoryContext oldcxt = CurrentMemoryContext;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			if (strcmp(database, mr_worker_database) != 0)
			{
				ereport(LOG,
						(errmsg("movierec training launcher restarts to serve database \"%s\"",
								mr_worker_database)));
				proc_exit(1);	/* the postmaster restarts us after MR_LAUNCHER_RESTART */
			}
		}

		/* a failing pass (say, the extension dropped meanwhile) must not kill the launcher */
		PG_TRY();
		{
			MrReapJobWorkers();
			MrDispatchJobs();
		}
		PG_CATCH();
		{
			MemoryContextSwitchTo(oldcxt);
			EmitErrorReport();
			FlushErrorState();
			AbortCurrentTransaction();	/* also releases SPI and snapshots */
			pgstat_report_activity(STATE_IDLE, NULL);
		}
		PG_END_TRY();

		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 mr_worker_naptime * 1000L,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* Job worker exit: free our slot and wake the launcher to start the next job. */
static void
MrJobWorkerExit(int code, Datum arg)
{
	int			s = DatumGetInt32(arg);

	LWLockAcquire(mr_worker_shared->lock, LW_EXCLUSIVE);
	if (mr_worker_shared->slots[s].pid == MyProcPid)
		memset(&mr_worker_shared->slots[s], 0, sizeof(MrJobSlot));
	if (mr_worker_shared->launcher_latch)
		SetLatch(mr_worker_shared->launcher_latch);
	LWLockRelease(mr_worker_shared->lock);
}

/* Record how a job ended (own transaction, as the worker's superuser). */
static void
MrFinishJob(int64 job_id, const char *state, ErrorData *edata)
{
	Oid			types[5] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', 'n', 'n', 'n'};

	values[0] = Int64GetDatum(job_id);
	values[1] = CStringGetTextDatum(state);
	if (edata && edata->message)
	{
		values[2] = CStringGetTextDatum(edata->message);
		nulls[2] = ' ';
	}
	if (edata && edata->detail)
	{
		values[3] = CStringGetTextDatum(edata->detail);
		nulls[3] = ' ';
	}
	if (edata && edata->hint)
	{
		values[4] = CStringGetTextDatum(edata->hint);
		nulls[4] = ' ';
	}
	MrBeginWork("movierec: recording a job's end");
	SPI_execute_with_args("UPDATE movierec.jobs SET state = $2, finished_at = clock_timestamp(), "
						  "error = $3, error_detail = $4, error_hint = $5 WHERE job_id = $1",
						  5, types, values, nulls, false, 0);
	MrEndWork();
}

/* A job worker: run one job and exit. */
void
MrJobWorkerMain(Datum main_arg)
{
	int64		job_id = DatumGetInt64(main_arg);
	MrJobWorkerArgs args;
	MrJobSlot  *slot;
	bool		cancelled;
	volatile Oid owner = InvalidOid;
	char	   *jobargs[9];
	char		activity[256];
	MemoryContext jobcxt;
	int			i;

	memcpy(&args, MyBgworkerEntry->bgw_extra, sizeof(args));
	pqsignal(SIGTERM, die);		/* SIGINT already cancels the statement */
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(args.database, InvalidOid, 0);
	pgstat_report_appname("movierec training worker");

	slot = &mr_worker_shared->slots[args.slot];
	LWLockAcquire(mr_worker_shared->lock, LW_EXCLUSIVE);
	if (slot->job_id != job_id)
	{
		LWLockRelease(mr_worker_shared->lock);
		proc_exit(0);
	}
	slot->pid = MyProcPid;
	cancelled = slot->cancel;
	LWLockRelease(mr_worker_shared->lock);
	before_shmem_exit(MrJobWorkerExit, Int32GetDatum(args.slot));

	/* read the job and record our pid */
	jobcxt = AllocSetContextCreate(TopMemoryContext, "movierec job", ALLOCSET_SMALL_SIZES);
	MrBeginWork("movierec: starting a job");
	MrExec("UPDATE movierec.jobs SET worker_pid = pg_backend_pid() WHERE job_id = $1", 1, job_id, 0);
	MrExec("SELECT job_id::text, model_name, algorithm, params::text, source, user_col::text, "
		   "item_col::text, rating_col::text, promote, owner::oid::text "
		   "FROM movierec.jobs WHERE job_id = $1 AND state = 'running'", 1, job_id, 0);
	if (SPI_processed == 1)
	{
		MemoryContext old = MemoryContextSwitchTo(jobcxt);

		for (i = 0; i < 9; i++)
			jobargs[i] = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1);
		owner = DatumGetObjectId(DirectFunctionCall1(oidin,
													 CStringGetDatum(SPI_getvalue(SPI_tuptable->vals[0],
																				  SPI_tuptable->tupdesc, 10))));
		MemoryContextSwitchTo(old);
	}
	MrEndWork();
	if (!OidIsValid(owner))
		proc_exit(0);			/* cancelled before we got here */
	if (cancelled)
	{
		MrFinishJob(job_id, "cancelled", NULL);
		proc_exit(0);
	}

	snprintf(activity, sizeof(activity), "movierec job " INT64_FORMAT ": train %s (%s)",
			 job_id, jobargs[1], jobargs[2]);

	PG_TRY();
	{
		Oid			save_userid;
		int			save_sec;
		Oid			types[9];
		Datum		values[9];
		int64		model_id = 0;
		bool		isnull = true;

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		/* one snapshot for the gate, the snapshot record and the training */
		XactIsoLevel = XACT_REPEATABLE_READ;

		/*
		 * train() picks the next version under an advisory lock on the
		 * model name; under REPEATABLE READ that lock must be held before
		 * the snapshot is taken, or two jobs for one name would both see
		 * the same latest version.  It also runs jobs of one name one
		 * after the other.
		 */
		DirectFunctionCall2(pg_advisory_xact_lock_int4,
							Int32GetDatum(MR_VERSION_LOCK_KEY),
							DirectFunctionCall1Coll(hashtext, DEFAULT_COLLATION_OID,
														   CStringGetTextDatum(jobargs[1])));
		SPI_connect();
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, activity);

		for (i = 0; i < 9; i++)
		{
			types[i] = TEXTOID;
			values[i] = CStringGetTextDatum(jobargs[i]);
		}
		GetUserIdAndSecContext(&save_userid, &save_sec);
		SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE);
		if (SPI_execute_with_args("SELECT movierec.run_training_job($1::bigint, $2, $3, $4::jsonb, "
								  "$5::regclass, $6::name, $7::name, $8::name, $9)",
								  9, types, values, NULL, false, 0) == SPI_OK_SELECT &&
			SPI_processed == 1)
			model_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
												   SPI_tuptable->tupdesc, 1, &isnull));
		SetUserIdAndSecContext(save_userid, save_sec);

		MrExec("UPDATE movierec.jobs SET state = 'succeeded', finished_at = clock_timestamp(), "
			   "model_id = $2 WHERE job_id = $1", 2, job_id, model_id);
		MrEndWork();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(jobcxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		/* say who stopped the job rather than "canceling statement" */
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED && slot->cancel)
		{
			edata->message = pstrdup("cancelled by movierec.cancel_job()");
			edata->detail = NULL;
			edata->hint = NULL;
		}
		pgstat_report_activity(STATE_IDLE, NULL);
		ereport(LOG,
				(errmsg("movierec job " INT64_FORMAT " %s: %s", job_id,
						edata->sqlerrcode == ERRCODE_QUERY_CANCELED ? "cancelled" : "failed",
						edata->message)));
		MrFinishJob(job_id,
					edata->sqlerrcode == ERRCODE_QUERY_CANCELED ? "cancelled" : "failed",
					edata);
	}
	PG_END_TRY();

	proc_exit(0);
}
