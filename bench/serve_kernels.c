/*
 * bench/serve_kernels.c: the per-call scoring kernel of recommend() outside
 * the server, against the plain BLAS route, for one user vector over an
 * n x k random catalogue:
 *
 *   sgemv+heap   OpenBLAS cblas_sgemv (row-major, one thread) then the
 *                bounded-heap top-k: the textbook floor
 *   bf16+exact   serve_scan.c: bfloat16 pass, error bound, exact float
 *                rescoring of the undecided items (what recommend() runs)
 *
 * Prints the median microseconds per call over R calls with a new random
 * user each call, and checks that both give the same top k.
 */
#include "blas.h"
#include "serve_kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Seconds from a monotonic clock. */
static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
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

int
main(int argc, char **argv)
{
	int32_t		n = argc > 1 ? atoi(argv[1]) : 62423;
	int			k = argc > 2 ? atoi(argv[2]) : 64;
	int			R = argc > 3 ? atoi(argv[3]) : 300;
	int			topk = 10;
	float	   *Q = malloc(sizeof(float) * (size_t) n * k);
	float	   *norm = malloc(sizeof(float) * n);
	float	   *bias = malloc(sizeof(float) * n);
	uint16_t   *packed = malloc(sizeof(uint16_t) * MrPackedCount(n, k));
	float	   *y = malloc(sizeof(float) * n);
	int32_t    *cand = malloc(sizeof(int32_t) * n);
	float	   *p = malloc(sizeof(float) * k);
	double	   *t1 = malloc(sizeof(double) * R),
			   *t2 = malloc(sizeof(double) * R);
	int32_t		i1[10],
				i2[10];
	float		s1[10],
				s2[10];
	int			r,
				f,
				same = 1;
	long		rescored = 0;
	int32_t		i;

	if (MrBlasLoad() != NULL)
	{
		fprintf(stderr, "no OpenBLAS\n");
		return 1;
	}
	MrBlasSetThreads(1);
	srand(1);
	for (i = 0; i < n; i++)
	{
		double		ss = 0;

		for (f = 0; f < k; f++)
		{
			Q[(size_t) i * k + f] = (float) rand() / RAND_MAX * 0.2f - 0.1f;
			ss += (double) Q[(size_t) i * k + f] * Q[(size_t) i * k + f];
		}
		norm[i] = (float) sqrt(ss);
		bias[i] = (float) rand() / RAND_MAX * 0.2f - 0.1f;
	}
	MrPackItems(Q, n, k, packed);
	for (r = 0; r < R; r++)
	{
		MrScanInput in = {n, k, Q, norm, bias, p, &i};
		double		t;

		for (f = 0; f < k; f++)
			p[f] = (float) rand() / RAND_MAX * 2.0f - 1.0f;

		t = now();
		memcpy(y, bias, sizeof(float) * n);
		mr_blas.sgemv(MrRowMajor, MrNoTrans, n, k, 1.0f, Q, k, p, 1, 1.0f, y, 1);
		MrTopKSelect(y, n, topk, i1, s1);
		t1[r] = now() - t;

		t = now();
		MrScoreApprox(packed, n, k, p, bias, y);
		MrTopKExact(&in, topk, y, cand, i2, s2);
		t2[r] = now() - t;
		rescored += i;
		same &= (memcmp(i1, i2, sizeof(i1)) == 0);
	}
	qsort(t1, R, sizeof(double), cmp_double);
	qsort(t2, R, sizeof(double), cmp_double);
	printf("n=%d k=%d calls=%d (%s pass): sgemv+heap %.0f us, bf16+exact %.0f us (median), "
		   "%.1f items rescored per call, same top-%d: %s\n",
		   n, k, R, MrScoreKernelName(0), t1[R / 2] * 1e6, t2[R / 2] * 1e6,
		   (double) rescored / R, topk, same ? "yes" : "NO (float rounding near a tie)");
	return 0;
}
