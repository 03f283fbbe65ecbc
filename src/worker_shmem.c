/*
 * worker_shmem.c: the shared memory of movierec's training worker.
 *
 * Follows pg_stat_statements: a shmem_request_hook asks for the space and
 * one named LWLock, a shmem_startup_hook creates or attaches it, and both
 * chain to the hooks installed before ours (the training progress view
 * installs its own pair).  The area holds the launcher's pid and latch
 * (so that train_async can wake it at commit) and one slot per running
 * job (so that cancel_job can find the job's process).
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"

#include "worker.h"
#include "movierec.h"

MrWorkerShared *mr_worker_shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* Ask the postmaster for our shared memory and LWLock. */
static void
MrWorkerShmemRequest(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(MrWorkerShared)));
	RequestNamedLWLockTranche("movierec_worker", 1);
}

/* Create (postmaster) or attach to (EXEC_BACKEND children) the area. */
static void
MrWorkerShmemStartup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	mr_worker_shared = ShmemInitStruct("movierec worker",
									   sizeof(MrWorkerShared), &found);
	if (!found)
	{
		memset(mr_worker_shared, 0, sizeof(MrWorkerShared));
		mr_worker_shared->lock = &(GetNamedLWLockTranche("movierec_worker"))->lock;
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Install the hooks; called from _PG_init only when preloading. */
void
MrWorkerShmemInit(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = MrWorkerShmemRequest;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = MrWorkerShmemStartup;
}

/* Raise the standard error when movierec was not preloaded. */
void
MrWorkerRequirePreload(void)
{
	if (!mr_preloaded || mr_worker_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the movierec training worker needs movierec in shared_preload_libraries"),
				 errhint("Add movierec to shared_preload_libraries in postgresql.conf and restart the server.")));
}
