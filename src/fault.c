/*
 * fault.c: named fault points for the reliability tests.
 *
 * movierec.fault_point (superuser only, hidden) names one point in a
 * training run, as progress.c publishes it: "reading" (the run starts),
 * "training" (the ratings are read), "iteration:N" (after iteration N),
 * "writing" (the model row is next); or "factors" (the user factors are
 * written, the movie factors are next) or "commit" (the pre-commit of a
 * transaction that stored a model).  A backend or job worker that reaches
 * the named point stops there: it shows "movierec fault point NAME" as its
 * query in pg_stat_activity and sleeps, ignoring interrupts, so that a test
 * can kill -9 it, its worker or the postmaster at exactly that point.  It
 * goes on after movierec.fault_pause_ms (default 60 s), so a test that
 * fails leaves nothing stuck.  Empty (the default) costs one string test.
 */
#include "movierec.h"

#include "access/xact.h"
#include "pgstat.h"
#include "utils/backend_status.h"
#include "utils/guc.h"

#include "train.h"

static char *mr_fault_point = NULL;
static int	mr_fault_pause_ms = 60000;
static bool mr_stored_in_xact = false;

/* Stop at point NAME if movierec.fault_point names it. */
void
MrFaultPoint(const char *name)
{
	char		activity[128];

	if (mr_fault_point == NULL || mr_fault_point[0] == '\0' ||
		strcmp(mr_fault_point, name) != 0)
		return;
	snprintf(activity, sizeof(activity), "movierec fault point %s", name);
	elog(LOG, "%s reached (pid %d)", activity, MyProcPid);
	pgstat_report_activity(STATE_RUNNING, activity);
	for (int waited = 0; waited < mr_fault_pause_ms; waited += 10)
		pg_usleep(10000L);
}

/* A model was stored in this transaction: arm the "commit" point. */
void
MrFaultModelStored(void)
{
	mr_stored_in_xact = true;
}

/* Transaction callback: the "commit" point, just before the commit record. */
static void
MrFaultXactCallback(XactEvent event, void *arg)
{
	if (!mr_stored_in_xact)
		return;
	if (event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_PARALLEL_PRE_COMMIT)
		MrFaultPoint("commit");
	if (event != XACT_EVENT_PRE_COMMIT && event != XACT_EVENT_PARALLEL_PRE_COMMIT)
		mr_stored_in_xact = false;
}

/* Define the settings and the transaction callback. */
void
MrFaultInit(void)
{
	DefineCustomStringVariable("movierec.fault_point",
							   "Testing only: the training point where this backend stops.",
							   "One of reading, training, iteration:N, writing, factors, commit; empty for none.",
							   &mr_fault_point,
							   "",
							   PGC_SUSET, GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("movierec.fault_pause_ms",
							"Testing only: how long a backend stays at its fault point.",
							NULL,
							&mr_fault_pause_ms,
							60000, 0, 600000,
							PGC_SUSET, GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_UNIT_MS,
							NULL, NULL, NULL);
	RegisterXactCallback(MrFaultXactCallback, NULL);
}
