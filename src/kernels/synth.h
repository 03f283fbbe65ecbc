/*
 * synth.h: the synthetic ratings generator kernel (pure C).
 *
 * No PostgreSQL headers.  The caller supplies zeroing allocation and
 * free functions; generate.c uses palloc, the unit test malloc.  See
 * synth.c for the model.
 */
#ifndef MR_SYNTH_H
#define MR_SYNTH_H

#include <stddef.h>
#include <stdint.h>

typedef struct MrSynthParams
{
	int32_t		n_users;
	int32_t		n_movies;
	int64_t		n_ratings;
	int32_t		rank;			/* planted factors, 0 .. MR_SYNTH_MAX_RANK */
	double		noise;			/* sigma of rating minus low-rank truth */
	uint64_t	seed;
	void	   *(*alloc) (void *arg, size_t bytes);	/* zeroed, never NULL */
	void		(*free) (void *arg, void *p);
	void	   *arg;
} MrSynthParams;

#define MR_SYNTH_MAX_RANK 1000
#define MR_SYNTH_MAX_NOISE 5.0
#define MR_SYNTH_N_GENRES 19
#define MR_SYNTH_MAX_GENRES 3

/* Constants of the model (documented in synth.c and doc/data.md). */
#define MR_SYNTH_MU 3.25
#define MR_SYNTH_USER_BIAS_SD 0.25
#define MR_SYNTH_ITEM_BIAS_SD 0.25
#define MR_SYNTH_INTERACTION_SD 0.5
#define MR_SYNTH_MIN_PER_USER 20

typedef struct MrSynth MrSynth;

typedef struct MrSynthMovie
{
	int			year;
	int			n_genres;
	int			genres[MR_SYNTH_MAX_GENRES];	/* indexes into mr_synth_genres */
} MrSynthMovie;

extern const char *const mr_synth_genres[MR_SYNTH_N_GENRES];

/* NULL if the parameters are usable, else what is wrong. */
extern const char *MrSynthCheck(const MrSynthParams *p);

/* Draw the model: factors, biases, popularity, activity, time windows. */
extern MrSynth *MrSynthCreate(const MrSynthParams *p);
extern void MrSynthFree(MrSynth *s);

/* Movie m (0-based): title into buf, year and genres into *out. */
extern void MrSynthMovieInfo(const MrSynth *s, int32_t m, char *buf, size_t buflen,
							 MrSynthMovie *out);

/* Ratings user u (0-based) will get. */
extern int32_t MrSynthUserCount(const MrSynth *s, int32_t u);

/* Largest MrSynthUserCount over all users (size for the output arrays). */
extern int32_t MrSynthMaxCount(const MrSynth *s);

/* Ratings clipped to 0.5 or 5 by the MrSynthUser calls so far. */
extern int64_t MrSynthClipped(const MrSynth *s);

/*
 * User u's ratings: movie indexes ascending, half-star ratings, Unix
 * seconds, and (if truth is not NULL) the noiseless low-rank value.
 * Returns the count.  Depends only on the seed and u, not on call order.
 */
extern int32_t MrSynthUser(MrSynth *s, int32_t u, int32_t *movies, float *ratings,
						   int64_t *secs, double *truth);

/* The noiseless truth mu + b_u + b_i + p_u . q_i of user u, movie i (0-based). */
extern double MrSynthTruth(const MrSynth *s, int32_t u, int32_t i);

#endif							/* MR_SYNTH_H */
