/*
 * settings.c: state and settings that the whole PostgreSQL glue shares:
 * whether the library was preloaded, and OpenBLAS in this backend
 * (movierec.blas_threads, loading it on first use).
 */
#include "movierec.h"

#include "miscadmin.h"
#include "utils/guc.h"

#include "blas.h"

int			mr_blas_threads = 1;
bool		mr_preloaded = false;

/* Note how the library was loaded; define movierec.blas_threads. */
void
MrSettingsInit(void)
{
	mr_preloaded = process_shared_preload_libraries_in_progress;

	DefineCustomIntVariable("movierec.blas_threads",
							"Threads OpenBLAS, and recommend_all's scan, may use in one backend.",
							"Serving calls are small and run best single-threaded; "
							"training and recommend_all may use more.",
							&mr_blas_threads,
							1, 1, 64,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
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
