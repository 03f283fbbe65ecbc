/*
 * model_store.h: reading stored models (movierec.models, user_factors,
 * item_factors) into arrays.  Used by evaluation, serving and MLOps.
 */
#ifndef MR_MODEL_STORE_H
#define MR_MODEL_STORE_H

#include "postgres.h"

typedef struct MrModel
{
	int64		model_id;
	char	   *model_name;
	int32		version;
	char	   *algorithm;
	int32		k;				/* 0 for models without factors */
	float		global_mean;
	float		rating_min;
	float		rating_max;
	/* items, sorted by movie_id */
	int32		n_items;
	int64	   *item_ids;
	float	   *item_bias;
	float	   *Q;				/* n_items x k row-major, NULL when k = 0 */
	int32	   *item_count;		/* training ratings per movie */
	float	   *item_mean;
	/* users, sorted by user_id; empty unless asked for */
	int32		n_users;
	int64	   *user_ids;
	float	   *user_bias;
	float	   *P;				/* n_users x k row-major */
} MrModel;

/*
 * Load a model into CurrentMemoryContext.  Unknown model: ERROR with
 * ERRCODE_UNDEFINED_OBJECT.  Users are read only when with_users.
 */
extern MrModel *MrModelLoad(int64 model_id, bool with_users);

/* Index of id in the ascending array ids[0..n-1] (binary search), or -1. */
extern int32 MrFindId(const int64 *ids, int32 n, int64 id);

/* Dense index of a movie or user id (binary search), or -1. */
extern int32 MrModelItemIndex(const MrModel *m, int64 movie_id);
extern int32 MrModelUserIndex(const MrModel *m, int64 user_id);

#endif							/* MR_MODEL_STORE_H */
