/*
 * train_params.c: validate a params jsonb against the algorithm and
 * resolve it to MrTrainParams.
 *
 * Design.  The rules (every key, its type, its valid range and the
 * algorithms that use it) and their checking are plain C in
 * src/kernels/params_check.c, fuzzed by test/fuzz/params.c; this file is
 * the glue.  A call starts from the kernels' defaults (MrDefaultParams,
 * mf_defaults.h), applies movierec.train_threads, and then has the kernel
 * override them with the keys the caller gave (the jsonb as text); a key
 * the algorithm does not use, a value of the wrong type or out of range
 * is an error that names the key, the range and the default.  The
 * resolved params are written back as jsonb with every key of the
 * algorithm, so that a stored model says exactly how it was trained and
 * the jsonb can be passed to train() again.
 */
#include "postgres.h"

#include "common/shortest_dec.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "mf_defaults.h"
#include "params_check.h"
#include "train.h"

/* A parameter's current value formatted for messages and jsonb. */
static char *
MrParamValueText(const MrParamDef *d, const MrTrainParams *p)
{
	const char *base = (const char *) p;

	if (MrParamIsSeed(d))
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
	if (MrParamIsSeed(d))
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
	for (int j = 0; j < MrNParamDefs; j++)
		if (MrParamDefs[j].algorithms & bit)
			appendStringInfo(&buf, "%s%s", buf.len ? ", " : "", MrParamDefs[j].key);
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

/* The key_index-th key of object given (iteration order) and its value. */
static void
MrParamsNthMember(Jsonb *given, int key_index, char **key, JsonbValue *value)
{
	JsonbIterator *it = JsonbIteratorInit(&given->root);
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			n = 0;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok != WJB_KEY)
			continue;
		if (n++ == key_index)
		{
			*key = pnstrdup(v.val.string.val, v.val.string.len);
			tok = JsonbIteratorNext(&it, value, true);
			Assert(tok == WJB_VALUE);
			return;
		}
	}
	elog(ERROR, "params key %d not found", key_index);
}

/* A jsonb value as the user wrote it, for "not ..." in messages. */
static char *
MrParamGivenText(JsonbValue *v)
{
	if (v->type == jbvNumeric)
		return numeric_is_nan(v->val.numeric) ? pstrdup("NaN") : numeric_normalize(v->val.numeric);
	return JsonbToCString(NULL, &JsonbValueToJsonb(v)->root, 0);
}

/*
 * Resolve params for algorithm (already known valid): defaults, then
 * movierec.train_threads, then the given keys.
 */
void
MrResolveParams(const char *algorithm, Jsonb *given, MrTrainParams *out)
{
	int			bit = MrParamAlgorithmBit(algorithm);
	MrTrainParams defaults;
	MrParamsError err;
	char	   *text;
	char	   *key;
	JsonbValue	v;

	Assert(bit != 0);
	memset(&defaults, 0, sizeof(defaults));
	MrDefaultParams(algorithm, &defaults);
	defaults.threads = mr_train_threads;
	*out = defaults;
	if (given == NULL)
		return;
	text = JsonbToCString(NULL, &given->root, VARSIZE(given));
	switch (MrParamsApply(bit, text, strlen(text), out, &err))
	{
		case MR_PARAMS_OK:
			return;
		case MR_PARAMS_NOT_OBJECT:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("params must be a json object"),
					 errhint("Pass e.g. '{\"factors\": 64, \"iterations\": 15}'::jsonb, or '{}' for the defaults.")));
			break;
		case MR_PARAMS_UNKNOWN_KEY:
			MrParamsNthMember(given, err.key_index, &key, &v);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown parameter \"%s\" for algorithm %s", key, algorithm),
					 errhint("Valid keys for %s: %s.", algorithm, MrParamKeysText(bit))));
			break;
		case MR_PARAMS_BAD_VALUE:
		case MR_PARAMS_SYNTAX:
			/* jsonb's own text is JSON: a syntax error is in a value it holds (NaN) */
			if (err.def == NULL)
				elog(ERROR, "could not read params %s at byte %zu", text, err.pos);
			MrParamsNthMember(given, err.key_index, &key, &v);
			MrParamRangeError(err.def, algorithm, &defaults, MrParamGivenText(&v));
			break;
	}
}

/* The resolved params as jsonb: every key the algorithm uses. */
Jsonb *
MrParamsToJsonb(const char *algorithm, const MrTrainParams *p)
{
	int			bit = MrParamAlgorithmBit(algorithm);
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int j = 0; j < MrNParamDefs; j++)
	{
		const MrParamDef *d = &MrParamDefs[j];

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
