/*
 * progress.c: training progress in shared memory, the
 * movierec.training_progress view, and per-iteration NOTICEs.
 *
 * Design (the pg_stat_statements pattern).  When movierec is in
 * shared_preload_libraries, _PG_init chains shmem_request_hook to ask for
 * one slot per backend (MaxBackends, so background workers are covered)
 * and a named LWLock tranche, and chains shmem_startup_hook to create or
 * attach the slot array.  A training backend owns the slot of its
 * BackendId: it fills it when a run starts, updates phase, iteration and
 * loss under the lock once per iteration (a few microseconds against
 * iterations of milliseconds or more), and clears it when the run ends,
 * fails, or the backend exits (a before_shmem_exit callback covers FATAL
 * exits that skip PG_FINALLY).  Readers copy the slots under a shared
 * lock.
 *
 * Without preloading there is no shared memory: training works as usual
 * and NOTICEs still go out, but reading the view is an error that says
 * movierec must be preloaded (a view that silently showed nothing would
 * hide runs that are in fact going on).
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "storage/backendid.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/timestamp.h"

#include "movierec.h"
#include "train.h"

#define MR_PROGRESS_TRANCHE "movierec_progress"

typedef struct MrProgressSlot
{
	int			pid;			/* 0 when free */
	char		model[NAMEDATALEN * 2];
	char		algorithm[16];
	char		phase[32];
	int32		iteration;
	int32		of;
	double		loss;			/* NaN until the first iteration */
	TimestampTz started;
} MrProgressSlot;

typedef struct MrProgressShared
{
	LWLock	   *lock;
	int			n_slots;
	MrProgressSlot slots[FLEXIBLE_ARRAY_MEMBER];
} MrProgressShared;

static MrProgressShared *mr_progress = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static bool mr_exit_registered = false;

/* this backend's current run, for NOTICEs */
static char mr_cur_model[NAMEDATALEN * 2];
static char mr_cur_algorithm[16];
static bool mr_cur_active = false;

/* Bytes of the shared area. */
static Size
MrProgressShmemSize(void)
{
	return add_size(offsetof(MrProgressShared, slots),
					mul_size(MaxBackends, sizeof(MrProgressSlot)));
}

/* shmem_request_hook: reserve the slots and the lock. */
static void
MrProgressShmemRequest(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MrProgressShmemSize());
	RequestNamedLWLockTranche(MR_PROGRESS_TRANCHE, 1);
}

/* shmem_startup_hook: create or attach the slot array. */
static void
MrProgressShmemStartup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	mr_progress = ShmemInitStruct("movierec training progress",
								  MrProgressShmemSize(), &found);
	if (!found)
	{
		memset(mr_progress, 0, MrProgressShmemSize());
		mr_progress->lock = &(GetNamedLWLockTranche(MR_PROGRESS_TRANCHE))->lock;
		mr_progress->n_slots = MaxBackends;
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Install the hooks; does nothing unless preloading (called by MrTrainInit). */
void
MrProgressShmemInit(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = MrProgressShmemRequest;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = MrProgressShmemStartup;
}

/* This backend's slot, or NULL without shared memory. */
static MrProgressSlot *
MrMySlot(void)
{
	if (mr_progress == NULL || MyBackendId == InvalidBackendId ||
		MyBackendId > mr_progress->n_slots)
		return NULL;
	return &mr_progress->slots[MyBackendId - 1];
}

/* Free this backend's slot. */
static void
MrProgressClear(void)
{
	MrProgressSlot *s = MrMySlot();

	mr_cur_active = false;
	if (s == NULL)
		return;
	LWLockAcquire(mr_progress->lock, LW_EXCLUSIVE);
	s->pid = 0;
	LWLockRelease(mr_progress->lock);
}

/* before_shmem_exit callback: a backend leaving mid-run frees its slot. */
static void
MrProgressAtExit(int code, Datum arg)
{
	if (mr_cur_active)
		MrProgressClear();
}

/* A run starts: publish model and algorithm in phase "reading". */
void
MrProgressBegin(const char *model_name, const char *algorithm)
{
	MrProgressSlot *s = MrMySlot();

	strlcpy(mr_cur_model, model_name, sizeof(mr_cur_model));
	strlcpy(mr_cur_algorithm, algorithm, sizeof(mr_cur_algorithm));
	mr_cur_active = true;
	if (!mr_exit_registered)
	{
		before_shmem_exit(MrProgressAtExit, (Datum) 0);
		mr_exit_registered = true;
	}
	if (s == NULL)
	{
		MrFaultPoint("reading");
		return;
	}
	LWLockAcquire(mr_progress->lock, LW_EXCLUSIVE);
	strlcpy(s->model, model_name, sizeof(s->model));
	strlcpy(s->algorithm, algorithm, sizeof(s->algorithm));
	strlcpy(s->phase, "reading", sizeof(s->phase));
	s->iteration = 0;
	s->of = 0;
	s->loss = get_float8_nan();
	s->started = GetCurrentTimestamp();
	s->pid = MyProcPid;
	LWLockRelease(mr_progress->lock);
	MrFaultPoint("reading");
}

/*
 * Publish a phase (and, for iterations, the loss).  iteration > 0 is a
 * finished iteration: with movierec.verbose it also goes out as a NOTICE.
 */
void
MrProgressUpdate(const char *phase, int iteration, int of, double loss)
{
	MrProgressSlot *s = MrMySlot();

	if (s != NULL)
	{
		LWLockAcquire(mr_progress->lock, LW_EXCLUSIVE);
		strlcpy(s->phase, phase, sizeof(s->phase));
		s->iteration = iteration;
		s->of = of;
		s->loss = loss;
		LWLockRelease(mr_progress->lock);
	}
	if (mr_train_verbose && iteration > 0)
		ereport(NOTICE,
				(errmsg("training \"%s\" (%s): %s %d of %d, loss %.6g",
						mr_cur_model, mr_cur_algorithm, phase, iteration, of, loss)));
	if (iteration > 0)
	{
		char		point[64];

		snprintf(point, sizeof(point), "%s:%d", phase, iteration);
		MrFaultPoint(point);
	}
	else
		MrFaultPoint(phase);
}

/* A run ends (committed or not): free the slot. */
void
MrProgressEnd(void)
{
	MrProgressClear();
}

PG_FUNCTION_INFO_V1(movierec_training_progress);

/*
 * movierec.training_progress(): one row per running training, from any
 * session.  Needs the shared slots, hence preloading.
 */
Datum
movierec_training_progress(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MrProgressSlot *copy;
	int			n = 0;
	TimestampTz now = GetCurrentTimestamp();

	if (mr_progress == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("movierec.training_progress must be loaded via shared_preload_libraries"),
				 errhint("Add movierec to shared_preload_libraries in postgresql.conf and restart the server; training works without it, and movierec.verbose shows progress as NOTICEs.")));

	InitMaterializedSRF(fcinfo, 0);
	copy = palloc(mul_size(mr_progress->n_slots, sizeof(MrProgressSlot)));
	LWLockAcquire(mr_progress->lock, LW_SHARED);
	for (int j = 0; j < mr_progress->n_slots; j++)
		if (mr_progress->slots[j].pid != 0)
			copy[n++] = mr_progress->slots[j];
	LWLockRelease(mr_progress->lock);

	for (int j = 0; j < n; j++)
	{
		Datum		values[9];
		bool		nulls[9] = {0};
		Interval   *elapsed = palloc0(sizeof(Interval));

		elapsed->time = now - copy[j].started;
		values[0] = Int32GetDatum(copy[j].pid);
		values[1] = CStringGetTextDatum(copy[j].model);
		values[2] = CStringGetTextDatum(copy[j].algorithm);
		values[3] = CStringGetTextDatum(copy[j].phase);
		values[4] = Int32GetDatum(copy[j].iteration);
		values[5] = Int32GetDatum(copy[j].of);
		values[6] = Float8GetDatum(copy[j].loss);
		nulls[6] = isnan(copy[j].loss);
		values[7] = IntervalPGetDatum(elapsed);
		values[8] = TimestampTzGetDatum(copy[j].started);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
