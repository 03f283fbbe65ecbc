/*
 * Unit test of train()'s params rules (src/kernels/params_check.c): the
 * table (algorithm bits, per-algorithm ranges), each failure kind with the
 * key it names, the seed read exactly to 2^63-1 and rounded as numeric
 * rounds, escapes in keys, "first failure wins, nothing written", and
 * JSON syntax the reader must refuse.  Prints TAP.
 */
// sources: src/kernels/params_check.c
// cross: aarch64
#include "params_check.h"

#include <stdio.h>
#include <string.h>

static int	n_test = 0;

/* Print one TAP line. */
static void
ok(int cond, const char *what)
{
	printf("%sok %d - %s\n", cond ? "" : "not ", ++n_test, what);
}

static MrTrainParams base;

/* Apply json for algorithm into a copy of base; returns the status. */
static MrParamsStatus
apply(const char *algorithm, const char *json, MrTrainParams *p, MrParamsError *err)
{
	*p = base;
	return MrParamsApply(MrParamAlgorithmBit(algorithm), json, strlen(json), p, err);
}

/* True if json for algorithm fails with status at key index ki naming key. */
static int
fails(const char *algorithm, const char *json, MrParamsStatus status, int ki, const char *key)
{
	MrTrainParams p;
	MrParamsError err;

	if (apply(algorithm, json, &p, &err) != status || err.status != status)
		return 0;
	if (memcmp(&p, &base, sizeof(p)) != 0)
		return 0;				/* bad input changes nothing */
	if (err.key_index != ki)
		return 0;
	if (key != NULL && (err.def == NULL || strcmp(err.def->key, key) != 0))
		return 0;
	return 1;
}

int
main(void)
{
	MrTrainParams p;
	MrParamsError err;
	const MrParamDef *d;

	memset(&base, 0, sizeof(base));
	base.factors = 64;
	base.iterations = 15;
	base.seed = 42;

	/* the table */
	ok(MrParamAlgorithmBit("popularity") == MR_ALG_POPULARITY &&
	   MrParamAlgorithmBit("ease") == MR_ALG_EASE &&
	   MrParamAlgorithmBit("bayes") == MR_ALG_BAYES &&
	   MrParamAlgorithmBit("knn") == 0 && MrParamAlgorithmBit(NULL) == 0,
	   "algorithm bits, unknown algorithm is 0");
	d = MrParamFind(MR_ALG_ALS, "factors", 7);
	ok(d != NULL && d->max == 1024, "als factors up to 1024");
	d = MrParamFind(MR_ALG_BAYES, "factors", 7);
	ok(d != NULL && d->max == 256, "bayes factors up to 256 (its own row)");
	ok(MrParamFind(MR_ALG_BASELINE, "factors", 7) == NULL, "baseline has no factors");
	ok(MrParamFind(MR_ALG_ALS, "factor", 6) == NULL &&
	   MrParamFind(MR_ALG_ALS, "factorsx", 8) == NULL, "prefix and longer key are not keys");
	d = MrParamFind(MR_ALG_ALS, "seed", 4);
	ok(d != NULL && MrParamIsSeed(d) && !MrParamIsSeed(MrParamFind(MR_ALG_ALS, "threads", 7)),
	   "seed is the uint64 key");

	/* accepted */
	ok(apply("als", "{}", &p, &err) == MR_PARAMS_OK && memcmp(&p, &base, sizeof(p)) == 0,
	   "{} keeps everything");
	ok(apply("als", " { \"factors\" : 8 ,\n\"iterations\":3,\t\"regularization\": 0.25, \"use_bias\": false} ",
			 &p, &err) == MR_PARAMS_OK &&
	   p.factors == 8 && p.iterations == 3 && p.regularization == 0.25 && p.use_bias == 0,
	   "keys of each type, with whitespace");
	ok(apply("als", "{\"iterations\": 1e3, \"factors\": 16.0}", &p, &err) == MR_PARAMS_OK &&
	   p.iterations == 1000 && p.factors == 16, "exponent and .0 are integers");
	ok(apply("als", "{\"factors\": 8, \"factors\": 9}", &p, &err) == MR_PARAMS_OK && p.factors == 9,
	   "duplicate key: the last wins");
	ok(apply("als", "{\"fac\\u0074ors\": 12}", &p, &err) == MR_PARAMS_OK && p.factors == 12,
	   "escaped key decodes to a known key");
	ok(apply("svd", "{\"learning_rate\": 1}", &p, &err) == MR_PARAMS_OK && p.learning_rate == 1,
	   "exclusive-min range includes its max");
	ok(apply("bayes", "{\"implicit\": true, \"burn_in\": 0}", &p, &err) == MR_PARAMS_OK &&
	   p.implicit == 1 && p.burn_in == 0, "bayes keys");

	/* seed: exact to 2^63-1 */
	ok(apply("als", "{\"seed\": 9223372036854775807}", &p, &err) == MR_PARAMS_OK &&
	   p.seed == 9223372036854775807ULL, "seed 2^63-1 exactly");
	ok(apply("als", "{\"seed\": 9223372036854775807.0}", &p, &err) == MR_PARAMS_OK &&
	   p.seed == 9223372036854775807ULL, "seed 2^63-1 with .0");
	ok(apply("als", "{\"seed\": 9223372036854775806}", &p, &err) == MR_PARAMS_OK &&
	   p.seed == 9223372036854775806ULL, "seed 2^63-2 (not the double's value)");
	ok(apply("als", "{\"seed\": 0.9223372036854775806e19}", &p, &err) == MR_PARAMS_OK &&
	   p.seed == 9223372036854775806ULL, "seed with fraction digits and an exponent");
	ok(apply("als", "{\"seed\": 12345678901234567.5}", &p, &err) == MR_PARAMS_OK &&
	   p.seed == 12345678901234568ULL, "seed fraction below double precision rounds half up");
	ok(apply("als", "{\"seed\": 100.0000000000000000001}", &p, &err) == MR_PARAMS_OK &&
	   p.seed == 100, "tiny fraction rounds down");
	ok(apply("als", "{\"seed\": -0}", &p, &err) == MR_PARAMS_OK && p.seed == 0, "seed -0 is 0");
	ok(fails("als", "{\"seed\": 9223372036854775808}", MR_PARAMS_BAD_VALUE, 0, "seed"),
	   "seed 2^63 is out of range");
	ok(fails("als", "{\"seed\": 9223372036854775807.4}", MR_PARAMS_BAD_VALUE, 0, "seed"),
	   "seed just above 2^63-1 is out of range");
	ok(fails("als", "{\"seed\": 1e19}", MR_PARAMS_BAD_VALUE, 0, "seed"), "seed 1e19 out of range");
	ok(fails("als", "{\"seed\": -1}", MR_PARAMS_BAD_VALUE, 0, "seed"), "seed -1 out of range");

	/* the regression test's refusals, as the kernel sees them */
	ok(fails("als", "{\"factors\": 0}", MR_PARAMS_BAD_VALUE, 0, "factors"), "factors 0");
	ok(fails("als", "{\"factors\": -3}", MR_PARAMS_BAD_VALUE, 0, "factors"), "factors -3");
	ok(fails("als", "{\"factors\": 2.5}", MR_PARAMS_BAD_VALUE, 0, "factors"), "factors 2.5");
	ok(fails("als", "{\"factors\": \"64\"}", MR_PARAMS_BAD_VALUE, 0, "factors"), "factors as a string");
	ok(fails("als", "{\"factors\": null}", MR_PARAMS_BAD_VALUE, 0, "factors") &&
	   fails("als", "{\"factors\": [1]}", MR_PARAMS_BAD_VALUE, 0, "factors") &&
	   fails("als", "{\"factors\": {\"a\": 1}}", MR_PARAMS_BAD_VALUE, 0, "factors") &&
	   fails("als", "{\"factors\": true}", MR_PARAMS_BAD_VALUE, 0, "factors"),
	   "factors as null, array, object, boolean");
	ok(fails("als", "{\"factors\": 1025}", MR_PARAMS_BAD_VALUE, 0, "factors"), "factors 1025");
	ok(fails("bayes", "{\"factors\": 257}", MR_PARAMS_BAD_VALUE, 0, "factors"), "bayes factors 257");
	ok(fails("als", "{\"regularization\": -1}", MR_PARAMS_BAD_VALUE, 0, "regularization"),
	   "negative regularization");
	ok(fails("als", "{\"regularization\": 1e400}", MR_PARAMS_BAD_VALUE, 0, "regularization"),
	   "a number beyond double range");
	ok(fails("svd", "{\"learning_rate\": 0}", MR_PARAMS_BAD_VALUE, 0, "learning_rate"),
	   "exclusive minimum");
	ok(fails("als", "{\"use_bias\": 1}", MR_PARAMS_BAD_VALUE, 0, "use_bias"), "boolean as 1");
	ok(fails("als", "{\"factor\": 8}", MR_PARAMS_UNKNOWN_KEY, 0, NULL), "unknown key");
	ok(fails("baseline", "{\"factors\": 8}", MR_PARAMS_UNKNOWN_KEY, 0, NULL),
	   "key of another algorithm");
	ok(fails("popularity", "{\"reg_item_bias\": 1, \"alpha\": 2}", MR_PARAMS_UNKNOWN_KEY, 1, NULL),
	   "unknown second key: index 1");
	ok(fails("als", "{\"factors\": 8, \"iterations\": 0, \"bogus\": 1}", MR_PARAMS_BAD_VALUE, 1, "iterations"),
	   "first failure wins, and nothing is written");
	ok(fails("als", "{\"fac\\ntors\": 1}", MR_PARAMS_UNKNOWN_KEY, 0, NULL) &&
	   fails("als", "{\"factors\\u00e9\": 1}", MR_PARAMS_UNKNOWN_KEY, 0, NULL) &&
	   fails("als", "{\"abcdefghijklmnopqrstuvwxyzabcdefghijklmnop\": 1}", MR_PARAMS_UNKNOWN_KEY, 0, NULL),
	   "control, non-ASCII and over-long keys are unknown");
	ok(fails("als", "[1]", MR_PARAMS_NOT_OBJECT, -1, NULL) &&
	   fails("als", "5", MR_PARAMS_NOT_OBJECT, -1, NULL) &&
	   fails("als", "\"{\"", MR_PARAMS_NOT_OBJECT, -1, NULL) &&
	   fails("als", "", MR_PARAMS_NOT_OBJECT, -1, NULL),
	   "not an object");

	/* syntax */
	{
		static const char *const bad[] = {
			"{", "{\"factors\"", "{\"factors\": }", "{\"factors\": 8", "{\"factors\": 8,}",
			"{\"factors\" 8}", "{\"factors\": 8} x", "{\"factors\": 08}", "{\"factors\": 8.}",
			"{\"factors\": .5}", "{\"factors\": 1e}", "{\"factors\": +1}", "{\"factors\": 0x10}",
			"{\"factors\": NaN}", "{\"factors\": -}", "{\"use_bias\": tru}", "{\"use_bias\": falsey}",
			"{\"fac\\xtors\": 1}", "{\"fac\\u00zz\": 1}", "{\"fac\ttors\": 1}", "{factors: 1}",
			"{,}", "{\"factors\": 8 \"iterations\": 2}",
		};
		int			all = 1;

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		{
			MrParamsStatus st = apply("als", bad[i], &p, &err);

			if (st != MR_PARAMS_SYNTAX || memcmp(&p, &base, sizeof(p)) != 0)
			{
				printf("# accepted or misread: %s (status %d)\n", bad[i], (int) st);
				all = 0;
			}
		}
		ok(all, "malformed JSON is a syntax error and changes nothing");
	}
	{
		/* json[len] must be NUL, but nothing past len is read as part of the object */
		const char *s = "{\"factors\": 8}garbage";

		p = base;
		ok(MrParamsApply(MR_ALG_ALS, s, strlen(s), &p, &err) == MR_PARAMS_SYNTAX &&
		   (p = base, MrParamsApply(MR_ALG_ALS, "{\"factors\": 8}", 14, &p, &err)) == MR_PARAMS_OK &&
		   p.factors == 8, "trailing bytes are refused, exact length accepted");
	}

	printf("1..%d\n", n_test);
	return 0;
}
