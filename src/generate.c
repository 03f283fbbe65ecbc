/*
 * generate.c: movierec.generate_ratings(), glue around the synth.c kernel.
 *
 * Validates the arguments, draws the model in a dedicated memory context
 * (freed on error with everything else), then replaces movies and
 * ratings through bulk_insert.c exactly as the MovieLens loader does:
 * TRUNCATE, batched heap inserts, index rebuild, all in the caller's
 * transaction.  Users and movies get ids 1..n_users and 1..n_movies.
 */
#include "movierec.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "bulk_insert.h"
#include "synth.h"

/* Zeroed huge allocation in the generator's context (arg). */
static void *
synth_alloc(void *arg, size_t bytes)
{
	return MemoryContextAllocExtended((MemoryContext) arg, Max(bytes, 1),
									  MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
}

/* Free for the kernel. */
static void
synth_free(void *arg, void *p)
{
	pfree(p);
}

/* Insert the n_movies synthetic movies. */
static void
insert_movies(MrSynth *s, int32 n_movies)
{
	MrBulk	   *b = MrBulkOpen("movies");
	Datum		genre_text[MR_SYNTH_N_GENRES];
	char		title[64];

	for (int g = 0; g < MR_SYNTH_N_GENRES; g++)
		genre_text[g] = CStringGetTextDatum(mr_synth_genres[g]);
	for (int32 m = 0; m < n_movies; m++)
	{
		TupleTableSlot *slot = MrBulkSlot(b);
		MemoryContext old = MemoryContextSwitchTo(b->batch_cxt);
		MrSynthMovie info;
		Datum		g[MR_SYNTH_MAX_GENRES];

		MrSynthMovieInfo(s, m, title, sizeof(title), &info);
		for (int j = 0; j < info.n_genres; j++)
			g[j] = genre_text[info.genres[j]];
		slot->tts_values[0] = Int64GetDatum((int64) m + 1);
		slot->tts_values[1] = CStringGetTextDatum(title);
		slot->tts_values[2] = Int32GetDatum(info.year);
		slot->tts_values[3] = PointerGetDatum(construct_array(g, info.n_genres, TEXTOID,
															  -1, false, TYPALIGN_INT));
		memset(slot->tts_isnull, 0, 4 * sizeof(bool));
		MemoryContextSwitchTo(old);
		MrBulkStore(b);
	}
	MrBulkClose(b);
}

/* Generate and insert every user's ratings; returns the rows written. */
static int64
insert_ratings(MrSynth *s, int32 n_users, MemoryContext cxt)
{
	MrBulk	   *b = MrBulkOpen("ratings");
	int32		max = MrSynthMaxCount(s);
	int32	   *movies = MemoryContextAllocHuge(cxt, sizeof(int32) * Max(max, 1));
	float	   *ratings = MemoryContextAllocHuge(cxt, sizeof(float) * Max(max, 1));
	int64	   *secs = MemoryContextAllocHuge(cxt, sizeof(int64) * Max(max, 1));

	for (int32 u = 0; u < n_users; u++)
	{
		int32		n;

		CHECK_FOR_INTERRUPTS();
		n = MrSynthUser(s, u, movies, ratings, secs, NULL);
		for (int32 j = 0; j < n; j++)
		{
			TupleTableSlot *slot = MrBulkSlot(b);
			TimestampTz ts;

			if (!MrUnixToTimestamp(secs[j], &ts))
				elog(ERROR, "synthetic timestamp out of range");
			slot->tts_values[0] = Int64GetDatum((int64) u + 1);
			slot->tts_values[1] = Int64GetDatum((int64) movies[j] + 1);
			slot->tts_values[2] = Float4GetDatum(ratings[j]);
			slot->tts_values[3] = TimestampTzGetDatum(ts);
			memset(slot->tts_isnull, 0, 4 * sizeof(bool));
			MrBulkStore(b);
		}
	}
	return MrBulkClose(b);
}

PG_FUNCTION_INFO_V1(movierec_generate_ratings);

/*
 * movierec.generate_ratings(n_users int, n_movies int, n_ratings bigint,
 *     rank int, noise real, seed int) RETURNS bigint
 */
Datum
movierec_generate_ratings(PG_FUNCTION_ARGS)
{
	MrSynthParams p;
	const char *problem;
	MemoryContext cxt;
	MrSynth    *s;
	int64		written;
	float4		noise = PG_GETARG_FLOAT4(4);

	memset(&p, 0, sizeof(p));
	p.n_users = PG_GETARG_INT32(0);
	p.n_movies = PG_GETARG_INT32(1);
	p.n_ratings = PG_GETARG_INT64(2);
	p.rank = PG_GETARG_INT32(3);
	p.noise = noise;
	p.seed = (uint64) (int64) PG_GETARG_INT32(5);
	problem = MrSynthCheck(&p);
	if (problem)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s", problem),
				 errhint("Use n_users, n_movies >= 1, 1 <= n_ratings <= n_users * n_movies, "
						 "rank 0 to 1000 and noise 0 to 5.")));

	cxt = AllocSetContextCreate(CurrentMemoryContext, "movierec generate_ratings",
								ALLOCSET_DEFAULT_SIZES);
	p.alloc = synth_alloc;
	p.free = synth_free;
	p.arg = cxt;
	MrDataPhase(NULL);
	s = MrSynthCreate(&p);
	MrDataPhase("model drawn");

	MrDataReplaceBegin();
	insert_movies(s, p.n_movies);
	MrDataPhase("movies generated and written");
	written = insert_ratings(s, p.n_users, cxt);
	MrDataPhase("ratings generated and written");
	MrDataRebuildIndexes("movies", "the synthetic movies");
	MrDataRebuildIndexes("ratings", "the synthetic ratings");
	if (written != p.n_ratings)
		elog(ERROR, "generated " INT64_FORMAT " ratings instead of " INT64_FORMAT,
			 written, p.n_ratings);
	MemoryContextDelete(cxt);
	PG_RETURN_INT64(written);
}
