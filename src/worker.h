/*
 * worker.h: movierec's background training worker (launcher, job workers)
 * and the shared memory they use to talk to ordinary backends.
 */
#ifndef MR_WORKER_H
#define MR_WORKER_H

#include "postgres.h"

#include "storage/latch.h"
#include "storage/lwlock.h"
#include "utils/timestamp.h"

/* Most job workers that may run at once (upper bound of the GUC). */
#define MR_MAX_JOB_SLOTS 16

/* One running job: owned by the launcher until its job worker starts. */
typedef struct MrJobSlot
{
	int64		job_id;			/* 0 when the slot is free */
	pid_t		pid;			/* job worker's pid, 0 until it has started */
	bool		cancel;			/* cancel_job() asked this job to stop */
} MrJobSlot;

/* Everything the launcher, the job workers and backends share. */
typedef struct MrWorkerShared
{
	LWLock	   *lock;
	pid_t		launcher_pid;	/* 0 while no launcher runs */
	Latch	   *launcher_latch;
	Oid			database;		/* database the launcher serves */
	TimestampTz launcher_started;
	int			launcher_starts;	/* since the shared memory was created */
	int64		jobs_started;
	MrJobSlot	slots[MR_MAX_JOB_SLOTS];
} MrWorkerShared;

/* GUCs (worker.c) */
extern int	mr_max_training_workers;
extern char *mr_worker_database;
extern int	mr_worker_naptime;
extern double mr_promotion_margin;
extern double mr_gate_holdout;

/* worker_shmem.c */
extern MrWorkerShared *mr_worker_shared;
extern void MrWorkerShmemInit(void);
extern void MrWorkerRequirePreload(void);

/* worker.c: defines the GUCs, asks for shared memory, registers the launcher */
extern void MrWorkerInit(void);

/* Entry points of the two kinds of worker process (exported for the postmaster). */
extern PGDLLEXPORT void MrLauncherMain(Datum main_arg);
extern PGDLLEXPORT void MrJobWorkerMain(Datum main_arg);

#endif							/* MR_WORKER_H */
