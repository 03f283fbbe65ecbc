/*
 * movierec.c: module entry point, settings and build information.
 *
 * _PG_init defines every movierec.* setting and, when the library is in
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

int			mr_blas_threads = 1;
bool		mr_preloaded = false;

void		_PG_init(void);
extern void MrExperimentsInit(void);	/* experiments.c */

/* Define settings; hooks that need preloading are installed only then. */
void
_PG_init(void)
{
	mr_preloaded = process_shared_preload_libraries_in_progress;

	DefineCustomIntVariable("movierec.blas_threads",
							"Threads OpenBLAS may use in one backend.",
							"Serving calls are small and run best single-threaded; "
							"training may use more.",
							&mr_blas_threads,
							1, 1, 64,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

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

/* Load OpenBLAS if needed and apply movierec.blas_threads. */
void
MrEnsureBlas(void)
{
	const char *err = MrBlasLoad();

	if (err != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("%s", err),
				 errhint("Install Debian's libopenblas0 package (apt-get install libopenblas0).")));
	MrBlasSetThreads(mr_blas_threads);
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
	appendStringInfo(&buf, ", \"preloaded\": %s", mr_preloaded ? "true" : "false");
	appendStringInfo(&buf, ", \"postgres\": ");
	escape_json(&buf, PG_VERSION_STR);
	appendStringInfoChar(&buf, '}');

	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}
