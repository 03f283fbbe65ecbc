/*
 * serve.h: private declarations of movierec's serving glue
 * (serve_cache.c, serve_user.c, serve_recommend.c, serve_batch.c).
 */
#ifndef MR_SERVE_H
#define MR_SERVE_H

#include "postgres.h"

#include "model_store.h"

#include "storage/itemptr.h"
#include "utils/timestamp.h"

#include "serve_kernels.h"

/* serve_generation.c: do the resolved model names hold under this snapshot? */
extern bool MrServeNamesCurrent(void);
extern void MrServeNamesResolving(void);

/* Largest k (and n) the serving functions accept. */
#define MR_SERVE_MAX_K 10000

/* misses at which a full scan stops trying its int4 copy (serve_int4.c) */
#define MR_INT4_MISSES_OFF 32
/* rescored movies above which an int4 call falls back to the int8 pass */
#define MR_INT4_MAX_RESCORE(n) ((n) / 64 + 64)
/*
 * Movies from which the full scan starts from the int4 copy: below, the
 * int8 copy stays in the caches and the int4 pass saves less than the
 * rescoring of its wider bound costs (bench/scan_parts: 9,742 movies).
 */
#define MR_INT4_MIN_ITEMS 32768

/* GUCs (serve_base.c, serve_cache.c) */
extern bool mr_fold_in;
extern int	mr_popularity_min_count;
extern double mr_popularity_damping;

/*
 * One model as served: item factors in a BLAS-friendly layout, cached per
 * backend until movierec.models or item_factors change.
 */
typedef struct MrServeModel
{
	int64		model_id;
	char	   *model_name;
	int32		version;
	char	   *algorithm;
	bool		popularity_only;	/* algorithm 'popularity': no personal scores */
	int			k;				/* factors; 0 for bias-only models */
	float		global_mean;
	float		rating_min;
	float		rating_max;
	TimestampTz trained_at;		/* models.created_at */
	MrFoldInSpec spec;			/* the model's user step (pointers below) */

	/* items sorted by movie_id */
	int32		n_items;
	int64	   *item_ids;
	float	   *item_bias;
	float	   *Q;				/* n_items x k row-major, 64-byte aligned */
	MrPacked	packed;			/* int8 copy in panels of 16 (serve_scan.c) */
	MrPacked4	packed4;		/* int4 copy, the full scan's first pass (serve_scan4.c) */
	int			int4_misses;	/* recent int4 fallbacks, 4 each (serve_recommend.c) */
	int32	   *cand;			/* n_items: candidates of MrTopKExact */
	int32	   *id_index;		/* movie_id - id_base -> index or -1; NULL if sparse */
	int64		id_base;
	int64		id_span;
	float	   *norm;			/* |q_i| for cosine */
	int32	   *n_ratings;
	float	   *mean_rating;	/* NaN when unknown */
	float	   *gram;			/* Q^T Q for implicit models */

	/* popularity scores (damped mean), for the settings they were made with */
	float	   *pop_score;
	int			pop_min_count;
	double		pop_damping;

	float	   *scratch;		/* n_items scores, reused by every call */
	struct MrEaseTable *ease;	/* algorithm 'ease': B (serve_ease.c), else NULL */
	MemoryContext cxt;

	/*
	 * serve_prune.c: 0 not built yet, 1 used (prune set), -1 not worth it;
	 * for the served arrays of build prune_version (see served_version).
	 */
	int			prune_state;
	struct MrPrune *prune;
	uint64		prune_version;

	/*
	 * serve_similar.c: the unit item vectors and their int8 copy, for the
	 * served arrays of build similar_version; NULL until first used.
	 */
	float	   *unit;
	MrPacked	unit_packed;
	MrPacked4	unit_packed4;	/* from MR_INT4_MIN_ITEMS movies (serve_int4.c) */
	int			unit4_misses;
	int32		unit_zero;		/* movies with a zero vector (never similar) */
	uint64		similar_version;

	/*
	 * The arrays above are the served movies: the trained ones (base_*) and
	 * the folded ones merged by movie_id (serve_items.c), in served_cxt.
	 */
	int32		n_base;
	int64	   *base_ids;
	float	   *base_bias;
	float	   *base_Q;
	float	   *base_norm;
	int32	   *base_n_ratings;
	float	   *base_mean;
	int32		n_folded;
	bool	   *is_folded;		/* n_items, NULL when nothing is folded */
	float		reg_item_bias;	/* the movie step's bias penalty */
	uint64		items_gen;
	int			items_min;
	uint64		served_version;	/* unique per build of the served arrays in this backend */
	MemoryContext served_cxt;

	/* the transaction snapshot the model read its ratings under (serve_changes.c) */
	bool		snap_valid;
	uint64		snap_xmin;
	uint64		snap_xmax;
	int32		snap_nxip;
	uint64	   *snap_xip;
	TransactionId snap_row_xmin;	/* the snapshots row: written by the training */
	CommandId	snap_row_cid;
	bool		pre_log;		/* trained before the change log began (under 0.1): serve_upgrade.c */
} MrServeModel;

/* How a user is served. */
typedef enum MrServePath
{
	MR_PATH_MODEL,
	MR_PATH_FOLD_IN,
	MR_PATH_POPULARITY
} MrServePath;

/* A user as resolved for one call (buffers owned by serve_user.c). */
typedef struct MrServeUser
{
	MrServePath path;
	char		reason[256];
	/* current ratings (movierec.ratings), sorted by movie_id; values NaN unless read */
	int32		n_rated;
	int64	   *rated_ids;
	float	   *rated_vals;
	/* the subset the model knows, as item indexes */
	int32		n_known;
	int32	   *known_idx;
	float	   *known_vals;
	/* user vector for the model and fold-in paths */
	bool		in_model;
	bool		fold_failed;	/* the fold-in system could not be solved */
	float	   *p;				/* k floats */
	float		bias;
} MrServeUser;

/* serve_prune.c */
extern struct MrPrune *MrServePruneIndex(MrServeModel *m, const float *p);
extern bool MrServePruneRecommend(FunctionCallInfo fcinfo, MrServeModel *m,
								  const MrServeUser *u, int k, bool exclude);

/* serve_similar.c */
/* serve_int4.c */
extern void MrServeInt4Pack(MemoryContext cxt, const float *Q, int32 n, int k, MrPacked4 *pk);
extern bool MrServeInt4Usable(const MrPacked4 *pk, int misses);
extern void MrServeInt4Outcome(const MrServeModel *m, int *misses, bool fell_back, const char *what);

extern int	MrServeSimilarTopK(MrServeModel *m, int32 x, int k, int32 *out_index,
							   float *out_score);

/* serve_cache.c */
extern void MrServeInit(void);
extern MrServeModel *MrServeGetModel(text *model_arg);
extern void MrServePopularity(MrServeModel *m);
extern void MrServeCheckK(int k, const char *argname);

/* serve_base.c: the ground floor (calls no other serve_*.c file) */
extern void MrServeBaseInit(void);
extern void MrServeResolveRels(void);
extern Oid	MrServeRelid(int which);
extern Oid	MrServeKnownRelid(int which);
extern uint64 MrServeRelsGeneration(void);
extern float *MrServeAllocFloats(MemoryContext cxt, Size n);
extern void MrServeDerive(MrServeModel *m, MemoryContext cxt);
extern int32 MrServeItemIndex(const MrServeModel *m, int64 movie_id);
extern void MrServeEmitTopK(FunctionCallInfo fcinfo, const MrServeModel *m, int n,
							const int32 *index, const float *score, float add);

/* relations serving opens directly (MrServeRelid) */
#define MR_REL_RATINGS			0
#define MR_REL_RATINGS_PKEY		1
#define MR_REL_USER_FACTORS		2
#define MR_REL_USER_FACTORS_PKEY 3
#define MR_REL_RECOMMENDATIONS	4
#define MR_REL_RATING_CHANGES	5
#define MR_REL_RATING_CHANGES_PKEY 6
#define MR_REL_MOVIES			7
#define MR_REL_MODELS			8
#define MR_REL_ITEM_FACTORS		9
#define MR_REL_COUNT			10

/* serve_items.c */
extern int	mr_item_fold_in_min_ratings;
extern void MrServeItemsInit(void);
extern void MrServeItemsStale(void);
extern void MrServeItemsBuild(MrServeModel *m);
extern void MrServeItemsCheck(MrServeModel *m);

/*
 * Which versions of a user's change-log row and of the truncate marker a
 * snapshot sees (serve_changes.c): equal keys mean equal current ratings,
 * which lets serve_user.c cache a user's rated movies.
 */
typedef struct MrChangeKey
{
	bool		found[2];		/* the user's row, the marker (user 0) */
	ItemPointerData tid[2];
	TransactionId xmin[2];
} MrChangeKey;

/* serve_changes.c */
extern void MrServeChangesLoad(MrServeModel *m);
extern bool MrServeUserChanged(const MrServeModel *m, int64 user_id, MrChangeKey *key);

/* serve_upgrade.c */
extern bool MrServeRatedSince(const MrServeModel *m, int64 user_id);

/* serve_user.c, for serve_cache.c */
extern void MrServeUserCacheReset(void);

/* What a caller needs of the user's current ratings. */
typedef enum MrServeNeed
{
	MR_NEED_NONE,				/* the path and the factors (predict) */
	MR_NEED_IDS,				/* and the rated movies (exclusion) */
	MR_NEED_VALUES				/* and the ratings (explain) */
} MrServeNeed;

/* serve_user.c */
extern MrServeUser *MrServeResolveUser(MrServeModel *m, int64 user_id, MrServeNeed need);
extern MrServeUser *MrServeUserFromArrays(MrServeModel *m, int32 n,
										  const int64 *ids, const float *vals);
extern bool MrServeFoldIn(MrServeModel *m, MrServeUser *u, float *chol);
extern const char *MrServePathName(MrServePath path);

/* serve_ease.c: the hooks of algorithm 'ease' */
extern void MrServeEaseLoad(MrServeModel *m);
extern void MrServeEaseUser(MrServeModel *m, MrServeUser *u, int64 user_id);
extern void MrServeEaseScore(MrServeModel *m, const int32 *cand, int32 ncand);
extern float MrServeEaseScoreOne(MrServeModel *m, int32 x);
extern bool MrServeEaseSimilar(MrServeModel *m, int32 x);
extern bool MrServeEaseExplain(MrServeModel *m, const MrServeUser *u, int32 x,
							   float *contrib);

#endif							/* MR_SERVE_H */
