/*
 * serve.h: private declarations of movierec's serving glue
 * (serve_cache.c, serve_user.c, serve_recommend.c, serve_batch.c).
 */
#ifndef MR_SERVE_H
#define MR_SERVE_H

#include "postgres.h"

#include "model_store.h"

#include "utils/timestamp.h"

#include "serve_kernels.h"

/* Largest k (and n) the serving functions accept. */
#define MR_SERVE_MAX_K 10000

/* GUCs (serve_cache.c) */
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
	uint16	   *packed;			/* bfloat16 copy in panels of 16 (serve_scan.c) */
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
	/* current ratings (movierec.ratings), sorted by movie_id */
	int32		n_rated;
	int64	   *rated_ids;
	float	   *rated_vals;
	TimestampTz newest;			/* newest rated_at (DT_NOBEGIN if none) */
	bool		any_null_time;
	/* the subset the model knows, as item indexes */
	int32		n_known;
	int32	   *known_idx;
	float	   *known_vals;
	/* user vector for the model and fold-in paths */
	bool		in_model;
	float	   *p;				/* k floats */
	float		bias;
} MrServeUser;

/* serve_cache.c */
extern void MrServeInit(void);
extern MrServeModel *MrServeGetModel(text *model_arg);
extern int32 MrServeItemIndex(const MrServeModel *m, int64 movie_id);
extern void MrServePopularity(MrServeModel *m);
extern void MrServeCheckK(int k, const char *argname);
extern Oid	MrServeRelid(int which);

/* relations serving opens directly (MrServeRelid) */
#define MR_REL_RATINGS			0
#define MR_REL_RATINGS_PKEY		1
#define MR_REL_USER_FACTORS		2
#define MR_REL_USER_FACTORS_PKEY 3
#define MR_REL_RECOMMENDATIONS	4
#define MR_REL_COUNT			5

/* serve_user.c */
extern MrServeUser *MrServeResolveUser(MrServeModel *m, int64 user_id);
extern MrServeUser *MrServeUserFromArrays(MrServeModel *m, int32 n,
										  const int64 *ids, const float *vals);
extern void MrServeFoldIn(MrServeModel *m, MrServeUser *u, float *chol);
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
