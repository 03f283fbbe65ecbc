/*
 * train_ease.c: the training glue of EASE (kernel: src/kernels/kern_ease.c).
 *
 * Design.  train.c calls three hooks for algorithm 'ease':
 *   MrEaseCheckBudget  after the read, before anything of the kernel is
 *                      allocated: the n x n float matrix of the kept movies
 *                      must fit movierec.max_train_memory; if it does not,
 *                      the error says which min_item_ratings would fit;
 *   MrEaseRun          runs the kernel; B stays in the run's memory context;
 *   MrEaseStore        after the models row is written: one row of
 *                      movierec.ease_weights per kept movie, weights[b] =
 *                      B(movie, b-th kept movie in movie_id order).
 * The rows are written through one prepared INSERT in the training
 * transaction, like the factor rows (model_store_write.c).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "kern_ease.h"
#include "train.h"

/* The B of the run in progress (in the run's memory context). */
static MrEaseWeights ease_run;

/* Megabytes, rounded up. */
static int64
ease_mb(Size bytes)
{
	return (int64) ((bytes + 1024 * 1024 - 1) / (1024 * 1024));
}

/*
 * Refuse, before allocating, an EASE run whose n x n matrix does not fit
 * the budget, naming the smallest min_item_ratings that would fit.
 */
void
MrEaseCheckBudget(MrTrainMem *mem, const MrRatings *r, const MrTrainParams *p)
{
	Size		need = add_size(mem->in_use, MrEaseWorkspace(r, p));
	MrTrainParams q = *p;
	int32		n = MrEaseKeptCount(r, p->min_item_ratings);

	if (need <= mem->limit)
		return;
	/* the smallest threshold that fits (counts fall as it grows) */
	for (q.min_item_ratings = Max(p->min_item_ratings, 1);; q.min_item_ratings++)
	{
		if (add_size(mem->in_use, MrEaseWorkspace(r, &q)) <= mem->limit)
			break;
		if (q.min_item_ratings >= PG_INT32_MAX / 2)
			break;
	}
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("ease needs " INT64_FORMAT " MB for the %d x %d item matrix of %d movies, more than movierec.max_train_memory allows (%d MB)",
					ease_mb(need), n, n, n, mr_max_train_memory),
			 errdetail("EASE keeps one float per pair of movies with at least %d ratings.",
					   p->min_item_ratings),
			 errhint("Keep fewer movies with params {\"min_item_ratings\": %d} (%d movies, " INT64_FORMAT " MB), or raise movierec.max_train_memory to '" INT64_FORMAT "MB'.",
					 q.min_item_ratings, MrEaseKeptCount(r, q.min_item_ratings),
					 ease_mb(add_size(mem->in_use, MrEaseWorkspace(r, &q))), ease_mb(need))));
}

/* Run the EASE kernel; B is kept for MrEaseStore. */
double
MrEaseRun(const MrRatings *r, const MrTrainParams *p, const MrKernelEnv *env,
		  MrFactors *f)
{
	int			info = MrTrainEase(r, p, env, f, &ease_run);

	if (info != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the item Gram matrix plus regularization %g is not positive definite (LAPACK info %d)",
						p->regularization, info),
				 errhint("Train with a positive regularization, e.g. params {\"regularization\": 500}.")));
	return 0.0;
}

/* Write movierec.ease_weights for model_id from the last MrEaseRun. */
void
MrEaseStore(int64 model_id, const MrTrainData *data)
{
	Oid			types[3] = {INT8OID, INT8OID, FLOAT4ARRAYOID};
	Datum		values[3];
	SPIPlanPtr	plan;
	int32		n = ease_run.n_kept;
	Datum	   *d;
	MemoryContext rowcxt,
				old;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = SPI_prepare("INSERT INTO movierec.ease_weights (model_id, movie_id, weights) "
					   "VALUES ($1, $2, $3)", 3, types);
	if (plan == NULL)
		elog(ERROR, "could not prepare the insert into movierec.ease_weights: %s",
			 SPI_result_code_string(SPI_result));
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "movierec ease rows",
								   ALLOCSET_DEFAULT_SIZES);
	d = palloc(sizeof(Datum) * Max(n, 1));
	values[0] = Int64GetDatum(model_id);
	for (int32 a = 0; a < n; a++)
	{
		const float *row = ease_run.B + (Size) a * n;

		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(rowcxt);
		for (int32 b = 0; b < n; b++)
			d[b] = Float4GetDatum(row[b]);
		values[1] = Int64GetDatum(data->item_ids[ease_run.kept[a]]);
		values[2] = PointerGetDatum(construct_array(d, n, FLOAT4OID, sizeof(float4),
													true, TYPALIGN_INT));
		MemoryContextSwitchTo(old);
		if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not insert into movierec.ease_weights");
		MemoryContextReset(rowcxt);
	}
	MemoryContextDelete(rowcxt);
	SPI_finish();
	CommandCounterIncrement();
	memset(&ease_run, 0, sizeof(ease_run));
}
