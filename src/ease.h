/*
 * ease.h: EASE models as read back from movierec.ease_weights, for
 * serving (serve_ease.c) and evaluation (evaluate.c).  The kernel side is
 * src/kernels/kern_ease.h.
 */
#ifndef MR_EASE_H
#define MR_EASE_H

#include "postgres.h"

#include "kern_ease.h"

/* B of one model, aligned with the model's items (sorted by movie_id). */
typedef struct MrEaseTable
{
	int32		n_items;		/* the model's movies (item_factors) */
	int32		n_kept;			/* movies in B */
	int32	   *kept_pos;		/* n_items: item index -> row of B, or -1 */
	int32	   *kept_item;		/* n_kept: row of B -> item index */
	float	   *B;				/* n_kept x n_kept row-major, 64-byte aligned */
	double		binarize;		/* params->binarize: x = 1 for ratings >= it */
	/* per-call buffers (serving) */
	int32	   *pos;			/* n_kept: the user's kept rows */
	float	   *x;				/* n_kept: their x values */
	float	   *acc;			/* n_kept: x_u B */
	int32		n_user;			/* entries of pos/x for the current user */
} MrEaseTable;

/*
 * Read B (and params->binarize) of model_id into cxt.  item_ids are the model's movies, ascending.
 * A movie of ease_weights that is not among them, or a row of the wrong
 * length, is reported as corrupted.
 */
extern MrEaseTable *MrEaseLoad(int64 model_id, const int64 *item_ids,
							   int32 n_items, MemoryContext cxt);

/*
 * Set t->pos / t->x / t->n_user from n ratings (item indexes and values,
 * ascending item index); returns t->n_user.
 */
extern int32 MrEaseSetUser(MrEaseTable *t, int32 n, const int32 *idx, const float *vals);

/*
 * Scores of every model item into s[0..n_items) for the user set by
 * MrEaseSetUser: (x_u B)_j for movies in B, -INFINITY for the others.
 */
extern void MrEaseScoreAll(MrEaseTable *t, float *s);

#endif							/* MR_EASE_H */
