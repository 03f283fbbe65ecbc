/*
 * libFuzzer target: train()'s params validation (src/kernels/params_check.c).
 *
 * The first input byte chooses the algorithm (one of the seven, or none),
 * the rest is the params text.  Checked beyond "no crash": a refusal
 * leaves the params unchanged and names a key of the algorithm where it
 * should; an accepted object leaves every key of the algorithm inside its
 * range (integral for an integer key); and the accepted params, written
 * back as JSON the way train() stores them (every key), read back to the
 * same values, bit for bit.
 */
// sources: src/kernels/params_check.c
#include "params_check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Abort unless cond holds (libFuzzer reports it as a crash). */
static void
check(int cond)
{
	if (!cond)
		abort();
}

/* Size in MrTrainParams of the field of d. */
static size_t
field_size(const MrParamDef *d)
{
	if (MrParamIsSeed(d))
		return sizeof(uint64_t);
	return d->type == MR_P_NUM ? sizeof(double) : sizeof(int);
}

/* True if every field any key names is the same in a and b. */
static int
same_fields(const MrTrainParams *a, const MrTrainParams *b)
{
	for (int j = 0; j < MrNParamDefs; j++)
	{
		const MrParamDef *d = &MrParamDefs[j];

		if (memcmp((const char *) a + d->offset, (const char *) b + d->offset, field_size(d)) != 0)
			return 0;
	}
	return 1;
}

/* Check that every key of bit holds a value inside its range. */
static void
check_ranges(int bit, const MrTrainParams *p)
{
	const char *base = (const char *) p;

	for (int j = 0; j < MrNParamDefs; j++)
	{
		const MrParamDef *d = &MrParamDefs[j];
		double		x;

		if (!(d->algorithms & bit))
			continue;
		if (MrParamIsSeed(d))
		{
			check(*(const uint64_t *) (base + d->offset) <= (uint64_t) INT64_MAX);
			continue;
		}
		if (d->type == MR_P_NUM)
			x = *(const double *) (base + d->offset);
		else
			x = *(const int *) (base + d->offset);
		check(isfinite(x) && x <= d->max && (d->min_exclusive ? x > d->min : x >= d->min));
	}
}

/* The params of bit as JSON, every key (as MrParamsToJsonb writes them). */
static size_t
params_json(int bit, const MrTrainParams *p, char *buf, size_t cap)
{
	const char *base = (const char *) p;
	size_t		n = 0;

	n += snprintf(buf + n, cap - n, "{");
	for (int j = 0; j < MrNParamDefs; j++)
	{
		const MrParamDef *d = &MrParamDefs[j];
		const char *sep = n > 1 ? ", " : "";

		if (!(d->algorithms & bit))
			continue;
		if (MrParamIsSeed(d))
			n += snprintf(buf + n, cap - n, "%s\"%s\": %llu", sep, d->key,
						  (unsigned long long) *(const uint64_t *) (base + d->offset));
		else if (d->type == MR_P_NUM)
			n += snprintf(buf + n, cap - n, "%s\"%s\": %.17g", sep, d->key,
						  *(const double *) (base + d->offset));
		else if (d->type == MR_P_BOOL)
			n += snprintf(buf + n, cap - n, "%s\"%s\": %s", sep, d->key,
						  *(const int *) (base + d->offset) ? "true" : "false");
		else
			n += snprintf(buf + n, cap - n, "%s\"%s\": %d", sep, d->key,
						  *(const int *) (base + d->offset));
		check(n < cap);
	}
	n += snprintf(buf + n, cap - n, "}");
	check(n < cap);
	return n;
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One input: an algorithm byte, then the params text. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const algs[] = {"popularity", "baseline", "als", "svd", "ials", "ease", "bayes", "none"};
	MrTrainParams start,
				p,
				again;
	MrParamsError err;
	MrParamsStatus st;
	const char *alg;
	int			bit;
	char	   *text;
	char		out[2048];
	size_t		n;

	if (size < 1)
		return 0;
	alg = algs[data[0] % 8];
	bit = MrParamAlgorithmBit(alg);
	check(bit == 0 || (bit & (bit - 1)) == 0);
	text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';

	/* start from a recognisable state, in range for the algorithm's keys */
	memset(&start, 0, sizeof(start));
	for (int j = 0; j < 2 * MrNParamDefs; j++)
	{
		const MrParamDef *d = &MrParamDefs[j % MrNParamDefs];
		char	   *f = (char *) &start + d->offset;

		if (j >= MrNParamDefs && !(d->algorithms & bit))
			continue;			/* second pass: the algorithm's own rows */

		if (MrParamIsSeed(d))
			*(uint64_t *) f = 42;
		else if (d->type == MR_P_NUM)
			*(double *) f = d->max;
		else
			*(int *) f = (int) d->max;
	}
	p = start;
	st = MrParamsApply(bit, text, size - 1, &p, &err);
	check(st == err.status);
	check(err.pos <= size - 1);
	if (st != MR_PARAMS_OK)
	{
		check(same_fields(&p, &start));
		if (st == MR_PARAMS_UNKNOWN_KEY)
			check(err.key_index >= 0);
		if (st == MR_PARAMS_BAD_VALUE)
			check(err.key_index >= 0 && err.def != NULL && (err.def->algorithms & bit));
		if (err.def != NULL)
			check(err.key_index >= 0 && (err.def->algorithms & bit));
		free(text);
		return 0;
	}
	check_ranges(bit, &p);
	n = params_json(bit, &p, out, sizeof(out));
	again = start;
	check(MrParamsApply(bit, out, n, &again, &err) == MR_PARAMS_OK);
	check(same_fields(&p, &again));
	free(text);
	return 0;
}
