/*
 * train.c: movierec.train(), the training settings, and the memory and
 * interrupt services given to the kernels.
 *
 * Design.  A call runs in the calling backend and its transaction:
 *
 *   1. check the arguments and resolve the params (train_params.c);
 *   2. estimate the memory of the read from the table's row estimate and
 *      refuse early if it cannot fit movierec.max_train_memory;
 *   3. read the source into dense MrRatings (train_read.c);
 *   4. compute the exact need (ratings + factors + the kernel's
 *      workspace, overflow-safe) and refuse above the budget;
 *   5. run the kernel with an MrKernelEnv whose alloc draws from a
 *      dedicated memory context (huge allocations allowed, usage and peak
 *      tracked), whose check is CHECK_FOR_INTERRUPTS, and whose progress
 *      feeds the shared-memory slot and movierec.verbose NOTICEs;
 *   6. write the model in bulk (model_store_write.c) and return its id.
 *
 * An error or a cancel at any point unwinds through PG_FINALLY (the
 * progress slot is freed) and aborts the transaction, so nothing of the
 * run remains; the memory context is a child of the call's context and
 * goes with it.
 */
#include "postgres.h"

#include <limits.h>

#include "access/relation.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "kern_bayes.h"
#include "mf_defaults.h"
#include "movierec.h"
#include "scale.h"
#include "train.h"
#include "stats.h"

bool		mr_train_verbose = false;
int			mr_max_train_memory = 4096;
int			mr_train_threads = 2;

/* bytes of read-phase memory per rating (triple plus one orientation) */
#define MR_READ_BYTES_PER_RATING 20

/* Define movierec.verbose, max_train_memory and train_threads; hooks. */
void
MrTrainInit(void)
{
	DefineCustomBoolVariable("movierec.verbose",
							 "Report each training iteration as a NOTICE.",
							 NULL,
							 &mr_train_verbose,
							 false,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("movierec.max_train_memory",
							"Most memory one training run may use.",
							"Ratings, id maps, factors and kernel workspace; "
							"a run that needs more is refused before it allocates.",
							&mr_max_train_memory,
							4096, 1, MAX_KILOBYTES / 1024,
							PGC_USERSET, GUC_UNIT_MB,
							NULL, NULL, NULL);
	DefineCustomIntVariable("movierec.train_threads",
							"Threads a training kernel may start.",
							"The params key \"threads\" overrides it for one run; "
							"results do not depend on it.",
							&mr_train_threads,
							2, 1, 64,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
	MrProgressShmemInit();
}

/* MrKernelEnv.alloc */
static void *
MrEnvAlloc(void *arg, size_t bytes)
{
	return MrTrainAlloc((MrTrainMem *) arg, bytes);
}

/* MrKernelEnv.free */
static void
MrEnvFree(void *arg, void *ptr)
{
	MrTrainFree((MrTrainMem *) arg, ptr);
}

/* MrKernelEnv.check: cancel and statement_timeout unwind from here. */
static void
MrEnvCheck(void *arg)
{
	CHECK_FOR_INTERRUPTS();
}

/* MrKernelEnv.progress */
static void
MrEnvProgress(void *arg, const char *phase, int iteration, int of, double loss)
{
	CHECK_FOR_INTERRUPTS();
	MrProgressUpdate(phase, iteration, of, loss);
}

/* Run the kernel of an algorithm; returns its final loss. */
static double
MrRunKernel(const char *algorithm, const MrRatings *r, const MrTrainParams *p,
			const MrKernelEnv *env, MrFactors *f)
{
	if (strcmp(algorithm, "popularity") == 0)
		return MrTrainPopularity(r, p, env, f);
	if (strcmp(algorithm, "baseline") == 0)
		return MrTrainBaseline(r, p, env, f);
	if (strcmp(algorithm, "als") == 0)
		return MrTrainAls(r, p, env, f);
	if (strcmp(algorithm, "svd") == 0)
		return MrTrainSvd(r, p, env, f);
	if (strcmp(algorithm, "ials") == 0)
		return MrTrainIals(r, p, env, f);
	if (strcmp(algorithm, "ease") == 0)
		return MrEaseRun(r, p, env, f);
	if (strcmp(algorithm, "bayes") == 0)
		return MrTrainBayes(r, p, env, f);
	elog(ERROR, "no kernel for algorithm \"%s\"", algorithm);
	return 0;
}

/* Error for a NULL argument. */
static void
MrArgNotNull(FunctionCallInfo fcinfo, int arg, const char *name)
{
	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name),
				 errhint("Leave the argument out to use its default.")));
}

/* Refuse early if the table's row estimate cannot fit the budget. */
static void
MrCheckReadEstimate(Oid relid, MrTrainMem *mem)
{
	Relation	rel;
	double		rows = 0;

	if (get_rel_relkind(relid) != RELKIND_RELATION &&
		get_rel_relkind(relid) != RELKIND_MATVIEW)
		return;
	rel = relation_open(relid, AccessShareLock);
	if (rel->rd_rel->reltuples > 0)
		rows = rel->rd_rel->reltuples;
	relation_close(rel, NoLock);
	if (rows > 0 && rows * MR_READ_BYTES_PER_RATING < (double) MaxAllocHugeSize)
		MrTrainCheckBudget(mem, (Size) (rows * MR_READ_BYTES_PER_RATING),
						   "reading the ratings, estimated from the table's statistics");
}

PG_FUNCTION_INFO_V1(movierec_train);

/*
 * movierec.train(model_name, algorithm, params, source, user_col,
 * item_col, rating_col) RETURNS bigint: train and store a model.
 */
Datum
movierec_train(PG_FUNCTION_ARGS)
{
	char	   *model_name;
	char	   *algorithm;
	Jsonb	   *given;
	Oid			source;
	char	   *cols[3];
	MrTrainParams params;
	MrTrainMem	mem;
	MrTrainData data;
	MrFactors	f;
	MrKernelEnv env;
	MrModelRow row;
	Size		need;
	instr_time	t0,
				t1;
	volatile int64 model_id = 0;
	char	   *snapshot;
	bool		copied;
	bool		bayes;
	char	   *volatile implicit_source = NULL;
	Oid			implicit_relid = InvalidOid;
	MrRatings	implicit;
	char	   *implicit_cols[3];
	MrBayesStats bayes_stats;

	MrRequirePrimary("train");
	MrArgNotNull(fcinfo, 0, "model_name");
	MrArgNotNull(fcinfo, 1, "algorithm");
	MrArgNotNull(fcinfo, 2, "params");
	MrArgNotNull(fcinfo, 3, "source");
	MrArgNotNull(fcinfo, 4, "user_col");
	MrArgNotNull(fcinfo, 5, "item_col");
	MrArgNotNull(fcinfo, 6, "rating_col");
	model_name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	algorithm = text_to_cstring(PG_GETARG_TEXT_PP(1));
	given = PG_GETARG_JSONB_P(2);
	source = PG_GETARG_OID(3);
	cols[0] = NameStr(*PG_GETARG_NAME(4));
	cols[1] = NameStr(*PG_GETARG_NAME(5));
	cols[2] = NameStr(*PG_GETARG_NAME(6));

	if (model_name[0] == '\0' || strlen(model_name) >= NAMEDATALEN * 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model_name must have 1 to %d characters", NAMEDATALEN * 2 - 1),
				 errhint("Pass a short name such as 'movies_als'; training the same name again creates its next version.")));
	if (!MrAlgorithmKnown(algorithm))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown algorithm \"%s\"", algorithm),
				 errhint("Use one of popularity, baseline, als, svd, ials, ease, bayes.")));
	snapshot = MrTakeSnapshotParam(given, &given);
	bayes = strcmp(algorithm, "bayes") == 0;
	if (bayes)
		implicit_source = MrBayesTakeParams(given, &given, &implicit_relid);
	/* the implicit source has the source's column names, not the copy's */
	memcpy(implicit_cols, cols, sizeof(cols));
	MrResolveParams(algorithm, given, &params);
	/* refuse before the work, not when the model is written */
	if (XactReadOnly)
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot train a model in a read-only transaction"),
				 errhint("Train on the primary server, outside BEGIN READ ONLY: a model is stored as rows.")));
	MrCheckStorePrivileges();
	copied = snapshot != NULL && strcmp(snapshot, "copy") == 0;
	if (copied)
		source = MrCopySnapshot(source, cols);
	if (strcmp(algorithm, "als") == 0 || strcmp(algorithm, "svd") == 0 ||
		strcmp(algorithm, "ials") == 0 || strcmp(algorithm, "ease") == 0)
		MrEnsureBlas();
	if (bayes)
		MrEnsureBlas();

	memset(&mem, 0, sizeof(mem));
	mem.limit = (Size) mr_max_train_memory * 1024 * 1024;
	mem.cxt = AllocSetContextCreate(CurrentMemoryContext, "movierec training",
									ALLOCSET_DEFAULT_SIZES);
	MrCheckReadEstimate(source, &mem);

	MrProgressBegin(model_name, algorithm);
	MrStatsTrainBegin();
	PG_TRY();
	{
		/* read */
		if (copied)
		{
			/* the copy was just written: read it with a snapshot that sees it */
			CommandCounterIncrement();
			PushCopiedSnapshot(GetActiveSnapshot());
			UpdateActiveSnapshotCommandId();
		}
		else
			PushActiveSnapshot(GetTransactionSnapshot());
		MrReadRatings(source, cols[0], cols[1], cols[2], &mem, &data);
		if (bayes)
			MrBayesReadImplicit(implicit_relid, implicit_cols, &data, &mem, &implicit);

		/*
		 * The snapshot record is computed under the snapshot of the read, so
		 * that its checksum is of exactly the rows read (train_snapshot.c).
		 */
		if (!copied)
			MrCaptureReadStats(source, cols);
		PopActiveSnapshot();
		if (mr_train_verbose)
			ereport(NOTICE,
					(errmsg("training \"%s\" (%s): read " INT64_FORMAT " ratings of %d users and %d movies",
							model_name, algorithm, (int64) data.r.nnz,
							data.r.n_users, data.r.n_items)));

		/* the exact need of the rest, before allocating it */
		memset(&f, 0, sizeof(f));
		f.n_users = data.r.n_users;
		f.n_items = data.r.n_items;
		f.k = MrModelFactors(algorithm, &params);
		need = mul_size(add_size(data.r.n_users, data.r.n_items),
						mul_size(add_size(f.k, 1), sizeof(float)));
		if (strcmp(algorithm, "ease") == 0)
			MrEaseCheckBudget(&mem, &data.r, &params);
		need = add_size(need, MrKernelWorkspace(algorithm, &data.r, &params));
		MrTrainCheckBudget(&mem, need, "factors and kernel workspace");

		f.global_mean = (float) (data.rating_sum / data.r.nnz);
		f.user_bias = MrTrainAlloc(&mem, mul_size(f.n_users, sizeof(float)));
		f.item_bias = MrTrainAlloc(&mem, mul_size(f.n_items, sizeof(float)));
		if (f.k > 0)
		{
			f.P = MrTrainAlloc(&mem, mul_size(mul_size(f.n_users, f.k), sizeof(float)));
			f.Q = MrTrainAlloc(&mem, mul_size(mul_size(f.n_items, f.k), sizeof(float)));
		}

		/* train */
		env.alloc = MrEnvAlloc;
		env.free = MrEnvFree;
		env.check = MrEnvCheck;
		env.progress = MrEnvProgress;
		env.arg = &mem;
		MrProgressUpdate("training", 0, params.iterations, get_float8_nan());
		INSTR_TIME_SET_CURRENT(t0);
		if (bayes)
			(void) MrTrainBayesImplicit(&data.r, &implicit, &params, &env, &f, &bayes_stats);
		else
			(void) MrRunKernel(algorithm, &data.r, &params, &env, &f);
		INSTR_TIME_SET_CURRENT(t1);
		INSTR_TIME_SUBTRACT(t1, t0);
		CHECK_FOR_INTERRUPTS();

		/* store */
		MrProgressUpdate("writing", 0, 0, get_float8_nan());
		row.model_name = model_name;
		row.algorithm = algorithm;
		row.params = MrParamsToJsonb(algorithm, &params);
		if (bayes)
			row.params = MrBayesParamsOut(row.params, implicit_source, &bayes_stats);
		if (snapshot != NULL)
			row.params = DatumGetJsonbP(DirectFunctionCall2(jsonb_concat,
															JsonbPGetDatum(row.params),
															DirectFunctionCall1(jsonb_in,
																				CStringGetDatum(psprintf("{\"snapshot\": \"%s\"}", snapshot)))));
		row.source = quote_qualified_identifier(get_namespace_name(get_rel_namespace(source)),
												get_rel_name(source));
		row.user_col = cols[0];
		row.item_col = cols[1];
		row.rating_col = cols[2];
		row.train_seconds = INSTR_TIME_GET_DOUBLE(t1);
		row.read_seconds = data.read_seconds;
		row.peak_memory_bytes = (int64) mem.peak;
		model_id = MrStoreModel(&row, &data, &f);
		if (strcmp(algorithm, "ease") == 0)
			MrEaseStore(model_id, &data);
	}
	PG_FINALLY();
	{
		MrProgressEnd();
		MrForgetReadStats();
		MrStatsTrainEnd(algorithm, model_name, model_id);
	}
	PG_END_TRY();

	MemoryContextDelete(mem.cxt);
	PG_RETURN_INT64(model_id);
}
