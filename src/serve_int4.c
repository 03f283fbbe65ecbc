/*
 * serve_int4.c: when serving starts a full scan from an int4 copy of the
 * factors (src/kernels/serve_scan4.c), shared by recommend() (the item
 * factors) and similar_movies() (the unit vectors).
 *
 * Catalogues of at least MR_INT4_MIN_ITEMS movies get the copy.  A call
 * may use it when movierec.scan_int4 is on and the copy's recent calls
 * did not keep falling back: MrTopKExact gives up on a call that would
 * rescore more than MR_INT4_MAX_RESCORE movies, the caller redoes the
 * int8 pass (the same list), and each fallback counts 4 misses, each call
 * that pays takes one away; at MR_INT4_MISSES_OFF (more than one call in
 * five falling back) the copy is no longer tried until the model is
 * loaded again.
 */
#include "movierec.h"
#include "serve.h"

#include "utils/memutils.h"

#include "scan_kernel.h"

/*
 * Pack the int4 copy of the n x k rows Q into pk, allocated in cxt, when
 * n reaches MR_INT4_MIN_ITEMS; else leave pk empty (q4 == NULL).
 */
void
MrServeInt4Pack(MemoryContext cxt, const float *Q, int32 n, int k, MrPacked4 *pk)
{
	char	   *raw;

	memset(pk, 0, sizeof(*pk));
	if (n < MR_INT4_MIN_ITEMS || k <= 0)
		return;
	raw = MemoryContextAllocExtended(cxt, MrPacked4Bytes(n, k) + 64, MCXT_ALLOC_HUGE);
	MrPackItems4(Q, n, k, (void *) TYPEALIGN(64, raw), pk);
}

/* Whether a full scan may start from the int4 copy pk, given its misses. */
bool
MrServeInt4Usable(const MrPacked4 *pk, int misses)
{
	return pk->q4 != NULL && misses < MR_INT4_MISSES_OFF && MrScanInt4Enabled();
}

/*
 * Count one int4 call's outcome in *misses (fell_back: MrTopKExact gave
 * up); DEBUG1 names the model and the function (what) when the copy stops
 * being tried.
 */
void
MrServeInt4Outcome(const MrServeModel *m, int *misses, bool fell_back, const char *what)
{
	*misses = fell_back ? *misses + 4 : Max(*misses - 1, 0);
	if (*misses >= MR_INT4_MISSES_OFF)
		elog(DEBUG1, "movierec: model %lld stops the int4 first pass of %s: too many calls fell back to the int8 pass",
			 (long long) m->model_id, what);
}
