/*
 * stats.h: serving and training statistics in shared memory (stats.c).
 *
 * Serving calls are timed by a function manager hook, so the serving code
 * only says what it alone knows about the call in progress: the model it
 * resolved, the path it served the user by, the rows it returned and the
 * cache work it did.  Every MrStatsNote* call is a few stores into
 * backend-local memory and does nothing when no serving call is tracked.
 */
#ifndef MR_STATS_H
#define MR_STATS_H

#include "postgres.h"

/* GUC movierec.track_stats (stats.c) */
extern bool mr_track_stats;

/* _PG_init: the GUC; when preloading, shared memory and the hooks */
extern void MrStatsInit(void);

/* the call in progress resolved this model (model_name must live through the call) */
extern void MrStatsNoteModel(int64 model_id, const char *model_name);

/* ... served the user by this path (a string constant: "model", "fold_in", ...) */
extern void MrStatsNotePath(const char *path);

/* ... returned this many rows (set-returning functions) */
extern void MrStatsNoteRows(int64 rows);

/* ... loaded a model into the backend cache / dropped n stale cached models */
extern void MrStatsNoteCacheLoad(void);
extern void MrStatsNoteCacheInvalidation(int n);

/* train.c: a run starts; a run ends (model_id 0 = it failed or was cancelled) */
extern void MrStatsTrainBegin(void);
extern void MrStatsTrainEnd(const char *algorithm, const char *model_name, int64 model_id);

#endif							/* MR_STATS_H */
