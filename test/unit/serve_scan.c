/*
 * Unit test of the catalogue scan (src/kernels/serve_scan*.c), for every
 * SIMD variant (portable, neon, avx2, avx512f, avx512bf16): the variants
 * this CPU has are forced one after the other through the dispatch API
 * (simd_dispatch.c); the others print "ok N # SKIP" lines, which test/run
 * counts as skipped.  Per variant: the int8 pass stays within its error
 * bound and is bit-identical to a scalar reference of the same integer
 * sums and float finish (every variant claims it); MrTopKExact returns exactly the top k of the exact
 * float scores (ids, order and scores) with exclusions, ties, k = 1 and k
 * larger than the catalogue, n not a multiple of the panel, odd k, and
 * extreme but finite values; and the norm-ordered early-terminating scan
 * (serve_scan_prune.c) gives the same as brute force, also on skewed
 * trained-like factors where it stops early; and the exact rescoring of
 * candidate rows is MrScoreExact's, bit for bit.  Prints TAP.
 */
// sources: src/kernels/serve_scan.c src/kernels/serve_scan_portable.c src/kernels/serve_scan_x86.c src/kernels/serve_scan_neon.c src/kernels/serve_scan_prune.c src/kernels/serve_scan_batch.c src/kernels/kern_util.c src/kernels/simd_dispatch.c src/kernels/topk.c
// cross: aarch64
#include "serve_kernels.h"
#include "scan_variants.h"
#include "simd_dispatch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int	n_test = 0;

/* Print one TAP line. */
static void
ok(int cond, const char *what)
{
	printf("%sok %d - %s\n", cond ? "" : "not ", ++n_test, what);
}

/* Uniform in [-s, s). */
static float
urand(float s)
{
	return ((float) rand() / RAND_MAX * 2.0f - 1.0f) * s;
}

typedef struct Case
{
	int32_t		n;
	int			k;
	float	   *Q,
			   *norm,
			   *bias,
			   *p;
	void	   *mem;			/* MrPackedBytes + 64 */
	MrPacked	pk;
} Case;

/* A random catalogue; dup > 0 makes every dup-th item a copy of item 0
 * with a bias of 5, so that they tie at the top. */
static Case
make_case_scaled(int32_t n, int k, int dup, float scale);

/* (Re)build the int8 copy of a case's factors. */
static void
pack_case(Case *c)
{
	MrPackItems(c->Q, c->n, c->k, (void *) (((uintptr_t) c->mem + 63) & ~(uintptr_t) 63), &c->pk);
}

static Case
make_case(int32_t n, int k, int dup)
{
	return make_case_scaled(n, k, dup, 1.0f);
}

/* The same, factors and biases multiplied by scale (extreme values). */
static Case
make_case_scaled(int32_t n, int k, int dup, float scale)
{
	Case		c;
	int32_t		i;
	int			f;

	c.n = n;
	c.k = k;
	c.Q = malloc(sizeof(float) * ((size_t) n * k + 1));
	c.norm = malloc(sizeof(float) * (n + 1));
	c.bias = malloc(sizeof(float) * (n + 1));
	c.p = malloc(sizeof(float) * (k + 1));
	c.mem = malloc(MrPackedBytes(n, k) + 64);
	for (i = 0; i < n; i++)
	{
		double		ss = 0;

		for (f = 0; f < k; f++)
			c.Q[(size_t) i * k + f] = (dup > 0 && i > 0 && i % dup == 0) ? c.Q[f] : urand(0.5f) * scale;
		c.bias[i] = ((dup > 0 && i % dup == 0) ? 5.0f : urand(0.3f)) * scale;
		for (f = 0; f < k; f++)
			ss += (double) c.Q[(size_t) i * k + f] * c.Q[(size_t) i * k + f];
		c.norm[i] = (float) sqrt(ss);
	}
	for (f = 0; f < k; f++)
		c.p[f] = urand(1.0f) * scale;
	pack_case(&c);
	return c;
}

/* Free a case. */
static void
free_case(Case *c)
{
	free(c->Q);
	free(c->norm);
	free(c->bias);
	free(c->p);
	free(c->mem);
}

/*
 * Compare MrTopKExact with a heap over exact scores; every excl-th item is
 * excluded.  Returns 1 when ids, order and scores are identical.
 */
static int
same_topk(Case *c, int k, int excl, int32_t *rescored)
{
	float	   *exact = malloc(sizeof(float) * (c->n + 1));
	float	   *approx = malloc(sizeof(float) * (c->n + 1));
	int32_t    *cand = malloc(sizeof(int32_t) * (c->n + 1));
	int32_t    *i1 = malloc(sizeof(int32_t) * (k + 1)),
			   *i2 = malloc(sizeof(int32_t) * (k + 1));
	float	   *s1 = malloc(sizeof(float) * (k + 1)),
			   *s2 = malloc(sizeof(float) * (k + 1));
	MrScanInput in = {c->n, c->k, c->Q, c->pk.weight, c->bias, c->p, rescored, 0};
	int32_t		i;
	int			n1,
				n2,
				good;

	for (i = 0; i < c->n; i++)
		exact[i] = (excl > 0 && i % excl == 3) ? -INFINITY
			: MrScoreExact(c->Q + (size_t) i * c->k, c->k, c->p, c->bias[i]);
	n1 = MrTopKSelect(exact, c->n, k, i1, s1);

	MrScoreApprox(&c->pk, c->p, c->bias, approx);
	for (i = 0; i < c->n; i++)
		if (excl > 0 && i % excl == 3)
			approx[i] = -INFINITY;
	n2 = MrTopKExact(&in, k, approx, cand, i2, s2);
	good = (n1 == n2 && memcmp(i1, i2, sizeof(int32_t) * n1) == 0 &&
			memcmp(s1, s2, sizeof(float) * n1) == 0);
	free(exact);
	free(approx);
	free(cand);
	free(i1);
	free(i2);
	free(s1);
	free(s2);
	return good;
}

/*
 * MrTopKExactUsers over n_users users (user r's vector: c->p with factor
 * r % k negated and scaled by 1 + r / 8; every 7th user excludes the items
 * i % (r + 2) == 1) on `threads` threads equals MrScoreApprox +
 * MrTopKExact user by user: counts, ids and scores.  1 when identical.
 */
static int
same_users(Case *c, int n_users, int k, int threads)
{
	float	   *P = malloc(sizeof(float) * (size_t) n_users * c->k);
	int64_t    *ptr = malloc(sizeof(int64_t) * (n_users + 1));
	int32_t    *ex = malloc(sizeof(int32_t) * ((size_t) n_users * c->n / 2 + 1));
	int32_t    *cnt = malloc(sizeof(int32_t) * n_users);
	int32_t    *idx = malloc(sizeof(int32_t) * (size_t) n_users * k);
	float	   *sc = malloc(sizeof(float) * (size_t) n_users * k);
	void	   *scratch = malloc(MrTopKExactUsersBytes(c->n, threads));
	float	   *approx = malloc(sizeof(float) * (c->n + 1));
	int32_t    *cand = malloc(sizeof(int32_t) * (c->n + 1));
	int32_t    *i1 = malloc(sizeof(int32_t) * (k + 1));
	float	   *s1 = malloc(sizeof(float) * (k + 1));
	MrScanUsers in = {&c->pk, c->Q, c->bias, P, ptr, ex, k, cnt, idx, sc};
	int64_t		m = 0;
	int			r,
				f,
				good = 1;

	for (r = 0; r < n_users; r++)
	{
		int32_t		i;

		for (f = 0; f < c->k; f++)
			P[(size_t) r * c->k + f] = c->p[f] * (1.0f + r / 8.0f) * (f == r % c->k ? -1.0f : 1.0f);
		ptr[r] = m;
		if (r % 7 == 0)
			for (i = 0; i < c->n; i++)
				if (i % (r + 2) == 1)
					ex[m++] = i;
	}
	ptr[n_users] = m;
	MrTopKExactUsers(&in, n_users, threads, scratch, NULL);
	for (r = 0; r < n_users && good; r++)
	{
		const float *p = P + (size_t) r * c->k;
		MrScanInput si = {c->n, c->k, c->Q, c->pk.weight, c->bias, p, NULL, 0};
		int			n1;
		int64_t		e;

		MrScoreApprox(&c->pk, p, c->bias, approx);
		for (e = ptr[r]; e < ptr[r + 1]; e++)
			approx[ex[e]] = -INFINITY;
		n1 = MrTopKExact(&si, k, approx, cand, i1, s1);
		good = (n1 == cnt[r] && memcmp(i1, idx + (size_t) r * k, sizeof(int32_t) * n1) == 0 &&
				memcmp(s1, sc + (size_t) r * k, sizeof(float) * n1) == 0);
	}
	free(P);
	free(ptr);
	free(ex);
	free(cnt);
	free(idx);
	free(sc);
	free(scratch);
	free(approx);
	free(cand);
	free(i1);
	free(s1);
	return good;
}

/*
 * Compare MrPruneTopK with a heap over exact scores (every excl-th item
 * excluded).  *visited gets the items it scanned.  1 when identical.
 */
static int
same_topk_pruned(Case *c, int k, int excl, int32_t *visited)
{
	float	   *exact = malloc(sizeof(float) * (c->n + 1));
	int32_t    *ex = malloc(sizeof(int32_t) * (c->n + 1));
	int32_t    *i1 = malloc(sizeof(int32_t) * (k + 1)),
			   *i2 = malloc(sizeof(int32_t) * (k + 1));
	float	   *s1 = malloc(sizeof(float) * (k + 1)),
			   *s2 = malloc(sizeof(float) * (k + 1));
	void	   *mem = aligned_alloc(64, (MrPruneBytes(c->n, c->k) + 63) & ~(size_t) 63);
	MrPrune		ix;
	double		pn = 0;
	int32_t		i,
				ne = 0;
	int			n1,
				n2,
				f,
				good;

	for (f = 0; f < c->k; f++)
		pn += (double) c->p[f] * c->p[f];
	MrPruneBuild(&ix, mem, c->Q, c->norm, c->bias, c->n, c->k, (float) sqrt(pn));
	for (i = 0; i < c->n; i++)
	{
		int			x = (excl > 0 && i % excl == 3);

		exact[i] = x ? -INFINITY
			: MrScoreExact(c->Q + (size_t) i * c->k, c->k, c->p, c->bias[i]);
		if (x)
			ex[ne++] = i;
	}
	n1 = MrTopKSelect(exact, c->n, k, i1, s1);
	n2 = MrPruneTopK(&ix, c->Q, c->bias, c->p, k, ex, ne, i2, s2, visited);
	good = (n1 == n2 && memcmp(i1, i2, sizeof(int32_t) * n1) == 0 &&
			memcmp(s1, s2, sizeof(float) * n1) == 0);
	/* a second query on the same index: the exclusion marks were cleared */
	n2 = MrPruneTopK(&ix, c->Q, c->bias, c->p, k, ex, ne, i2, s2, visited);
	good &= (n1 == n2 && memcmp(i1, i2, sizeof(int32_t) * n1) == 0);
	free(exact);
	free(ex);
	free(i1);
	free(i2);
	free(s1);
	free(s2);
	free(mem);
	return good;
}

/* Skew a case like trained factors: norms and biases follow popularity. */
static void
skew_case(Case *c)
{
	int32_t		i;
	int			f;

	for (i = 0; i < c->n; i++)
	{
		/* a long tail: item i's length ~ 1 / (1 + i / 50) */
		float		s = 3.0f / (1.0f + (float) ((i * 7919) % c->n) / 50.0f);
		double		ss = 0;

		for (f = 0; f < c->k; f++)
		{
			c->Q[(size_t) i * c->k + f] *= s;
			ss += (double) c->Q[(size_t) i * c->k + f] * c->Q[(size_t) i * c->k + f];
		}
		c->norm[i] = (float) sqrt(ss);
		c->bias[i] = c->bias[i] * 0.2f + 0.3f * s;
	}
	pack_case(c);
}

/*
 * The bit-identity reference: the integer sums in scalar code (int64, so
 * an overflow would show) and the float finish of every variant.
 */
static void
approx_reference(const Case *c, float *y)
{
	MrQuery		q;
	int			kp = c->k + (c->k & 1);
	int32_t		i;
	int			f;

	MrQuantizeQuery(c->p, c->k, &q);
	for (i = 0; i < c->n; i++)
	{
		int64_t		acc = 0;
		volatile float x;

		for (f = 0; f < kp; f++)
		{
			int8_t		v = c->pk.q8[(size_t) (i / MR_PANEL) * MR_PANEL * kp +
									 (size_t) (f / 2) * 2 * MR_PANEL + 2 * (i % MR_PANEL) + (f & 1)];
			int16_t		pv = (int16_t) ((f & 1) ? ((uint32_t) q.pair[f / 2] >> 16) : (q.pair[f / 2] & 0xFFFF));

			acc += (int64_t) v * pv;
		}
		/* one rounding per operation (volatile: no contraction) */
		x = (float) acc;
		x = x * q.sp;
		x = x * c->pk.scale[i];
		y[i] = x + c->bias[i];
	}
}

/* Largest |approx - exact| / bound over a case; 1e30 if any is not finite. */
static double
worst_error(const Case *c)
{
	float	   *a = malloc(sizeof(float) * (c->n + 1));
	double		pn = 0,
				worst = 0;
	int32_t		i;
	int			f;

	MrScoreApprox(&c->pk, c->p, c->bias, a);
	for (f = 0; f < c->k; f++)
		pn += (double) c->p[f] * c->p[f];
	pn = sqrt(pn);
	for (i = 0; i < c->n; i++)
	{
		double		e = fabs((double) a[i] - MrScoreExact(c->Q + (size_t) i * c->k, c->k, c->p, c->bias[i]));
		/* the absolute slack of the bound (scan_variants.h) is included */
		double		b = c->pk.weight[i] * pn + fabs(a[i]) * 0x1p-21 + 0x1p-100;

		if (!isfinite(a[i]))
			worst = 1e30;
		else if (e / b > worst)
			worst = e / b;
	}
	free(a);
	return worst;
}

/* 1 when MrScoreApprox equals the integer reference bit for bit. */
static int
bit_identical(const Case *c)
{
	float	   *a = malloc(sizeof(float) * (c->n + 1));
	float	   *r = malloc(sizeof(float) * (c->n + 1));
	int			same;

	MrScoreApprox(&c->pk, c->p, c->bias, a);
	approx_reference(c, r);
	same = memcmp(a, r, sizeof(float) * c->n) == 0;
	free(a);
	free(r);
	return same;
}

/*
 * 1 when the variant's block maxima (MrScanBlockFn) equal MrBound's in
 * scalar code bit for bit, over n scores with every seventh -INFINITY (an
 * excluded item) and one block with all of them excluded.
 */
static int
blocks_identical(int32_t n)
{
	int32_t		nb = n / 16,
				i,
				b;
	float	   *a = malloc(sizeof(float) * n),
			   *w = malloc(sizeof(float) * n),
			   *lo = malloc(sizeof(float) * (nb + 1)),
			   *hi = malloc(sizeof(float) * (nb + 1));
	float		e = 1.7f;
	int			same = 1;

	for (i = 0; i < n; i++)
	{
		a[i] = (i % 7 == 3 || (i >= 32 && i < 48)) ? -INFINITY : urand(3.0f);
		w[i] = fabsf(urand(0.01f));
	}
	MrScanBlockFn() (a, w, e, nb, lo, hi);
	for (b = 0; b < nb; b++)
	{
		float		l = -INFINITY,
					u = -INFINITY;

		for (i = b * 16; i < b * 16 + 16; i++)
		{
			float		d = MrBound(e, w[i], a[i]);

			l = (a[i] - d > l) ? a[i] - d : l;
			if (a[i] > -INFINITY && a[i] + d > u)
				u = a[i] + d;
		}
		same &= memcmp(&l, &lo[b], sizeof(float)) == 0 && memcmp(&u, &hi[b], sizeof(float)) == 0;
	}
	free(a);
	free(w);
	free(lo);
	free(hi);
	return same;
}

/* lines per variant: the forcing test and the 13 of test_variant */
#define TESTS_PER_VARIANT 14

/* The tests of one variant (already forced). */
static void
test_variant(MrSimd v)
{
	const char *name = MrSimdName(v);
	char		what[200];
	int32_t		rescored = 0;
	Case		c,
				c2;
	double		w;

	c = make_case(9742, 64, 0);
	w = worst_error(&c);
	printf("# %s: largest error / bound %.3f\n", name, w);
	snprintf(what, sizeof(what), "%s: scores stay within the error bound (9742 x 64)", name);
	ok(w <= 1.0, what);

	c2 = make_case(9743, 63, 0);
	snprintf(what, sizeof(what), "%s: bit-identical to the integer reference (9742 x 64, 9743 x 63), within the bound at 9743 x 63", name);
	ok(bit_identical(&c) && bit_identical(&c2) && worst_error(&c2) <= 1.0, what);

	snprintf(what, sizeof(what), "%s: block maxima of the bounds = MrBound in scalar code, bit for bit (exclusions, 9743 items)", name);
	ok(blocks_identical(9743), what);

	snprintf(what, sizeof(what), "%s: top-10 over 9742 x 64 equals the exact float top-10", name);
	ok(same_topk(&c, 10, 0, &rescored), what);
	printf("# %s: rescored %d of %d items\n", name, rescored, c.n);
	snprintf(what, sizeof(what), "%s: exact with every fifth item excluded, and at 9743 x 63", name);
	ok(same_topk(&c, 10, 5, &rescored) && same_topk(&c2, 10, 0, &rescored), what);
	snprintf(what, sizeof(what), "%s: k = 1 and k = 10000 (more than the candidates)", name);
	ok(same_topk(&c, 1, 0, &rescored) && same_topk(&c, 10000, 0, &rescored) &&
	   same_topk(&c, 9740, 5, &rescored), what);
	snprintf(what, sizeof(what), "%s: many users at once (chunked passes, 1 and 3 threads, exclusions) = one by one (9743 x 63, 9742 x 64)", name);
	ok(same_users(&c2, 53, 10, 1) && same_users(&c2, 53, 10, 3) && same_users(&c, 37, 25, 2) &&
	   same_users(&c, 5, 9742, 1), what);
	free_case(&c);
	free_case(&c2);

	c = make_case(5000, 64, 3);
	snprintf(what, sizeof(what), "%s: a third of the items tie at the top: smaller index first", name);
	ok(same_topk(&c, 10, 0, &rescored) && same_topk(&c, 2000, 0, &rescored), what);
	printf("# %s: rescored %d of %d items with ties\n", name, rescored, c.n);
	free_case(&c);

	c = make_case(37, 7, 0);
	c2 = make_case(1, 1, 0);
	snprintf(what, sizeof(what), "%s: odd shapes 37 x 7 and 1 x 1 (partial panels)", name);
	ok(same_topk(&c, 5, 0, &rescored) && same_topk(&c, 40, 4, &rescored) &&
	   same_topk(&c2, 3, 0, &rescored) && worst_error(&c) <= 1.0, what);
	free_case(&c);
	free_case(&c2);

	/* 1e15: products near 1e30, sums near 1e31, no overflow */
	c = make_case_scaled(1000, 64, 0, 1e15f);
	c2 = make_case_scaled(1000, 64, 0, 1e-15f);
	w = worst_error(&c);
	snprintf(what, sizeof(what), "%s: extreme finite values (x1e15, x1e-15): finite, within the bound, exact top-10", name);
	ok(w <= 1.0 && worst_error(&c2) <= 1.0 && same_topk(&c, 10, 0, &rescored) &&
	   same_topk(&c2, 10, 0, &rescored), what);
	free_case(&c);
	free_case(&c2);

	/* skewed norms like trained factors: a few long vectors dominate */
	c = make_case(4096, 32, 0);
	{
		int32_t		i;
		int			f;

		for (i = 0; i < c.n; i += 37)
		{
			for (f = 0; f < c.k; f++)
				c.Q[(size_t) i * c.k + f] *= 20.0f;
			c.norm[i] *= 20.0f;
		}
		pack_case(&c);
	}
	snprintf(what, sizeof(what), "%s: skewed norms (every 37th item 20x longer): exact top-50", name);
	ok(same_topk(&c, 50, 0, &rescored) && worst_error(&c) <= 1.0, what);
	free_case(&c);

	/* the early-terminating scan equals brute force */
	{
		int32_t		visited = 0,
					vis2 = 0;
		int			good;

		c = make_case(9743, 63, 0);
		c2 = make_case(5000, 64, 3);
		good = same_topk_pruned(&c, 10, 0, &visited) && same_topk_pruned(&c, 10, 5, &visited) &&
			same_topk_pruned(&c, 1, 0, &visited) && same_topk_pruned(&c, 10000, 0, &visited) &&
			same_topk_pruned(&c2, 10, 0, &visited) && same_topk_pruned(&c2, 2000, 7, &visited);
		free_case(&c);
		free_case(&c2);
		c = make_case(37, 7, 0);
		good &= same_topk_pruned(&c, 5, 0, &visited) && same_topk_pruned(&c, 40, 4, &visited);
		free_case(&c);
		snprintf(what, sizeof(what), "%s: pruned scan = brute force (random, ties, exclusions, k = 1, k > n, 37 x 7)", name);
		ok(good, what);

		c = make_case(9742, 64, 0);
		skew_case(&c);
		good = same_topk_pruned(&c, 10, 0, &visited) && same_topk_pruned(&c, 10, 5, &vis2) &&
			same_topk_pruned(&c, 100, 3, &rescored);
		printf("# %s: skewed 9742 x 64: pruned scan visited %d and %d (with exclusions) items for top-10\n",
			   name, visited, vis2);
		snprintf(what, sizeof(what), "%s: pruned scan on skewed factors: exact, and stops early (< half the items)", name);
		ok(good && visited < c.n / 2 && vis2 < c.n / 2, what);
		free_case(&c);
	}
}

int
main(void)
{
	int			v,
				t;
	float		q[64],
				p[64];
	int			f,
				same = 1;

	srand(11);
	printf("# CPU supports: %s; best: %s\n", MrSimdSupportedList(), MrSimdName(MrSimdBest()));
	for (v = 0; v < MR_SIMD_COUNT; v++)
	{
		if (!MrSimdSupported((MrSimd) v))
		{
			for (t = 0; t < TESTS_PER_VARIANT; t++)
				printf("ok %d # SKIP %s: this CPU lacks it\n", ++n_test, MrSimdName((MrSimd) v));
			continue;
		}
		/* test 0 of a variant: it can be forced, and says so */
		ok(MrSimdForce((MrSimd) v) && MrSimdCurrent() == (MrSimd) v &&
		   strcmp(MrScoreKernelName(0), MrSimdName((MrSimd) v)) == 0,
		   MrSimdName((MrSimd) v));
		test_variant((MrSimd) v);
	}

	/* forcing a variant the CPU lacks is refused and changes nothing */
	MrSimdAuto();
	for (v = 0; v < MR_SIMD_COUNT; v++)
		if (!MrSimdSupported((MrSimd) v))
			break;
	ok(v == MR_SIMD_COUNT || (!MrSimdForce((MrSimd) v) && MrSimdCurrent() == MrSimdBest()),
	   "forcing a variant the CPU lacks is refused");
	ok(MrSimdFromName("avx2") == MR_SIMD_AVX2 && MrSimdFromName("sse9") == -1 &&
	   MrSimdSupported(MR_SIMD_PORTABLE), "variant names parse; portable is always there");

	/* the exact score (FMA instruction when the CPU has it) equals fmaf() */
	for (t = 0; t < 1000 && same; t++)
	{
		float		r = 0.0f;

		for (f = 0; f < 64; f++)
		{
			q[f] = urand(2.0f);
			p[f] = urand(2.0f);
			r = fmaf(q[f], p[f], r);
		}
		same = (MrScoreExact(q, 64, p, 0.25f) == r + 0.25f);
	}
	ok(same, "MrScoreExact is bit-identical to a fmaf() loop");

	/* the candidates' rescoring (rows in groups of 8, prefetched) = row by row */
	{
		Case		c = make_case(300, 67, 0);
		int32_t		idx[300];
		float		out[300];
		int32_t		n,
					j;

		same = 1;
		for (j = 0; j < 300; j++)
			idx[j] = (int32_t) ((j * 7919L) % 300);
		for (n = 0; n <= 300 && same; n += (n < 40 ? 1 : 37))
		{
			MrScoreExactRows(c.Q, c.k, c.p, (n % 2) ? c.bias : NULL, idx, n, out);
			for (j = 0; j < n; j++)
				same &= (out[j] == MrScoreExact(c.Q + (size_t) idx[j] * c.k, c.k, c.p,
												(n % 2) ? c.bias[idx[j]] : 0.0f));
		}
		free_case(&c);
		ok(same, "MrScoreExactRows is bit-identical to MrScoreExact per row (0-40 rows and more, with and without biases)");
	}
	printf("1..%d\n", n_test);
	return 0;
}
