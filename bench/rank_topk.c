/*
 * bench/rank_topk.c: evaluation's ranking loop (MrRankTopK, eval_metrics.c)
 * over 9,742 scores with 60 excluded items and k = 10; the scores are
 * refilled before each call (the fill alone is timed with -DFILL_ONLY).
 * Prints the best of 5 rounds of 3,000 calls, CPU microseconds per call.
 *
 *   cc -O2 -Isrc/kernels -o /tmp/rank bench/rank_topk.c src/kernels/eval_metrics.c \
 *      src/kernels/topk.c src/kernels/blas.c -ldl -lm && /tmp/rank
 */
#include "eval_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* CPU seconds of this process (steadier than wall time on a loaded machine). */
static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

int
main(void)
{
	int			n = 9742,
				R = 3000,
				rep,
				r,
				i;
	float	   *s = malloc(sizeof(float) * n);
	int32_t		ex[60],
				out[10];
	float		buf[10];
	double		best = 1e9;

	for (i = 0; i < 60; i++)
		ex[i] = i * 150;
	for (rep = 0; rep < 5; rep++)
	{
		double		t = now(),
					d;

		for (r = 0; r < R; r++)
		{
			for (i = 0; i < n; i++)
				s[i] = (float) ((i * 2654435761u + r * 40503u) % 100000);
#ifndef FILL_ONLY
			MrRankTopK(s, n, ex, 60, 10, buf, out);
#else
			__asm__ volatile("":::"memory");
#endif
		}
		d = (now() - t) / R;
		if (d < best)
			best = d;
	}
	printf("%.1f us per call (fill included)\n", best * 1e6);
	return 0;
}
