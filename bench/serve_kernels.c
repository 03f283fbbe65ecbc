/*
 * bench/serve_kernels.c: the per-call scoring kernel of recommend() outside
 * the server, against the plain BLAS route, for one user vector over an
 * n x k random catalogue:
 *
 *   sgemv+heap   OpenBLAS cblas_sgemv (row-major, one thread) then the
 *                bounded-heap top-k: the textbook floor
 *   plain scan   a plain compiler-vectorized bf16 scan over the same
 *                panels (no intrinsics, -O3, compiled for the variant's
 *                ISA: default, avx2+fma or avx512f) then the bounded-heap
 *                top-k: the yardstick of issue 8 (approximate, not exact)
 *   int8+exact   serve_scan.c: integer pass over the int8 copy, error
 *                bound, exact float rescoring of the undecided items (what
 *                recommend() runs), once per SIMD variant this CPU has
 *                (simd_dispatch.c)
 *   pruned       serve_scan_prune.c: the same in norm order, stopping once
 *                no remaining item can reach the k-th score (exact too)
 *   int4+exact   serve_scan4.c: the int4 first pass and MrTopKExact with
 *                its wider bound (what recommend() runs from 32,768 movies
 *                on; a user it refuses takes the int8 pass, as there)
 *
 * Prints the median CPU microseconds per call over R calls with a new random
 * user each call, the ratios to the plain scan measured in the same run,
 * and checks that sgemv+heap and every exact route give the same top k.
 * With argument 4 "trained", factors come from a file instead (see
 * load_factors) so that the pruning statistics are those of a real model.
 */
#include "blas.h"
#include "serve_kernels.h"
#include "simd_dispatch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU seconds of this thread: on a shared, loaded machine wall time
 * mostly measures waiting for a core. */
static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

/* qsort order for doubles. */
static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}


/* The yardstick (bench/serve_kernels_ref.c), compiled once per ISA. */
extern void ref_scan_default(const uint16_t *packed, int32_t n, int k, const float *p, const float *bias, float *y);
#if defined(__x86_64__)
extern void ref_scan_avx2(const uint16_t *packed, int32_t n, int k, const float *p, const float *bias, float *y);
extern void ref_scan_avx512(const uint16_t *packed, int32_t n, int k, const float *p, const float *bias, float *y);
#endif

typedef void (*ref_fn) (const uint16_t *, int32_t, int, const float *, const float *, float *);

/* The yardstick compiled for variant v's ISA. */
static ref_fn
ref_for(MrSimd v)
{
#if defined(__x86_64__)
	if (v == MR_SIMD_AVX2)
		return ref_scan_avx2;
	if (v == MR_SIMD_AVX512F || v == MR_SIMD_AVX512BF16)
		return ref_scan_avx512;
#endif
	(void) v;
	return ref_scan_default;
}

/*
 * Factors from a text file: first line "n k", then n lines "bias f1 .. fk"
 * (bench/serve_kernels writes one from a trained model).  Returns n.
 */
static int32_t
load_factors(const char *path, int *k, float **Q, float **bias)
{
	FILE	   *fp = fopen(path, "r");
	int32_t		n,
				i;
	int			f;

	if (fp == NULL || fscanf(fp, "%d %d", &n, k) != 2)
	{
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	*Q = malloc(sizeof(float) * (size_t) n * *k);
	*bias = malloc(sizeof(float) * n);
	for (i = 0; i < n; i++)
	{
		if (fscanf(fp, "%f", &(*bias)[i]) != 1)
			exit(1);
		for (f = 0; f < *k; f++)
			if (fscanf(fp, "%f", &(*Q)[(size_t) i * *k + f]) != 1)
				exit(1);
	}
	fclose(fp);
	return n;
}

/* qsort order for floats. */
static int
cmp_float(const void *a, const void *b)
{
	float		x = *(const float *) a,
				y = *(const float *) b;

	return (x > y) - (x < y);
}

/*
 * The yardstick's input: Q as bfloat16 (round to nearest even) in panels
 * of 16 items, factors in pairs, as issue 8 described the plain scan.
 */
static uint16_t *
pack_bf16(const float *Q, int32_t n, int k)
{
	int			kp = k + (k & 1);
	size_t		np = ((size_t) n + 15) / 16 * 16;
	uint16_t   *out = calloc(np * kp, sizeof(uint16_t));
	int32_t		i;
	int			f;

	for (i = 0; i < n; i++)
		for (f = 0; f < k; f++)
		{
			uint32_t	u;

			memcpy(&u, &Q[(size_t) i * k + f], sizeof(u));
			u += 0x7FFF + ((u >> 16) & 1);
			out[(size_t) (i / 16) * 16 * kp + (size_t) (f / 2) * 32 + 2 * (i % 16) + (f & 1)] = (uint16_t) (u >> 16);
		}
	return out;
}

/* One median of R samples (sorts t). */
static double
median(double *t, int R)
{
	qsort(t, R, sizeof(double), cmp_double);
	return t[R / 2];
}

int
main(int argc, char **argv)
{
	int32_t		n = argc > 1 ? atoi(argv[1]) : 62423;
	int			k = argc > 2 ? atoi(argv[2]) : 64;
	int			R = argc > 3 ? atoi(argv[3]) : 300;
	const char *qfile = argc > 4 ? argv[4] : NULL;
	const char *pfile = argc > 5 ? argv[5] : NULL;
	int			topk = 10;
	float	   *Q = NULL,
			   *bias = NULL,
			   *P = NULL,
			   *Pb = NULL;
	int32_t		n_users = 0;
	float	   *norm;
	uint16_t   *bf16;
	void	   *pkmem;
	MrPacked	pk;
	float	   *y,
			   *p;
	int32_t    *cand;
	double	   *t1 = malloc(sizeof(double) * R),
			   *t2 = malloc(sizeof(double) * R),
			   *t3 = malloc(sizeof(double) * R);
	int32_t		i1[10],
				i2[10];
	float		s1[10],
				s2[10];
	int			r,
				f,
				v;
	int32_t		i;
	int			nvar = 0;
	MrSimd		vars[MR_SIMD_COUNT];
	double		t_ref[MR_SIMD_COUNT],
				t_exact[MR_SIMD_COUNT],
				t_prune[MR_SIMD_COUNT],
				t_int4[MR_SIMD_COUNT],
				visited[MR_SIMD_COUNT],
				t_gemv = 0;
	long		rescored[MR_SIMD_COUNT],
				rescored4[MR_SIMD_COUNT];
	int			same[MR_SIMD_COUNT];
	double		prune_frac = 0;
	double	   *t4 = malloc(sizeof(double) * R),
			   *t5 = malloc(sizeof(double) * R);
	MrPacked4	pk4;
	void	   *pk4mem;
	MrPrune		ix;
	void	   *ixmem;
	float		key_norm;

	if (MrBlasLoad() != NULL)
	{
		fprintf(stderr, "no OpenBLAS\n");
		return 1;
	}
	MrBlasSetThreads(1);
	srand(1);
	if (qfile)
	{
		int			k2;

		n = load_factors(qfile, &k, &Q, &bias);
		if (pfile)
		{
			n_users = load_factors(pfile, &k2, &P, &Pb);
			if (k2 != k)
				return 1;
		}
	}
	else
	{
		Q = malloc(sizeof(float) * (size_t) n * k);
		bias = malloc(sizeof(float) * n);
		for (i = 0; i < n; i++)
		{
			for (f = 0; f < k; f++)
				Q[(size_t) i * k + f] = (float) rand() / RAND_MAX * 0.2f - 0.1f;
			bias[i] = (float) rand() / RAND_MAX * 0.2f - 0.1f;
		}
	}
	norm = malloc(sizeof(float) * n);
	pkmem = aligned_alloc(64, (MrPackedBytes(n, k) + 63) & ~(size_t) 63);
	y = malloc(sizeof(float) * n);
	cand = malloc(sizeof(int32_t) * n);
	p = malloc(sizeof(float) * k);
	for (i = 0; i < n; i++)
	{
		double		ss = 0;

		for (f = 0; f < k; f++)
			ss += (double) Q[(size_t) i * k + f] * Q[(size_t) i * k + f];
		norm[i] = (float) sqrt(ss);
	}
	MrPackItems(Q, n, k, pkmem, &pk);
	pk4mem = aligned_alloc(64, (MrPacked4Bytes(n, k) + 63) & ~(size_t) 63);
	MrPackItems4(Q, n, k, pk4mem, &pk4);
	bf16 = pack_bf16(Q, n, k);
	/* the pruning order's key: bias + |q| times the median user norm */
	{
		int32_t		nu = P ? n_users : 101;
		float	   *un = malloc(sizeof(float) * nu);

		for (i = 0; i < nu; i++)
		{
			double		ss = 0;

			for (f = 0; f < k; f++)
			{
				float		x = P ? P[(size_t) i * k + f] : (float) rand() / RAND_MAX * 2.0f - 1.0f;

				ss += (double) x * x;
			}
			un[i] = (float) sqrt(ss);
		}
		qsort(un, nu, sizeof(float), cmp_float);
		key_norm = un[nu / 2];
		free(un);
	}
	ixmem = aligned_alloc(64, (MrPruneBytes(n, k) + 63) & ~(size_t) 63);
	MrPruneBuild(&ix, ixmem, Q, norm, bias, n, k, key_norm);
	for (v = MR_SIMD_COUNT - 1; v >= 0; v--)
		if (MrSimdSupported((MrSimd) v))
			vars[nvar++] = (MrSimd) v;

	/*
	 * Per variant, R calls; each call times the three routes back to back
	 * on the same user, so that load from other processes hits all three
	 * alike.  Ratios are of medians from the same run.
	 */
	for (v = 0; v < nvar; v++)
	{
		ref_fn		ref = ref_for(vars[v]);

		MrSimdForce(vars[v]);
		rescored[v] = 0;
		rescored4[v] = 0;
		visited[v] = 0;
		same[v] = 1;
		srand(7);
		for (r = 0; r < R; r++)
		{
			int32_t		nres = 0;
			MrScanInput in = {n, k, Q, pk.weight, bias, p, &nres, 0};
			double		t;

			if (P)
				memcpy(p, P + (size_t) (r % n_users) * k, sizeof(float) * k);
			else
				for (f = 0; f < k; f++)
					p[f] = (float) rand() / RAND_MAX * 2.0f - 1.0f;

			t = now();
			memcpy(y, bias, sizeof(float) * n);
			mr_blas.sgemv(MrRowMajor, MrNoTrans, n, k, 1.0f, Q, k, p, 1, 1.0f, y, 1);
			MrTopKSelect(y, n, topk, i1, s1);
			t1[r] = now() - t;

			/* pruning yardstick: items whose bias + |q||p| reaches the k-th score */
			if (v == 0)
			{
				double		pn = 0;
				int32_t		live = 0;

				for (f = 0; f < k; f++)
					pn += (double) p[f] * p[f];
				pn = sqrt(pn);
				for (i = 0; i < n; i++)
					live += (bias[i] + norm[i] * pn >= s1[topk - 1]);
				prune_frac += (double) live / n;
			}

			t = now();
			ref(bf16, n, k, p, bias, y);
			MrTopKSelect(y, n, topk, i2, s2);
			t2[r] = now() - t;

			t = now();
			MrScoreApprox(&pk, p, bias, y);
			MrTopKExact(&in, topk, y, cand, i2, s2);
			t3[r] = now() - t;
			rescored[v] += nres;
			same[v] &= (memcmp(i1, i2, sizeof(i1)) == 0);

			t = now();
			MrPruneTopK(&ix, Q, bias, p, topk, NULL, 0, i2, s2, &nres);
			t4[r] = now() - t;
			visited[v] += nres;
			same[v] &= (memcmp(i1, i2, sizeof(i1)) == 0);

			t = now();
			nres = 0;
			if (MrScoreApprox4(&pk4, p, bias, y))
				in.weight = pk4.weight;
			else
				MrScoreApprox(&pk, p, bias, y);
			MrTopKExact(&in, topk, y, cand, i2, s2);
			t5[r] = now() - t;
			in.weight = pk.weight;
			rescored4[v] += nres;
			same[v] &= (memcmp(i1, i2, sizeof(i1)) == 0);
		}
		t_gemv += median(t1, R) / nvar;
		t_ref[v] = median(t2, R);
		t_exact[v] = median(t3, R);
		t_prune[v] = median(t4, R);
		t_int4[v] = median(t5, R);
	}
	printf("n=%d k=%d calls=%d%s: sgemv+heap %.0f us (median)\n", n, k, R,
		   qfile ? " (trained factors)" : " (random factors)", t_gemv * 1e6);
	for (v = 0; v < nvar; v++)
		printf("  %-10s  plain scan+heap %6.1f us  int8+exact %6.1f us (ratio %.2f)  "
			   "pruned %6.1f us (ratio %.2f, %.1f%% of items scanned)  int4+exact %6.1f us (ratio %.2f)  "
			   "%.1f / %.1f rescored/call (int8 / int4)  same top-%d: %s\n",
			   MrSimdName(vars[v]), t_ref[v] * 1e6, t_exact[v] * 1e6,
			   t_exact[v] / t_ref[v], t_prune[v] * 1e6, t_prune[v] / t_ref[v],
			   100.0 * visited[v] / R / n, t_int4[v] * 1e6, t_int4[v] / t_ref[v],
			   (double) rescored[v] / R, (double) rescored4[v] / R, topk,
			   same[v] ? "yes" : "NO");
	printf("  pruning bound: %.1f%% of items have bias + |q||p| >= the exact %d-th score "
		   "(what a norm-ordered scan must still visit)\n", 100.0 * prune_frac / R, topk);
	return 0;
}
