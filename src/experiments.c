/*
 * experiments.c: the C side of online experiments (install/72_experiments.sql).
 *
 * SQL wrappers around the distribution functions of src/kernels/stats.c
 * (normal CDF and quantile, Student t, chi-squared, exact binomial test),
 * the assignment bucket hash, and movierec.synthetic_truth(), which gives
 * the planted, noiseless score that generate_ratings() drew for a user and
 * movies: the click model of the experiment simulator (bench/experiments).
 * Everything else about experiments is SQL.
 */
#include "movierec.h"

#include <limits.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "stat_dist.h"
#include "synth.h"

static int	mr_attribution_window = 86400;

void		MrExperimentsInit(void);

/* Define the experiment settings (called from _PG_init). */
void
MrExperimentsInit(void)
{
	DefineCustomIntVariable("movierec.attribution_window",
							"How long after an exposure feedback on a shown movie is attributed to it.",
							"log_feedback and the ratings trigger attribute an event to the latest "
							"exposure of that user that showed the movie within this window.",
							&mr_attribution_window,
							86400, 1, INT_MAX,
							PGC_USERSET, GUC_UNIT_S,
							NULL, NULL, NULL);
}

PG_FUNCTION_INFO_V1(movierec_normal_cdf);
PG_FUNCTION_INFO_V1(movierec_normal_quantile);
PG_FUNCTION_INFO_V1(movierec_student_t_cdf);
PG_FUNCTION_INFO_V1(movierec_chi2_sf);
PG_FUNCTION_INFO_V1(movierec_binomial_test);
PG_FUNCTION_INFO_V1(movierec_assign_bucket);
PG_FUNCTION_INFO_V1(movierec_synthetic_truth);

/* Raise invalid_parameter_value for an argument out of its domain. */
static void
bad_arg(const char *what, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s", what), errhint("%s", hint)));
}

/* movierec.normal_cdf(x float8) */
Datum
movierec_normal_cdf(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(MrNormalCdf(PG_GETARG_FLOAT8(0)));
}

/* movierec.normal_quantile(p float8) */
Datum
movierec_normal_quantile(PG_FUNCTION_ARGS)
{
	float8		p = PG_GETARG_FLOAT8(0);

	if (!(p > 0 && p < 1))
		bad_arg("p must be between 0 and 1 (exclusive)", "Pass a probability such as 0.975.");
	PG_RETURN_FLOAT8(MrNormalQuantile(p));
}

/* movierec.student_t_cdf(t float8, df float8) */
Datum
movierec_student_t_cdf(PG_FUNCTION_ARGS)
{
	float8		df = PG_GETARG_FLOAT8(1);

	if (!(df > 0))
		bad_arg("df must be positive", "Pass the degrees of freedom, such as n - 1.");
	PG_RETURN_FLOAT8(MrStudentTCdf(PG_GETARG_FLOAT8(0), df));
}

/* movierec.chi2_sf(x float8, df float8) */
Datum
movierec_chi2_sf(PG_FUNCTION_ARGS)
{
	float8		df = PG_GETARG_FLOAT8(1);

	if (!(df > 0))
		bad_arg("df must be positive", "Pass the degrees of freedom, such as cells - 1.");
	PG_RETURN_FLOAT8(MrChi2Sf(PG_GETARG_FLOAT8(0), df));
}

/* movierec.binomial_test(k bigint, n bigint, p float8) */
Datum
movierec_binomial_test(PG_FUNCTION_ARGS)
{
	int64		k = PG_GETARG_INT64(0);
	int64		n = PG_GETARG_INT64(1);
	float8		p = PG_GETARG_FLOAT8(2);

	if (n < 0 || k < 0 || k > n)
		bad_arg("k must be between 0 and n", "Pass the successes k and the trials n >= k.");
	if (!(p >= 0 && p <= 1))
		bad_arg("p must be between 0 and 1", "Pass the success probability under the null, such as 0.5.");
	PG_RETURN_FLOAT8(MrBinomTestTwoSided(k, n, p));
}

/* movierec._assign_bucket(salt text, user_id bigint) RETURNS int */
Datum
movierec_assign_bucket(PG_FUNCTION_ARGS)
{
	text	   *salt = PG_GETARG_TEXT_PP(0);

	PG_RETURN_INT32(MrAssignBucket(VARDATA_ANY(salt), VARSIZE_ANY_EXHDR(salt),
								   PG_GETARG_INT64(1)));
}

/* Allocation callbacks for the synth kernel, in TopMemoryContext. */
static void *
truth_alloc(void *arg, size_t bytes)
{
	return MemoryContextAllocExtended(TopMemoryContext, Max(bytes, 1),
									  MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
}

/* Free for the kernel. */
static void
truth_free(void *arg, void *p)
{
	pfree(p);
}

/* The last model drawn, kept for the next call with the same shape. */
static MrSynth *truth_model = NULL;
static MrSynthParams truth_params;

/*
 * movierec.synthetic_truth(user_id bigint, movie_ids bigint[], n_users int,
 *     n_movies int, rank int, seed int) RETURNS float8[]
 *
 * mu + b_u + b_i + p_u . q_i of generate_ratings(n_users, n_movies, any,
 * rank, any, seed) (the draw of biases and factors does not depend on
 * n_ratings or noise).  NULL for ids outside 1..n.
 */
Datum
movierec_synthetic_truth(PG_FUNCTION_ARGS)
{
	int64		user_id = PG_GETARG_INT64(0);
	ArrayType  *movies = PG_GETARG_ARRAYTYPE_P(1);
	MrSynthParams p;
	const char *problem;
	Datum	   *ids;
	bool	   *nulls;
	int			n;
	Datum	   *out;
	bool	   *onull;
	int			dims[1];
	int			lbs[1] = {1};

	memset(&p, 0, sizeof(p));
	p.n_users = PG_GETARG_INT32(2);
	p.n_movies = PG_GETARG_INT32(3);
	p.n_ratings = p.n_users;
	p.rank = PG_GETARG_INT32(4);
	p.noise = 0.5;
	p.seed = (uint64) (int64) PG_GETARG_INT32(5);
	problem = MrSynthCheck(&p);
	if (problem)
		bad_arg(problem, "Pass the n_users, n_movies, rank and seed given to generate_ratings.");
	if (truth_model == NULL || truth_params.n_users != p.n_users ||
		truth_params.n_movies != p.n_movies || truth_params.rank != p.rank ||
		truth_params.seed != p.seed)
	{
		if (truth_model)
			MrSynthFree(truth_model);
		truth_model = NULL;
		p.alloc = truth_alloc;
		p.free = truth_free;
		truth_model = MrSynthCreate(&p);
		truth_params = p;
	}
	deconstruct_array(movies, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &ids, &nulls, &n);
	out = palloc(sizeof(Datum) * Max(n, 1));
	onull = palloc0(sizeof(bool) * Max(n, 1));
	for (int j = 0; j < n; j++)
	{
		int64		m = DatumGetInt64(ids[j]);

		if (nulls[j] || user_id < 1 || user_id > p.n_users || m < 1 || m > p.n_movies)
			onull[j] = true;
		else
			out[j] = Float8GetDatum(MrSynthTruth(truth_model, (int32) (user_id - 1),
												 (int32) (m - 1)));
	}
	dims[0] = n;
	PG_RETURN_ARRAYTYPE_P(construct_md_array(out, onull, 1, dims, lbs, FLOAT8OID, 8,
											 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}
