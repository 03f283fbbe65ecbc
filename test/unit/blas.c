/*
 * Unit test of the run-time OpenBLAS binding (src/kernels/blas.c): the library
 * loads, a fast kernel set is chosen on AVX2/AVX-512 CPUs, sgemm and
 * the Cholesky solve give correct answers.  Prints TAP.
 */
// sources:
#include "blas.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int	n_test = 0;

/* Print one TAP line. */
static void
ok(int cond, const char *what)
{
	printf("%sok %d - %s\n", cond ? "" : "not ", ++n_test, what);
}

int
main(void)
{
	float		a[6] = {1, 2, 3, 4, 5, 6};	/* 2x3 */
	float		b[6] = {1, 0, 0, 1, 1, 1};	/* 3x2 */
	float		c[4];
	float		spd[4] = {4, 2, 2, 3};	/* [[4,2],[2,3]] */
	float		rhs[2] = {2, 1};
	int			n = 2,
				one = 1,
				info = -1;
	const char *core;

	ok(MrBlasLoad() == NULL, "libopenblas.so.0 loads");
	core = mr_blas.get_corename();
	printf("# core %s (source %s)\n", core, MrBlasCoretypeSource());
	ok(strcmp(core, "Prescott") != 0 || MrBlasChosenCoretype() == NULL,
	   "no generic Prescott kernels on a CPU with AVX2");
	ok(mr_blas.get_num_threads() == 1, "starts single-threaded");

	mr_blas.sgemm(MrRowMajor, MrNoTrans, MrNoTrans, 2, 2, 3, 1.0f, a, 3, b, 2, 0.0f, c, 2);
	ok(c[0] == 4 && c[1] == 5 && c[2] == 10 && c[3] == 11, "sgemm 2x3 * 3x2");

	mr_blas.sposv("L", &n, &one, spd, &n, rhs, &n, &info);
	/* solution of [[4,2],[2,3]] x = [2,1] is [0.5, 0] */
	ok(info == 0 && fabsf(rhs[0] - 0.5f) < 1e-6 && fabsf(rhs[1]) < 1e-6, "sposv Cholesky solve");

	MrBlasSetThreads(2);
	ok(mr_blas.get_num_threads() == 2, "thread count can be raised");
	printf("1..%d\n", n_test);
	return 0;
}
