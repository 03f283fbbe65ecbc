/*
 * scan_kernel.c: the setting movierec.scan_kernel, which forces the SIMD
 * variant of the serving kernels (src/kernels/simd_dispatch.c).
 *
 * 'auto' (the default) uses the widest variant the CPU and OS support;
 * avx512bf16, avx512f, avx2, neon or portable forces one, so that tests
 * and benchmarks can run every variant the machine has.  Asking for one
 * the CPU lacks is refused by the check hook (SQLSTATE 22023, with a hint
 * listing what this CPU has); nothing changes then.  The value is per
 * session (PGC_USERSET): the choice is a variable of each backend.
 * movierec.scan_prune (default on) lets recommend() use the norm-ordered
 * early-terminating scan (src/serve_prune.c) for models where it pays;
 * movierec.scan_int4 (default on) lets the full scans of large catalogues
 * start from an int4 copy (src/serve_int4.c).  Both are exact
 * either way: they exist to compare the paths and to turn one off.
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/guc.h"

#include "scan_kernel.h"
#include "simd_dispatch.h"

static char *mr_scan_kernel = NULL;
static bool mr_scan_prune = true;
static bool mr_scan_int4 = true;

/* Accept auto or a variant name that this CPU supports. */
static bool
check_scan_kernel(char **newval, void **extra, GucSource source)
{
	int			v;

	if (strcmp(*newval, "auto") == 0)
		return true;
	v = MrSimdFromName(*newval);
	if (v < 0)
	{
		GUC_check_errdetail("Valid values are auto, avx512bf16, avx512f, avx2, neon and portable.");
		return false;
	}
	if (!MrSimdSupported((MrSimd) v))
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errmsg("this CPU does not support the %s scan kernel", *newval);
		GUC_check_errhint("This CPU supports: %s. Use 'auto' for the best of them.",
						  MrSimdSupportedList());
		return false;
	}
	return true;
}

/* Switch the kernels to the checked value. */
static void
assign_scan_kernel(const char *newval, void *extra)
{
	int			v = MrSimdFromName(newval);

	if (v >= 0 && MrSimdForce((MrSimd) v))
		return;
	MrSimdAuto();
}

/* Define movierec.scan_kernel. */
void
MrScanKernelInit(void)
{
	DefineCustomStringVariable("movierec.scan_kernel",
							   "SIMD variant of the serving kernels: auto, avx512bf16, avx512f, avx2, neon or portable.",
							   "auto chooses the widest one this CPU supports (build_info() names it).",
							   &mr_scan_kernel,
							   "auto",
							   PGC_USERSET, 0,
							   check_scan_kernel, assign_scan_kernel, NULL);
	DefineCustomBoolVariable("movierec.scan_prune",
							 "Lets recommend() stop scanning once no remaining movie can reach the k-th score.",
							 "Exact either way; used only for models whose factors make it pay (serve_prune.c).",
							 &mr_scan_prune,
							 true,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("movierec.scan_int4",
							 "Lets recommend() and similar_movies() start the full scan of large catalogues from an int4 copy.",
							 "Exact either way; used only for models of at least 32,768 movies, with the int8 pass as the fallback.",
							 &mr_scan_int4,
							 true,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
}

/* movierec.scan_prune. */
bool
MrScanPruneEnabled(void)
{
	return mr_scan_prune;
}

/* movierec.scan_int4. */
bool
MrScanInt4Enabled(void)
{
	return mr_scan_int4;
}

/* Append the variants this CPU supports to buf, as a JSON array of names. */
void
MrScanKernelsSupportedJson(StringInfo buf)
{
	int			v;
	bool		first = true;

	appendStringInfoChar(buf, '[');
	for (v = 0; v < MR_SIMD_COUNT; v++)
		if (MrSimdSupported((MrSimd) v))
		{
			appendStringInfo(buf, "%s\"%s\"", first ? "" : ", ", MrSimdName((MrSimd) v));
			first = false;
		}
	appendStringInfoChar(buf, ']');
}

/* Name of the variant in use. */
const char *
MrScanKernelInUse(void)
{
	return MrSimdName(MrSimdCurrent());
}
