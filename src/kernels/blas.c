/*
 * blas.c: bind OpenBLAS and its LAPACK at run time.
 *
 * Design.  movierec does not link libopenblas into movierec.so.  It opens
 * libopenblas.so.0 with dlopen() the first time a backend needs it, for two
 * reasons:
 *
 * 1. Kernel choice.  OpenBLAS picks its kernels in a library constructor,
 *    reading OPENBLAS_CORETYPE from the environment.  Debian's 0.3.21 does
 *    not know recent CPUs (for example Intel family 6 model 207) and falls
 *    back to generic "Prescott" kernels, five times slower for sgemm.  Only
 *    code that runs before the constructor can fix that, so we read CPUID
 *    ourselves, set OPENBLAS_CORETYPE to the best kernel set the CPU and OS
 *    support (SkylakeX for AVX-512, Haswell for AVX2+FMA), then dlopen().
 *    A user who sets OPENBLAS_CORETYPE keeps their choice.
 *
 * 2. Threads.  The constructor of the pthreads build starts a thread pool.
 *    If that happened in the postmaster (shared_preload_libraries), every
 *    forked backend would inherit a pool whose threads do not exist, and
 *    OpenBLAS can hang.  Loading in the backend, after fork, avoids this;
 *    OPENBLAS_NUM_THREADS is set to 1 before loading and the count is then
 *    raised per call site through MrBlasSetThreads().
 *
 * This file is plain C with no PostgreSQL calls so that kernel unit tests
 * and benchmarks use the same binding outside the server.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "blas.h"

#include <dlfcn.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define MR_BLAS_X86 1
#endif

MrBlasApi	mr_blas;

static void *blas_handle = NULL;
static const char *blas_error = NULL;
static const char *chosen_coretype = NULL;
static const char *coretype_source = "openblas";
static char blas_path[1024];
static int	current_threads = -1;

#ifdef MR_BLAS_X86
/* True if the OS saves the register state named by mask (XCR0 bits). */
static int
os_saves(unsigned int mask)
{
	unsigned int eax,
				edx;

	__asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
	(void) edx;
	return (eax & mask) == mask;
}

/* Choose an OpenBLAS core type from CPUID, or NULL to leave the default. */
static const char *
detect_coretype(void)
{
	unsigned int a,
				b,
				c,
				d;
	int			avx,
				fma,
				osxsave,
				avx2,
				avx512;

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return NULL;
	osxsave = (c >> 27) & 1;
	avx = (c >> 28) & 1;
	fma = (c >> 12) & 1;
	if (!osxsave || !avx || !os_saves(0x6))
		return NULL;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return NULL;
	avx2 = (b >> 5) & 1;
	/* AVX512 F, DQ, BW, VL: what OpenBLAS's SkylakeX kernels use */
	avx512 = ((b >> 16) & 1) && ((b >> 17) & 1) && ((b >> 30) & 1) && ((b >> 31) & 1);
	if (avx512 && os_saves(0xe6))
		return "SkylakeX";
	if (avx2 && fma)
		return "Haswell";
	return NULL;
}
#else
/* Not x86: OpenBLAS's own choice (its aarch64 detection is current). */
static const char *
detect_coretype(void)
{
	return NULL;
}
#endif

/* Resolve one symbol; remembers the first failure. */
static void *
bind(const char *name)
{
	void	   *p = dlsym(blas_handle, name);

	if (p == NULL && blas_error == NULL)
		blas_error = "libopenblas.so.0 lacks a required symbol";
	return p;
}

/* Load OpenBLAS once (core type and thread count chosen first); NULL or an error. */
const char *
MrBlasLoad(void)
{
	struct link_map *lm = NULL;
	const char *env;

	if (blas_handle != NULL || blas_error != NULL)
		return blas_error;

	env = getenv("OPENBLAS_CORETYPE");
	if (env != NULL && env[0] != '\0')
	{
		coretype_source = "environment";
		chosen_coretype = env;
	}
	else if ((chosen_coretype = detect_coretype()) != NULL)
	{
		setenv("OPENBLAS_CORETYPE", chosen_coretype, 1);
		coretype_source = "cpuid";
	}
	/* start single-threaded; callers raise the count where it pays */
	setenv("OPENBLAS_NUM_THREADS", "1", 0);

	blas_handle = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
	if (blas_handle == NULL)
	{
		blas_error = "could not load libopenblas.so.0";
		return blas_error;
	}
	mr_blas.sgemm = bind("cblas_sgemm");
	mr_blas.sgemv = bind("cblas_sgemv");
	mr_blas.ssyrk = bind("cblas_ssyrk");
	mr_blas.sdot = bind("cblas_sdot");
	mr_blas.saxpy = bind("cblas_saxpy");
	mr_blas.spotrf = bind("spotrf_");
	mr_blas.spotrs = bind("spotrs_");
	mr_blas.sposv = bind("sposv_");
	mr_blas.spotri = bind("spotri_");
	mr_blas.get_corename = bind("openblas_get_corename");
	mr_blas.get_config = bind("openblas_get_config");
	mr_blas.get_num_threads = bind("openblas_get_num_threads");
	mr_blas.set_num_threads = bind("openblas_set_num_threads");
	if (blas_error != NULL)
		return blas_error;

	if (dlinfo(blas_handle, RTLD_DI_LINKMAP, &lm) == 0 && lm != NULL && lm->l_name)
	{
		char	   *real = realpath(lm->l_name, NULL);

		strncpy(blas_path, real ? real : lm->l_name, sizeof(blas_path) - 1);
		free(real);
	}
	current_threads = mr_blas.get_num_threads();
	return NULL;
}

/* Set the OpenBLAS thread count, loading the library if needed. */
void
MrBlasSetThreads(int n)
{
	if (MrBlasLoad() != NULL || n < 1 || n == current_threads)
		return;
	mr_blas.set_num_threads(n);
	current_threads = n;
}

/* The core type set from CPUID or the environment, or NULL. */
const char *
MrBlasChosenCoretype(void)
{
	return chosen_coretype;
}

/* Where the core type came from: cpuid, environment or openblas. */
const char *
MrBlasCoretypeSource(void)
{
	return coretype_source;
}

/* Resolved path of the loaded library, or NULL. */
const char *
MrBlasLibraryPath(void)
{
	return blas_path[0] ? blas_path : NULL;
}
