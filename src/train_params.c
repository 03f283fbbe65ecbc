/*
 * train_params.c: validate a params jsonb against the algorithm and
 * resolve it to MrTrainParams.
 *
 * Design.  One table lists every key: its type (integer, number or
 * boolean), its valid range, and the algorithms that use it.  A call
 * starts from the kernels' defaults (MrDefaultParams, mf_defaults.h),
 * applies movierec.train_threads, and then overrides with the keys the
 * caller gave; a key the algorithm does not use, a value of the wrong
 * type or out of range is an error that names the key, the range and the
 * default.  The resolved params are written back as jsonb with every key
 * of the algorithm, so that a stored model says exactly how it was
 * trained and the jsonb can be passed to train() again.
 */
#include "postgres.h"

#include <math.h>

#include "common/shortest_dec.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "mf_defaults.h"
#include "train.h"

/* algorithm bits */
#define A_POP	0x01
#define A_BASE	0x02
#define A_ALS	0x04
#define A_SVD	0x08
#define A_IALS	0x10
#define A_EASE	0x20
#define A_ALL	0x3f
#define A_BAYES	0x40			/* not in mr_algorithms: see MrAlgorithmBit */

static const char *const mr_algorithms[] = {"popularity", "baseline", "als", "svd", "ials", "ease"};

typedef enum MrParamType
{
	MR_P_INT,
	MR_P_NUM,
	MR_P_BOOL
} MrParamType;

typedef struct MrParamDef
{
	const char *key;
	MrParamType type;
	double		min;
	double		max;
	bool		min_exclusive;	/* valid range is (min, max] */
	int			algorithms;		/* A_* bits */
	size_t		offset;			/* in MrTrainParams */
} MrParamDef;

#define OFF(f) offsetof(MrTrainParams, f)

/* Every key, alphabetical (the order of hints and of the stored jsonb). */
static const MrParamDef mr_params[] = {
	{"alpha", MR_P_NUM, 0, 1e6, false, A_IALS, OFF(alpha)},
	{"binarize", MR_P_NUM, 0, 1e6, false, A_IALS | A_EASE, OFF(binarize)},
	{"cg_steps", MR_P_INT, 1, 100, false, A_IALS, OFF(cg_steps)},
	{"factors", MR_P_INT, 1, 1024, false, A_ALS | A_SVD | A_IALS, OFF(factors)},
	{"init_std", MR_P_NUM, 0, 10, false, A_ALS | A_SVD | A_IALS, OFF(init_std)},
	{"iterations", MR_P_INT, 1, 1000, false, A_BASE | A_ALS | A_SVD | A_IALS, OFF(iterations)},
	{"learning_rate", MR_P_NUM, 0, 1, true, A_SVD, OFF(learning_rate)},
	{"lr_decay", MR_P_NUM, 0, 1, true, A_SVD, OFF(lr_decay)},
	{"min_item_ratings", MR_P_INT, 1, 2147483647, false, A_EASE, OFF(min_item_ratings)},
	{"reg_frequency", MR_P_NUM, 0, 1e6, false, A_IALS, OFF(reg_frequency)},
	{"reg_item_bias", MR_P_NUM, 0, 1e6, false, A_POP | A_BASE | A_ALS | A_SVD, OFF(reg_item_bias)},
	{"reg_user_bias", MR_P_NUM, 0, 1e6, false, A_BASE | A_ALS | A_SVD, OFF(reg_user_bias)},
	{"regularization", MR_P_NUM, 0, 1e6, false, A_ALS | A_SVD | A_IALS | A_EASE, OFF(regularization)},
	{"seed", MR_P_INT, 0, 9223372036854775807.0, false, A_ALL, OFF(seed)},
	{"threads", MR_P_INT, 1, 64, false, A_ALL, OFF(threads)},
	{"use_bias", MR_P_BOOL, 0, 1, false, A_ALS | A_SVD, OFF(use_bias)},
	/* bayes (kern_bayes.c); also alphabetical */
	{"burn_in", MR_P_INT, 0, 100000, false, A_BAYES, OFF(burn_in)},
	{"factors", MR_P_INT, 1, 256, false, A_BAYES, OFF(factors)},
	{"implicit", MR_P_BOOL, 0, 1, false, A_BAYES, OFF(implicit)},
	{"implicit_items", MR_P_BOOL, 0, 1, false, A_BAYES, OFF(implicit_items)},
	{"init_std", MR_P_NUM, 0, 10, false, A_BAYES, OFF(init_std)},
	{"iterations", MR_P_INT, 1, 100000, false, A_BAYES, OFF(iterations)},
	{"seed", MR_P_INT, 0, 9223372036854775807.0, false, A_BAYES, OFF(seed)},
	{"threads", MR_P_INT, 1, 64, false, A_BAYES, OFF(threads)},
	{"use_bias", MR_P_BOOL, 0, 1, false, A_BAYES, OFF(use_bias)},
};

#define MR_N_PARAMS lengthof(mr_params)

/* The A_* bit of an algorithm name, or 0. */
static int
MrAlgorithmBit(const char *algorithm)
{
	for (int a = 0; a < lengthof(mr_algorithms); a++)
		if (strcmp(algorithm, mr_algorithms[a]) == 0)
			return 1 << a;
	if (strcmp(algorithm, "bayes") == 0)
		return A_BAYES;
	return 0;
}

/* A parameter's current value formatted for messages and jsonb. */
static char *
MrParamValueText(const MrParamDef *d, const MrTrainParams *p)
{
	const char *base = (const char *) p;

	if (strcmp(d->key, "seed") == 0)
		return psprintf(UINT64_FORMAT, *(const uint64_t *) (base + d->offset));
	switch (d->type)
	{
		case MR_P_INT:
			return psprintf("%d", *(const int *) (base + d->offset));
		case MR_P_BOOL:
			return pstrdup(*(const int *) (base + d->offset) ? "true" : "false");
		case MR_P_NUM:
			return double_to_shortest_decimal(*(const double *) (base + d->offset));
	}
	return NULL;
}

/* The valid range of a parameter in words, e.g. "an integer between 1 and 1024". */
static char *
MrParamRangeText(const MrParamDef *d)
{
	if (d->type == MR_P_BOOL)
		return pstrdup("true or false");
	if (strcmp(d->key, "seed") == 0)
		return pstrdup("an integer between 0 and 9223372036854775807");
	if (d->type == MR_P_INT)
		return psprintf("an integer between %.0f and %.0f", d->min, d->max);
	if (d->min_exclusive)
		return psprintf("a number greater than %s and at most %s",
						double_to_shortest_decimal(d->min),
						double_to_shortest_decimal(d->max));
	return psprintf("a number between %s and %s",
					double_to_shortest_decimal(d->min),
					double_to_shortest_decimal(d->max));
}

/* Comma-separated keys of an algorithm, for hints. */
static char *
MrParamKeysText(int bit)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int j = 0; j < MR_N_PARAMS; j++)
		if (mr_params[j].algorithms & bit)
			appendStringInfo(&buf, "%s%s", buf.len ? ", " : "", mr_params[j].key);
	return buf.data;
}

/* Error for a bad value of d: names the key, the range and the default. */
static void
MrParamRangeError(const MrParamDef *d, const char *algorithm,
				  const MrTrainParams *defaults, const char *given)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("parameter \"%s\" must be %s, not %s",
					d->key, MrParamRangeText(d), given),
			 errhint("Leave \"%s\" out to use the default for %s, %s.",
					 d->key, algorithm, MrParamValueText(d, defaults))));
}

/* Store one jsonb value into p after checking type and range. */
static void
MrParamSet(const MrParamDef *d, const JsonbValue *v, const char *algorithm,
		   const MrTrainParams *defaults, MrTrainParams *p)
{
	char	   *base = (char *) p;
	double		x;

	if (d->type == MR_P_BOOL)
	{
		if (v->type != jbvBool)
			MrParamRangeError(d, algorithm, defaults,
							  JsonbToCString(NULL, &JsonbValueToJsonb((JsonbValue *) v)->root, 0));
		*(int *) (base + d->offset) = v->val.boolean ? 1 : 0;
		return;
	}
	if (v->type != jbvNumeric)
		MrParamRangeError(d, algorithm, defaults,
						  JsonbToCString(NULL, &JsonbValueToJsonb((JsonbValue *) v)->root, 0));
	if (numeric_is_nan(v->val.numeric))
		MrParamRangeError(d, algorithm, defaults, "NaN");
	x = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
	if (isnan(x) || isinf(x) ||
		(d->min_exclusive ? x <= d->min : x < d->min) || x > d->max ||
		(d->type == MR_P_INT && x != floor(x)) ||
		(x >= d->max && d->type == MR_P_INT &&
		 DatumGetBool(DirectFunctionCall2(numeric_gt, NumericGetDatum(v->val.numeric),
										  NumericGetDatum(int64_to_numeric(PG_INT64_MAX))))))
		MrParamRangeError(d, algorithm, defaults, numeric_normalize(v->val.numeric));
	if (strcmp(d->key, "seed") == 0)
		*(uint64_t *) (base + d->offset) =
			(uint64_t) DatumGetInt64(DirectFunctionCall1(numeric_int8,
														 NumericGetDatum(v->val.numeric)));
	else if (d->type == MR_P_INT)
		*(int *) (base + d->offset) = (int) x;
	else
		*(double *) (base + d->offset) = x;
}

/*
 * Resolve params for algorithm (already known valid): defaults, then
 * movierec.train_threads, then the given keys.
 */
void
MrResolveParams(const char *algorithm, Jsonb *given, MrTrainParams *out)
{
	int			bit = MrAlgorithmBit(algorithm);
	MrTrainParams defaults;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	Assert(bit != 0);
	memset(&defaults, 0, sizeof(defaults));
	MrDefaultParams(algorithm, &defaults);
	defaults.threads = mr_train_threads;
	*out = defaults;
	if (given == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(given) || JB_ROOT_IS_SCALAR(given))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params must be a json object"),
				 errhint("Pass e.g. '{\"factors\": 64, \"iterations\": 15}'::jsonb, or '{}' for the defaults.")));

	it = JsonbIteratorInit(&given->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		const MrParamDef *d = NULL;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		for (int j = 0; j < MR_N_PARAMS; j++)
			if (strcmp(mr_params[j].key, key) == 0 && (mr_params[j].algorithms & bit))
				d = &mr_params[j];
		if (d == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown parameter \"%s\" for algorithm %s", key, algorithm),
					 errhint("Valid keys for %s: %s.", algorithm, MrParamKeysText(bit))));
		tok = JsonbIteratorNext(&it, &v, true);
		Assert(tok == WJB_VALUE);
		MrParamSet(d, &v, algorithm, &defaults, out);
	}
}

/* The resolved params as jsonb: every key the algorithm uses. */
Jsonb *
MrParamsToJsonb(const char *algorithm, const MrTrainParams *p)
{
	int			bit = MrAlgorithmBit(algorithm);
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int j = 0; j < MR_N_PARAMS; j++)
	{
		const MrParamDef *d = &mr_params[j];

		if (!(d->algorithms & bit))
			continue;
		appendStringInfo(&buf, "%s\"%s\": %s", buf.len > 1 ? ", " : "",
						 d->key, MrParamValueText(d, p));
	}
	appendStringInfoChar(&buf, '}');
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}

PG_FUNCTION_INFO_V1(movierec_default_params);

/*
 * movierec.default_params(algorithm) RETURNS jsonb: the params train()
 * would store for algorithm given '{}'.
 */
Datum
movierec_default_params(PG_FUNCTION_ARGS)
{
	char	   *algorithm = text_to_cstring(PG_GETARG_TEXT_PP(0));
	MrTrainParams p;

	if (!MrAlgorithmKnown(algorithm))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown algorithm \"%s\"", algorithm),
				 errhint("Use one of popularity, baseline, als, svd, ials, ease, bayes.")));
	MrResolveParams(algorithm, NULL, &p);
	PG_RETURN_JSONB_P(MrParamsToJsonb(algorithm, &p));
}
