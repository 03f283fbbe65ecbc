/*
 * params_check.c: validate train()'s params object and apply it.
 *
 * Design.  The rules are data: MrParamDefs has one row per key and range
 * (a key valid for several algorithms with different ranges, like
 * factors for bayes, has one row per range).  MrParamsApply is a small
 * single-pass reader of a flat JSON object: for each member it decodes
 * the key (escapes included), looks it up for the algorithm, and reads
 * the value only as far as its type needs: a number key takes a JSON
 * number, a boolean key true or false; anything else (string, null,
 * array, object) is a wrong type, found from the value's first byte, so
 * nested values need no recursion.  The first failure stops the scan and
 * nothing is written.
 *
 * Numbers follow what the SQL path did before this kernel existed (the
 * numeric -> float8 conversion, i.e. strtod of the decimal text): the
 * double must be finite, inside the range, and integral for an integer
 * key.  The seed has 63 bits, more than a double holds, so it is read
 * exactly from the decimal digits: above 9223372036854775807 is out of
 * range, otherwise it is rounded half away from zero (as numeric's int8
 * cast rounds).  A number too small for a double reads as 0 (or a
 * denormal); one too large is infinite and out of range.
 */
#include "params_check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define A_ALL	(MR_ALG_POPULARITY | MR_ALG_BASELINE | MR_ALG_ALS | MR_ALG_SVD | \
				 MR_ALG_IALS | MR_ALG_EASE)
#define A_POP	MR_ALG_POPULARITY
#define A_BASE	MR_ALG_BASELINE
#define A_ALS	MR_ALG_ALS
#define A_SVD	MR_ALG_SVD
#define A_IALS	MR_ALG_IALS
#define A_EASE	MR_ALG_EASE
#define A_BAYES	MR_ALG_BAYES

#define OFF(f) offsetof(MrTrainParams, f)
#define INT64_MAX_D 9223372036854775807.0

/* Every key, alphabetical (the order of hints and of the stored jsonb). */
const MrParamDef MrParamDefs[] = {
	{"alpha", MR_P_NUM, 0, 1e6, 0, A_IALS, OFF(alpha)},
	{"binarize", MR_P_NUM, 0, 1e6, 0, A_IALS | A_EASE, OFF(binarize)},
	{"cg_steps", MR_P_INT, 1, 100, 0, A_IALS, OFF(cg_steps)},
	{"factors", MR_P_INT, 1, 1024, 0, A_ALS | A_SVD | A_IALS, OFF(factors)},
	{"init_std", MR_P_NUM, 0, 10, 0, A_ALS | A_SVD | A_IALS, OFF(init_std)},
	{"iterations", MR_P_INT, 1, 1000, 0, A_BASE | A_ALS | A_SVD | A_IALS, OFF(iterations)},
	{"learning_rate", MR_P_NUM, 0, 1, 1, A_SVD, OFF(learning_rate)},
	{"lr_decay", MR_P_NUM, 0, 1, 1, A_SVD, OFF(lr_decay)},
	{"min_item_ratings", MR_P_INT, 1, 2147483647, 0, A_EASE, OFF(min_item_ratings)},
	{"reg_frequency", MR_P_NUM, 0, 1e6, 0, A_IALS, OFF(reg_frequency)},
	{"reg_item_bias", MR_P_NUM, 0, 1e6, 0, A_POP | A_BASE | A_ALS | A_SVD, OFF(reg_item_bias)},
	{"reg_user_bias", MR_P_NUM, 0, 1e6, 0, A_BASE | A_ALS | A_SVD, OFF(reg_user_bias)},
	{"regularization", MR_P_NUM, 0, 1e6, 0, A_ALS | A_SVD | A_IALS | A_EASE, OFF(regularization)},
	{"seed", MR_P_INT, 0, INT64_MAX_D, 0, A_ALL, OFF(seed)},
	{"threads", MR_P_INT, 1, 64, 0, A_ALL, OFF(threads)},
	{"use_bias", MR_P_BOOL, 0, 1, 0, A_ALS | A_SVD, OFF(use_bias)},
	/* bayes (kern_bayes.c); also alphabetical */
	{"burn_in", MR_P_INT, 0, 100000, 0, A_BAYES, OFF(burn_in)},
	{"factors", MR_P_INT, 1, 256, 0, A_BAYES, OFF(factors)},
	{"implicit", MR_P_BOOL, 0, 1, 0, A_BAYES, OFF(implicit)},
	{"implicit_items", MR_P_BOOL, 0, 1, 0, A_BAYES, OFF(implicit_items)},
	{"init_std", MR_P_NUM, 0, 10, 0, A_BAYES, OFF(init_std)},
	{"iterations", MR_P_INT, 1, 100000, 0, A_BAYES, OFF(iterations)},
	{"seed", MR_P_INT, 0, INT64_MAX_D, 0, A_BAYES, OFF(seed)},
	{"threads", MR_P_INT, 1, 64, 0, A_BAYES, OFF(threads)},
	{"use_bias", MR_P_BOOL, 0, 1, 0, A_BAYES, OFF(use_bias)},
};

const int	MrNParamDefs = (int) (sizeof(MrParamDefs) / sizeof(MrParamDefs[0]));

/* Longest key in MrParamDefs, plus room to tell a longer key apart. */
#define MR_KEY_MAX 32

/* See params_check.h. */
int
MrParamAlgorithmBit(const char *algorithm)
{
	static const char *const names[] = {"popularity", "baseline", "als", "svd", "ials", "ease", "bayes"};

	if (algorithm == NULL)
		return 0;
	for (int a = 0; a < 7; a++)
		if (strcmp(algorithm, names[a]) == 0)
			return 1 << a;
	return 0;
}

/* See params_check.h. */
const MrParamDef *
MrParamFind(int bit, const char *key, size_t len)
{
	for (int j = 0; j < MrNParamDefs; j++)
		if ((MrParamDefs[j].algorithms & bit) &&
			strlen(MrParamDefs[j].key) == len && memcmp(MrParamDefs[j].key, key, len) == 0)
			return &MrParamDefs[j];
	return NULL;
}

/* See params_check.h. */
int
MrParamIsSeed(const MrParamDef *d)
{
	return d->offset == OFF(seed);
}

/* Reader state over the JSON text. */
typedef struct Rd
{
	const char *s;
	size_t		len;
	size_t		pos;
} Rd;

/* Skip JSON whitespace. */
static void
skip_ws(Rd *r)
{
	while (r->pos < r->len &&
		   (r->s[r->pos] == ' ' || r->s[r->pos] == '\t' ||
			r->s[r->pos] == '\n' || r->s[r->pos] == '\r'))
		r->pos++;
}

/* Value of one hex digit, or -1. */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Read a JSON string at r->pos (which is '"') into key[0..MR_KEY_MAX),
 * decoding escapes.  *klen gets the decoded length, or MR_KEY_MAX + 1 if
 * the string is longer or holds a character no key has (then it matches
 * no key).  Returns 0 on a syntax error.
 */
static int
read_key(Rd *r, char *key, size_t *klen)
{
	size_t		n = 0;
	int			nomatch = 0;

	r->pos++;					/* opening quote */
	for (;;)
	{
		unsigned char c;
		int			out = -1;	/* decoded byte, or -1 for "matches no key" */

		if (r->pos >= r->len)
			return 0;
		c = (unsigned char) r->s[r->pos++];
		if (c == '"')
			break;
		if (c < 0x20)
			return 0;			/* control characters must be escaped */
		if (c != '\\')
			out = c < 0x80 ? c : -1;
		else
		{
			if (r->pos >= r->len)
				return 0;
			c = (unsigned char) r->s[r->pos++];
			switch (c)
			{
				case '"':
				case '\\':
				case '/':
					out = c;
					break;
				case 'b':
				case 'f':
				case 'n':
				case 'r':
				case 't':
					out = -1;	/* a control character: in no key */
					break;
				case 'u':
					{
						int			v = 0;

						if (r->len - r->pos < 4)
							return 0;
						for (int i = 0; i < 4; i++)
						{
							int			h = hexval(r->s[r->pos++]);

							if (h < 0)
								return 0;
							v = v * 16 + h;
						}
						out = (v > 0x20 && v < 0x80) ? v : -1;
						break;
					}
				default:
					return 0;
			}
		}
		if (out < 0 || n >= MR_KEY_MAX)
			nomatch = 1;
		else
			key[n++] = (char) out;
	}
	*klen = nomatch ? MR_KEY_MAX + 1 : n;
	return 1;
}

/*
 * Scan a JSON number at r->pos.  Sets *neg for a minus sign, the bounds of its integer digits
 * [*i0, *i1), fraction digits [*f0, *f1) and its decimal exponent
 * (saturated at +-1e9).  Returns 0 if it is not a JSON number.
 */
static int
scan_number(Rd *r, int *neg, size_t *i0, size_t *i1, size_t *f0, size_t *f1, long *exp10)
{
	const char *s = r->s;
	size_t		p = r->pos;

	*neg = p < r->len && s[p] == '-';
	if (*neg)
		p++;
	if (p >= r->len || s[p] < '0' || s[p] > '9')
		return 0;
	*i0 = p;
	if (s[p] == '0')
		p++;
	else
		while (p < r->len && s[p] >= '0' && s[p] <= '9')
			p++;
	*i1 = p;
	*f0 = *f1 = p;
	if (p < r->len && s[p] == '.')
	{
		p++;
		*f0 = p;
		while (p < r->len && s[p] >= '0' && s[p] <= '9')
			p++;
		*f1 = p;
		if (*f1 == *f0)
			return 0;
	}
	*exp10 = 0;
	if (p < r->len && (s[p] == 'e' || s[p] == 'E'))
	{
		int			neg = 0;
		size_t		e0;

		p++;
		if (p < r->len && (s[p] == '+' || s[p] == '-'))
			neg = s[p++] == '-';
		e0 = p;
		while (p < r->len && s[p] >= '0' && s[p] <= '9')
		{
			if (*exp10 < 1000000000L)
				*exp10 = *exp10 * 10 + (s[p] - '0');
			p++;
		}
		if (p == e0)
			return 0;
		if (neg)
			*exp10 = -*exp10;
	}
	r->pos = p;
	return 1;
}

/*
 * The exact value of a non-negative decimal (digits [i0,i1) . [f0,f1)
 * times 10^exp10) as an integer rounded half away from zero.  Returns 0
 * if the exact value exceeds 9223372036854775807.
 */
static int
decimal_to_int63(const char *s, size_t i0, size_t i1, size_t f0, size_t f1,
				 long exp10, uint64_t *out)
{
	size_t		ni = i1 - i0,
				nd = ni + (f1 - f0);
	size_t		z = 0;
	long long	point;			/* digits before the decimal point, from z */
	uint64_t	ip = 0;
	int			more = 0;		/* a non-zero digit after the point */
	int			round_up = 0;

#define DIGIT(k) ((k) < ni ? s[i0 + (k)] : s[f0 + (k) - ni])
	while (z < nd && DIGIT(z) == '0')
		z++;
	if (z == nd)
	{
		*out = 0;
		return 1;
	}
	point = (long long) ni + exp10 - (long long) z;
	if (point > 19)
		return 0;
	for (long long k = 0; k < point; k++)
	{
		size_t		idx = z + (size_t) k;

		ip = ip * 10 + (uint64_t) (idx < nd ? DIGIT(idx) - '0' : 0);
	}
	for (size_t idx = z + (size_t) (point > 0 ? point : 0); idx < nd; idx++)
	{
		if (DIGIT(idx) != '0')
			more = 1;
		/* the first digit after the point decides the rounding */
		if (point >= 0 && idx == z + (size_t) point && DIGIT(idx) >= '5')
			round_up = 1;
	}
#undef DIGIT
	if (ip > (uint64_t) INT64_MAX || (ip == (uint64_t) INT64_MAX && more))
		return 0;
	*out = ip + (uint64_t) round_up;
	return 1;
}

/* Read the value of key d at r->pos into q; 0 with err->status set on failure. */
static int
read_value(Rd *r, const MrParamDef *d, MrTrainParams *q, MrParamsError *err)
{
	char	   *base = (char *) q;
	const char *s = r->s;
	size_t		start = r->pos,
				i0,
				i1,
				f0,
				f1;
	long		exp10;
	int			neg;
	double		x;
	char	   *end;

	err->status = MR_PARAMS_BAD_VALUE;
	if (r->pos >= r->len)
	{
		err->status = MR_PARAMS_SYNTAX;
		return 0;
	}
	if (d->type == MR_P_BOOL)
	{
		if (s[r->pos] == 't' || s[r->pos] == 'f')
		{
			int			t = s[r->pos] == 't';
			const char *word = t ? "true" : "false";
			size_t		n = strlen(word);

			if (r->len - r->pos < n || memcmp(s + r->pos, word, n) != 0)
			{
				err->status = MR_PARAMS_SYNTAX;
				return 0;
			}
			r->pos += n;
			*(int *) (base + d->offset) = t;
			return 1;
		}
		return 0;				/* number, string, null, array, object */
	}
	if (s[r->pos] != '-' && (s[r->pos] < '0' || s[r->pos] > '9'))
	{
		/* a wrong type, or not JSON at all */
		if (strchr("\"[{tfn", s[r->pos]) == NULL)
			err->status = MR_PARAMS_SYNTAX;
		return 0;
	}
	if (!scan_number(r, &neg, &i0, &i1, &f0, &f1, &exp10))
	{
		err->status = MR_PARAMS_SYNTAX;
		return 0;
	}
	x = strtod(s + start, &end);
	if ((size_t) (end - s) != r->pos)
	{
		err->status = MR_PARAMS_SYNTAX;	/* cannot happen: strtod reads JSON numbers */
		return 0;
	}
	if (isnan(x) || isinf(x) ||
		(d->min_exclusive ? x <= d->min : x < d->min) || x > d->max ||
		(d->type == MR_P_INT && x != floor(x)))
		return 0;
	if (MrParamIsSeed(d))
	{
		uint64_t	v = 0;

		/* a negative that got here reads as -0.0: it rounds to 0 */
		if (!neg && !decimal_to_int63(s, i0, i1, f0, f1, exp10, &v))
			return 0;
		*(uint64_t *) (base + d->offset) = v;
	}
	else if (d->type == MR_P_INT)
		*(int *) (base + d->offset) = (int) x;
	else
		*(double *) (base + d->offset) = x;
	return 1;
}

/* See params_check.h. */
MrParamsStatus
MrParamsApply(int bit, const char *json, size_t len, MrTrainParams *p,
			  MrParamsError *err)
{
	Rd			r = {json, len, 0};
	MrTrainParams q = *p;
	int			index = 0;

	err->status = MR_PARAMS_OK;
	err->key_index = -1;
	err->def = NULL;
	err->pos = 0;
	skip_ws(&r);
	if (r.pos >= r.len || json[r.pos] != '{')
	{
		err->status = MR_PARAMS_NOT_OBJECT;
		return err->status;
	}
	r.pos++;
	skip_ws(&r);
	if (r.pos < r.len && json[r.pos] == '}')
		r.pos++;
	else
		for (;; index++)
		{
			char		key[MR_KEY_MAX];
			size_t		klen;
			const MrParamDef *d;

			err->pos = r.pos;
			if (r.pos >= r.len || json[r.pos] != '"' || !read_key(&r, key, &klen))
				goto syntax;
			err->key_index = index;
			d = klen <= MR_KEY_MAX ? MrParamFind(bit, key, klen) : NULL;
			if (d == NULL)
			{
				err->status = MR_PARAMS_UNKNOWN_KEY;
				return err->status;
			}
			err->def = d;
			skip_ws(&r);
			if (r.pos >= r.len || json[r.pos] != ':')
				goto syntax;
			r.pos++;
			skip_ws(&r);
			err->pos = r.pos;
			if (!read_value(&r, d, &q, err))
				return err->status;
			err->def = NULL;
			skip_ws(&r);
			err->pos = r.pos;
			if (r.pos < r.len && json[r.pos] == ',')
			{
				r.pos++;
				skip_ws(&r);
				continue;
			}
			if (r.pos < r.len && json[r.pos] == '}')
			{
				r.pos++;
				break;
			}
			goto syntax;
		}
	skip_ws(&r);
	err->pos = r.pos;
	if (r.pos != r.len)
		goto syntax;
	err->status = MR_PARAMS_OK;
	err->key_index = -1;
	err->def = NULL;
	*p = q;
	return MR_PARAMS_OK;

syntax:
	err->status = MR_PARAMS_SYNTAX;
	return err->status;
}
