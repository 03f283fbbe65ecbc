/*
 * bench/scan_parts.c: recommend()'s full-scan kernel timed in its parts,
 * for every SIMD variant this CPU has, over an n x 64 random catalogue
 * (users scaled by argv[3], default 1):
 *
 *   pack         MrPackItems (a backend's first call packs the int8 copy)
 *   int8 pass    MrScoreApprox (quantize the user, integer pass, finish)
 *   the rest     MrTopKExact after it: block maxima, k-th lower bound,
 *                candidates, exact rescoring, top 10
 *   int4 pass    MrScoreApprox4 (serve_scan4.c), and the rest after it
 *                with the int4 copy's wider bound (items rescored: mean)
 *
 * Mean CPU microseconds per call (the program runs one thread, so process
 * CPU time is its CPU time) over R calls, a new random user each;
 * the data stay hot in the caches (one call after another), unlike
 * bench/serve_kernels, which runs three scans per user.  Built as the
 * module is (-O2 -ffp-contract=off, no -march): see bench/scan_parts.
 */
#include "kernels_common.h"
#include "scan_variants.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Uniform in [-s, s). */
static float
urand(float s)
{
	return ((float) rand() / RAND_MAX * 2.0f - 1.0f) * s;
}

int
main(int argc, char **argv)
{
	int32_t		n = argc > 1 ? atoi(argv[1]) : 62423;
	int			R = argc > 2 ? atoi(argv[2]) : 500;
	float		ps = argc > 3 ? atof(argv[3]) : 1.0f;
	int			k = 64,
				f,
				r,
				v;
	float	   *Q = malloc(sizeof(float) * (size_t) n * k),
			   *bias = malloc(sizeof(float) * n),
			   *y = malloc(sizeof(float) * n),
				p[64];
	int32_t    *cand = malloc(sizeof(int32_t) * n);
	void	   *mem = aligned_alloc(64, (MrPackedBytes(n, k) + 63) & ~(size_t) 63);
	void	   *mem4 = aligned_alloc(64, (MrPacked4Bytes(n, k) + 63) & ~(size_t) 63);
	MrPacked	pk;
	MrPacked4	pk4;
	double		t,
				pack = 1e9;
	int32_t		i;

	srand(1);
	for (i = 0; i < n; i++)
	{
		for (f = 0; f < k; f++)
			Q[(size_t) i * k + f] = urand(0.1f);
		bias[i] = urand(0.1f);
	}
	for (r = 0; r < 5; r++)
	{
		t = bench_cpu();
		MrPackItems(Q, n, k, mem, &pk);
		t = bench_cpu() - t;
		pack = t < pack ? t : pack;
	}
	printf("n=%d k=%d: pack %.1f ms (best of 5)\n", n, k, pack * 1e3);
	MrPackItems4(Q, n, k, mem4, &pk4);
	for (v = MR_SIMD_COUNT - 1; v >= 0; v--)
	{
		double		ta = 0,
					tr = 0,
					ta4 = 0,
					tr4 = 0,
					resc = 0;
		int			n4 = 0;

		if (!MrSimdSupported((MrSimd) v))
			continue;
		MrSimdForce((MrSimd) v);
		for (r = 0; r < R; r++)
		{
			int32_t		oi[10],
						nr = 0;
			float		os[10];
			MrScanInput in = {n, k, Q, pk.weight, bias, p, NULL, 0};
			MrScanInput in4 = {n, k, Q, pk4.weight, bias, p, &nr, 0};
			double		t1;

			for (f = 0; f < k; f++)
				p[f] = urand(ps);
			t = bench_cpu();
			MrScoreApprox(&pk, p, bias, y);
			t1 = bench_cpu();
			MrTopKExact(&in, 10, y, cand, oi, os);
			ta += t1 - t;
			tr += bench_cpu() - t1;
			t = bench_cpu();
			if (!MrScoreApprox4(&pk4, p, bias, y))
				continue;
			t1 = bench_cpu();
			MrTopKExact(&in4, 10, y, cand, oi, os);
			ta4 += t1 - t;
			tr4 += bench_cpu() - t1;
			resc += nr;
			n4++;
		}
		printf("  %-10s int8 pass %7.1f us  the rest %6.1f us  (mean of %d calls)\n",
			   MrSimdName((MrSimd) v), ta / R * 1e6, tr / R * 1e6, R);
		if (n4 > 0)
			printf("  %-10s int4 pass %7.1f us  the rest %6.1f us  (mean of %d calls; %.0f rescored)\n",
				   MrSimdName((MrSimd) v), ta4 / n4 * 1e6, tr4 / n4 * 1e6, n4, resc / n4);
	}
	return 0;
}
