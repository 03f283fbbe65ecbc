/*
 * movierec.c: module entry point and build information.
 *
 * _PG_init has each module define its movierec.* settings and, when the library is in
 * shared_preload_libraries, asks for shared memory and registers the
 * background worker.  Everything else lives in files named for what they
 * do (see README.md, "Source layout").
 */
#include "movierec.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "blas.h"
#include "scan_kernel.h"
#include "serve.h"
#include "stats.h"
#include "train.h"
#include "worker.h"

PG_MODULE_MAGIC;

void		_PG_init(void);
extern void MrExperimentsInit(void);	/* experiments.c */

/* Define settings; hooks that need preloading are installed only then. */
void
_PG_init(void)
{
	MrSettingsInit();
	MrServeInit();
	MrScanKernelInit();
	MrTrainInit();
	MrWorkerInit();
	MrFaultInit();
	MrStatsInit();
	MrRateLimitInit();
	MrExperimentsInit();

	MarkGUCPrefixReserved("movierec");
}

PG_FUNCTION_INFO_V1(movierec_build_info);

/* movierec.build_info(): version, BLAS library, core type, threads, scan kernel. */
Datum
movierec_build_info(PG_FUNCTION_ARGS)
{
	StringInfoData buf;
	const char *core;
	const char *path;

	MrEnsureBlas();
	core = mr_blas.get_corename();
	path = MrBlasLibraryPath();

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"version\": ");
	escape_json(&buf, MOVIEREC_VERSION);
	appendStringInfo(&buf, ", \"blas_library\": ");
	escape_json(&buf, path ? path : "libopenblas.so.0");
	appendStringInfo(&buf, ", \"blas_config\": ");
	escape_json(&buf, mr_blas.get_config());
	appendStringInfo(&buf, ", \"blas_core\": ");
	escape_json(&buf, core ? core : "unknown");
	appendStringInfo(&buf, ", \"blas_coretype_source\": ");
	escape_json(&buf, MrBlasCoretypeSource());
	appendStringInfo(&buf, ", \"blas_threads\": %d", mr_blas.get_num_threads());
	appendStringInfo(&buf, ", \"scan_kernel\": ");
	escape_json(&buf, MrScanKernelInUse());
	appendStringInfo(&buf, ", \"scan_kernels\": ");
	MrScanKernelsSupportedJson(&buf);
	appendStringInfo(&buf, ", \"preloaded\": %s", mr_preloaded ? "true" : "false");
	appendStringInfo(&buf, ", \"postgres\": ");
	escape_json(&buf, PG_VERSION_STR);
	appendStringInfoChar(&buf, '}');

	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}
