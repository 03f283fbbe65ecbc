/*
 * train_mem.c: the memory of a training run.  Every array of a run comes
 * from its own memory context through these functions, which keep the
 * bytes in use and the peak, and refuse (before allocating) what would
 * exceed movierec.max_train_memory, with the amount the run needs.
 */
#include "movierec.h"

#include "utils/memutils.h"

#include "train.h"

/* Megabytes, rounded up, for messages. */
static int64
MrMegabytes(Size bytes)
{
	return (int64) ((bytes + 1024 * 1024 - 1) / (1024 * 1024));
}

/* Refuse when `more` bytes on top of what is in use exceed the budget. */
void
MrTrainCheckBudget(MrTrainMem *mem, Size more, const char *what)
{
	Size		need = add_size(mem->in_use, more);

	if (need > mem->limit)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("training needs at least " INT64_FORMAT " MB of memory (%s), more than movierec.max_train_memory allows (%d MB)",
						MrMegabytes(need), what, mr_max_train_memory),
				 errhint("Raise the limit, e.g. SET movierec.max_train_memory = '" INT64_FORMAT "MB', or train with fewer factors or ratings.",
						 MrMegabytes(need))));
}

/* Account for a new chunk. */
static void
MrTrainTrack(MrTrainMem *mem, void *ptr)
{
	mem->in_use += GetMemoryChunkSpace(ptr);
	if (mem->in_use > mem->peak)
		mem->peak = mem->in_use;
}

/* Zeroed, tracked allocation from the run's context (huge allowed). */
void *
MrTrainAlloc(MrTrainMem *mem, Size bytes)
{
	void	   *p;

	MrTrainCheckBudget(mem, bytes, "arrays of this run");
	p = MemoryContextAllocExtended(mem->cxt, Max(bytes, 1),
								   MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	MrTrainTrack(mem, p);
	return p;
}

/* Grow (or allocate, when ptr is NULL) a tracked array; not zeroed. */
void *
MrTrainRealloc(MrTrainMem *mem, void *ptr, Size bytes)
{
	void	   *p;

	if (ptr == NULL)
		return MrTrainAlloc(mem, bytes);
	MrTrainCheckBudget(mem, bytes, "arrays of this run");
	mem->in_use -= GetMemoryChunkSpace(ptr);
	p = repalloc_huge(ptr, bytes);
	MrTrainTrack(mem, p);
	return p;
}

/* Free a tracked array. */
void
MrTrainFree(MrTrainMem *mem, void *ptr)
{
	if (ptr == NULL)
		return;
	mem->in_use -= GetMemoryChunkSpace(ptr);
	pfree(ptr);
}
