/*
 * synth.c: synthetic MovieLens-like ratings with a planted low-rank model.
 *
 * The model (doc/data.md states it for users):
 *
 *   truth(u, i) = mu + b_u + b_i + p_u . q_i
 *   rating(u, i) = clip(round_half(truth(u, i) + e), 0.5, 5),
 *                  e ~ N(0, s^2),  s = sqrt(max(noise^2 - 1/48, 0))
 *
 * with mu = MR_SYNTH_MU, b_u ~ N(0, 0.25^2), b_i ~ N(0, 0.25^2) and the
 * rank-k factors p_u, q_i with i.i.d. N(0, c^2) entries, c^4 = 0.5^2 / k,
 * so that p_u . q_i has standard deviation 0.5 whatever the rank.
 *
 * Rounding to the nearest half star adds an error that is close to
 * uniform on [-0.25, 0.25) and independent of e (the truth is spread over
 * several half-star steps), of variance 0.5^2 / 12 = 1/48.  Drawing e with
 * s^2 = noise^2 - 1/48 therefore makes rating - truth have standard
 * deviation `noise` (for noise >= 0.15; below that the rounding alone
 * is already larger).  mu = 3.25 sits so that truth + e leaves
 * [0.25, 5.25) (the range that rounds into 0.5 .. 5) rarely: the spread
 * of truth + e is sqrt(0.25^2 + 0.25^2 + 0.5^2 + s^2) ~ 0.79 for
 * noise 0.5, so clipping touches about 0.6% of ratings, nearly all at 5.
 *
 * Activity and popularity are long-tailed like MovieLens: every user gets
 * MR_SYNTH_MIN_PER_USER ratings (or n_ratings / n_users if smaller) plus a
 * share of the rest proportional to (rank + 1)^-0.72 over a random
 * ranking of users; movies are picked with probability proportional to
 * (rank + 10)^-0.85 over a random ranking of movies, without repeats.
 * (In ml-latest-small the top 10% of users hold 48% of ratings and the
 * top 10% of movies 60%; these exponents give shares of that order.)
 * A user rates at most half the catalogue (ml-25m's heaviest user rated
 * 55% of it) unless the requested total needs more; the total is
 * exactly n_ratings.
 *
 * Time: each user is active from a start time uniform over 1996-2023
 * for an exponential span of mean two years (cut at the end of 2023);
 * each rating's time is uniform in that window.  Movie years are
 * 1915-2023, denser in recent years, drawn independently of rating times.
 *
 * Randomness is a xoshiro256** stream seeded through splitmix64: one
 * stream draws the model, and user u's ratings come from a stream seeded
 * from (seed, u), so a user's ratings do not depend on call order and the
 * same seed gives the same data (given the same libm for log/sqrt/cos).
 */
#include "synth.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USER_ZIPF 0.72
#define MOVIE_ZIPF 0.85
#define MOVIE_ZIPF_OFFSET 10.0
#define TIME_START 820454400	/* 1996-01-01 UTC */
#define TIME_END 1704067200		/* 2024-01-01 UTC */
#define MEAN_SPAN (2.0 * 365.25 * 86400)


struct MrSynth
{
	MrSynthParams p;
	double		sigma;			/* Gaussian part of the noise */
	double		factor_sd;
	float	   *user_bias;
	float	   *item_bias;
	float	   *P;
	float	   *Q;
	int32_t    *count;			/* ratings per user */
	int32_t		max_count;
	double	   *alias_prob;		/* Vose alias table over movies */
	int32_t    *alias_idx;
	int32_t    *by_popularity;	/* movies, most popular first */
	uint8_t    *taken;			/* scratch: movie already picked */
	int16_t    *year;
	int64_t		clipped;		/* ratings clipped to 0.5 or 5 so far */
};

const char *const mr_synth_genres[MR_SYNTH_N_GENRES] = {
	"Action", "Adventure", "Animation", "Children", "Comedy", "Crime",
	"Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "IMAX",
	"Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western"
};

static const char *const title_words_a[16] = {
	"Silent", "Crimson", "Last", "Hidden", "Broken", "Golden", "Midnight",
	"Distant", "Frozen", "Wild", "Secret", "Electric", "Lonely", "Burning",
	"Forgotten", "Velvet"
};

static const char *const title_words_b[16] = {
	"Harbor", "Summer", "Empire", "Garden", "Signal", "River", "Station",
	"Promise", "Horizon", "Letter", "Kingdom", "Storm", "Mirror", "Frontier",
	"Orchard", "Voyage"
};

/* Standard normal (Box-Muller, one value per call). */
static double
rng_normal(MrRng *r)
{
	double		u1 = 1.0 - MrRngUniform(r);	/* (0, 1] */
	double		u2 = MrRngUniform(r);

	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* Fisher-Yates shuffle of 0..n-1 into perm. */
static void
shuffle(MrRng *r, int32_t *perm, int32_t n)
{
	for (int32_t i = 0; i < n; i++)
		perm[i] = i;
	for (int32_t i = n - 1; i > 0; i--)
	{
		int32_t		j = (int32_t) MrRngBelow(r, (uint64_t) i + 1);
		int32_t		t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
	}
}

/* Validate parameters; NULL when usable. */
const char *
MrSynthCheck(const MrSynthParams *p)
{
	if (p->n_users < 1)
		return "n_users must be at least 1";
	if (p->n_movies < 1)
		return "n_movies must be at least 1";
	if (p->n_ratings < 1)
		return "n_ratings must be at least 1";
	if (p->n_ratings > (int64_t) p->n_users * p->n_movies)
		return "n_ratings is larger than n_users * n_movies";
	if (p->rank < 0 || p->rank > MR_SYNTH_MAX_RANK)
		return "rank must be between 0 and 1000";
	if (!(p->noise >= 0 && p->noise <= MR_SYNTH_MAX_NOISE))
		return "noise must be between 0 and 5";
	return NULL;
}

/* Vose's alias method over weights w[0..n-1] (w is overwritten). */
static void
build_alias(MrSynth *s, double *w, int32_t n, double total)
{
	int32_t    *small = s->p.alloc(s->p.arg, sizeof(int32_t) * n);
	int32_t    *large = s->p.alloc(s->p.arg, sizeof(int32_t) * n);
	int32_t		ns = 0,
				nl = 0;

	for (int32_t i = 0; i < n; i++)
	{
		w[i] = w[i] * n / total;
		if (w[i] < 1.0)
			small[ns++] = i;
		else
			large[nl++] = i;
	}
	while (ns > 0 && nl > 0)
	{
		int32_t		a = small[--ns];
		int32_t		g = large[nl - 1];

		s->alias_prob[a] = w[a];
		s->alias_idx[a] = g;
		w[g] = (w[g] + w[a]) - 1.0;
		if (w[g] < 1.0)
		{
			nl--;
			small[ns++] = g;
		}
	}
	while (nl > 0)
	{
		int32_t		g = large[--nl];

		s->alias_prob[g] = 1.0;
		s->alias_idx[g] = g;
	}
	while (ns > 0)
	{
		int32_t		a = small[--ns];

		s->alias_prob[a] = 1.0;
		s->alias_idx[a] = a;
	}
	s->p.free(s->p.arg, small);
	s->p.free(s->p.arg, large);
}

/* Ratings per user: minimum plus a power-law share, exact total. */
static void
assign_counts(MrSynth *s, MrRng *r)
{
	int32_t		nu = s->p.n_users;
	int64_t		nm = s->p.n_movies;
	int32_t    *rank_of = s->p.alloc(s->p.arg, sizeof(int32_t) * nu);
	int32_t    *user_at = s->p.alloc(s->p.arg, sizeof(int32_t) * nu);
	int64_t		min = MR_SYNTH_MIN_PER_USER;
	int64_t		extra,
				cap,
				rest,
				n_cap = 0,
				total = 0,
				left;
	double		wsum = 0;

	if (s->p.n_ratings / nu < min)
		min = s->p.n_ratings / nu;
	if (min > nm)
		min = nm;
	extra = s->p.n_ratings - min * nu;
	cap = (nm / 2 > min) ? nm / 2 : min;
	shuffle(r, rank_of, nu);
	for (int32_t k = 0; k < nu; k++)
		wsum += pow(k + 1.0, -USER_ZIPF);

	/*
	 * Water-filling: the heaviest n_cap users get the cap and the others
	 * share what remains in proportion to their weights; weights fall
	 * with rank, so the capped users are a prefix of the ranking.
	 */
	while (n_cap < nu && extra - n_cap * (cap - min) > 0 &&
		   min + (extra - n_cap * (cap - min)) * pow(n_cap + 1.0, -USER_ZIPF) / wsum > cap)
	{
		wsum -= pow(n_cap + 1.0, -USER_ZIPF);
		n_cap++;
	}
	rest = extra - n_cap * (cap - min);
	for (int32_t u = 0; u < nu; u++)
	{
		int64_t		c;

		if (rank_of[u] < n_cap)
			c = cap;
		else
			c = min + (int64_t) floor(rest * pow(rank_of[u] + 1.0, -USER_ZIPF) / wsum);
		if (c > cap)
			c = cap;
		s->count[u] = (int32_t) c;
		total += c;
		user_at[rank_of[u]] = u;
	}
	/* rounding and caps leave a remainder: one more each, heaviest first */
	left = s->p.n_ratings - total;
	for (int32_t k = 0; k < nu && left > 0; k++)
		if (s->count[user_at[k]] < cap)
		{
			s->count[user_at[k]]++;
			left--;
		}
	/* only when the caps leave too few: fill heaviest users up to n_movies */
	for (int32_t k = 0; k < nu && left > 0; k++)
	{
		int64_t		add = nm - s->count[user_at[k]];

		if (add > left)
			add = left;
		s->count[user_at[k]] += (int32_t) add;
		left -= add;
	}
	s->max_count = 0;
	for (int32_t u = 0; u < nu; u++)
		if (s->count[u] > s->max_count)
			s->max_count = s->count[u];
	s->p.free(s->p.arg, rank_of);
	s->p.free(s->p.arg, user_at);
}

/* Draw the whole model from the seed. */
MrSynth *
MrSynthCreate(const MrSynthParams *p)
{
	MrSynth    *s = p->alloc(p->arg, sizeof(MrSynth));
	int32_t		nu = p->n_users,
				nm = p->n_movies,
				k = p->rank;
	MrRng		r;
	double	   *w;
	int32_t    *perm;
	double		wsum = 0;

	s->p = *p;
	s->sigma = sqrt(fmax(p->noise * p->noise - 1.0 / 48.0, 0.0));
	s->factor_sd = (k > 0) ? pow(MR_SYNTH_INTERACTION_SD * MR_SYNTH_INTERACTION_SD / k, 0.25) : 0;
	s->user_bias = p->alloc(p->arg, sizeof(float) * nu);
	s->item_bias = p->alloc(p->arg, sizeof(float) * nm);
	s->P = p->alloc(p->arg, sizeof(float) * (size_t) nu * (k > 0 ? k : 1));
	s->Q = p->alloc(p->arg, sizeof(float) * (size_t) nm * (k > 0 ? k : 1));
	s->count = p->alloc(p->arg, sizeof(int32_t) * nu);
	s->alias_prob = p->alloc(p->arg, sizeof(double) * nm);
	s->alias_idx = p->alloc(p->arg, sizeof(int32_t) * nm);
	s->by_popularity = p->alloc(p->arg, sizeof(int32_t) * nm);
	s->taken = p->alloc(p->arg, nm);
	s->year = p->alloc(p->arg, sizeof(int16_t) * nm);

	MrRngSeed(&r, p->seed);
	for (int32_t u = 0; u < nu; u++)
	{
		s->user_bias[u] = (float) (MR_SYNTH_USER_BIAS_SD * rng_normal(&r));
		for (int32_t f = 0; f < k; f++)
			s->P[(size_t) u * k + f] = (float) (s->factor_sd * rng_normal(&r));
	}
	for (int32_t i = 0; i < nm; i++)
	{
		s->item_bias[i] = (float) (MR_SYNTH_ITEM_BIAS_SD * rng_normal(&r));
		for (int32_t f = 0; f < k; f++)
			s->Q[(size_t) i * k + f] = (float) (s->factor_sd * rng_normal(&r));
		s->year[i] = (int16_t) (1915 + (int) floor(109.0 * sqrt(MrRngUniform(&r))));
	}

	/* popularity: a random ranking of movies, weight (rank + 10)^-0.85 */
	w = p->alloc(p->arg, sizeof(double) * nm);
	perm = s->by_popularity;
	shuffle(&r, perm, nm);
	for (int32_t j = 0; j < nm; j++)
	{
		w[perm[j]] = pow(j + MOVIE_ZIPF_OFFSET, -MOVIE_ZIPF);
		wsum += w[perm[j]];
	}
	build_alias(s, w, nm, wsum);
	p->free(p->arg, w);

	assign_counts(s, &r);
	return s;
}

/* Release everything MrSynthCreate allocated. */
void
MrSynthFree(MrSynth *s)
{
	void	   *arrays[] = {s->user_bias, s->item_bias, s->P, s->Q, s->count,
		s->alias_prob, s->alias_idx, s->by_popularity, s->taken, s->year};

	for (size_t i = 0; i < sizeof(arrays) / sizeof(arrays[0]); i++)
		s->p.free(s->p.arg, arrays[i]);
	s->p.free(s->p.arg, s);
}

/* Title, year and genres of movie m; genres follow its strongest factor. */
void
MrSynthMovieInfo(const MrSynth *s, int32_t m, char *buf, size_t buflen, MrSynthMovie *out)
{
	int			k = s->p.rank;
	MrRng		r;
	int			n_extra;

	snprintf(buf, buflen, "%s %s %d", title_words_a[m % 16],
			 title_words_b[(m / 16) % 16], m + 1);
	out->year = s->year[m];
	out->n_genres = 0;
	MrRngSeed(&r, s->p.seed ^ (UINT64_C(0xD1B54A32D192ED03) * ((uint64_t) m + 1)));
	if (k > 0)
	{
		const float *q = s->Q + (size_t) m * k;
		int			best = 0;

		for (int f = 1; f < k; f++)
			if (fabsf(q[f]) > fabsf(q[best]))
				best = f;
		out->genres[out->n_genres++] = (2 * best + (q[best] > 0)) % MR_SYNTH_N_GENRES;
	}
	else
		out->genres[out->n_genres++] = (int) MrRngBelow(&r, MR_SYNTH_N_GENRES);
	n_extra = (int) MrRngBelow(&r, 5) / 2;	/* 0, 0, 1, 1, 2 */
	while (n_extra > 0)
	{
		int			g = (int) MrRngBelow(&r, MR_SYNTH_N_GENRES);
		int			dup = 0;

		for (int j = 0; j < out->n_genres; j++)
			dup |= (out->genres[j] == g);
		if (!dup)
		{
			out->genres[out->n_genres++] = g;
			n_extra--;
		}
	}
	/* alphabetical, as MovieLens lists them */
	for (int a = 1; a < out->n_genres; a++)
		for (int b = a; b > 0 && out->genres[b] < out->genres[b - 1]; b--)
		{
			int			t = out->genres[b];

			out->genres[b] = out->genres[b - 1];
			out->genres[b - 1] = t;
		}
}

/* Ratings of user u. */
int32_t
MrSynthUserCount(const MrSynth *s, int32_t u)
{
	return s->count[u];
}

/* The largest per-user count. */
int32_t
MrSynthMaxCount(const MrSynth *s)
{
	return s->max_count;
}

/* Ratings clipped to 0.5 or 5 by the MrSynthUser calls so far. */
int64_t
MrSynthClipped(const MrSynth *s)
{
	return s->clipped;
}

/* qsort comparator for int32. */
static int
cmp_int32(const void *a, const void *b)
{
	int32_t		x = *(const int32_t *) a,
				y = *(const int32_t *) b;

	return (x > y) - (x < y);
}

/* See synth.h. */
int32_t
MrSynthUser(MrSynth *s, int32_t u, int32_t *movies, float *ratings, int64_t *secs,
			double *truth)
{
	int32_t		need = s->count[u];
	int32_t		nm = s->p.n_movies;
	int			k = s->p.rank;
	int32_t		have = 0;
	int64_t		attempts = 8 * (int64_t) need + 100;
	MrRng		r;
	double		start,
				span;
	const float *pu = s->P + (size_t) u * k;

	MrRngSeed(&r, s->p.seed ^ (UINT64_C(0x9E3779B97F4A7C15) * ((uint64_t) u + 1)));

	/* distinct movies by popularity: alias draws, then the most popular left */
	while (have < need && attempts-- > 0)
	{
		int32_t		i = (int32_t) MrRngBelow(&r, (uint64_t) nm);

		if (MrRngUniform(&r) >= s->alias_prob[i])
			i = s->alias_idx[i];
		if (!s->taken[i])
		{
			s->taken[i] = 1;
			movies[have++] = i;
		}
	}
	for (int32_t j = 0; have < need; j++)
	{
		int32_t		i = s->by_popularity[j];

		if (!s->taken[i])
		{
			s->taken[i] = 1;
			movies[have++] = i;
		}
	}
	for (int32_t j = 0; j < have; j++)
		s->taken[movies[j]] = 0;
	qsort(movies, have, sizeof(int32_t), cmp_int32);

	start = TIME_START + MrRngUniform(&r) * (TIME_END - TIME_START);
	span = -MEAN_SPAN * log(1.0 - MrRngUniform(&r));
	if (start + span > TIME_END - 1)
		span = TIME_END - 1 - start;

	for (int32_t j = 0; j < have; j++)
	{
		int32_t		i = movies[j];
		const float *qi = s->Q + (size_t) i * k;
		double		t = MR_SYNTH_MU + s->user_bias[u] + s->item_bias[i];
		double		x;

		for (int f = 0; f < k; f++)
			t += (double) pu[f] * qi[f];
		x = floor((t + s->sigma * rng_normal(&r)) * 2.0 + 0.5) / 2.0;
		if (x < 0.5 || x > 5.0)
		{
			x = (x < 0.5) ? 0.5 : 5.0;
			s->clipped++;
		}
		ratings[j] = (float) x;
		secs[j] = (int64_t) (start + MrRngUniform(&r) * span);
		if (truth)
			truth[j] = t;
	}
	return have;
}

/* See synth.h; the same sum MrSynthUser computes for its ratings. */
double
MrSynthTruth(const MrSynth *s, int32_t u, int32_t i)
{
	int			k = s->p.rank;
	const float *pu = s->P + (size_t) u * k;
	const float *qi = s->Q + (size_t) i * k;
	double		t = MR_SYNTH_MU + s->user_bias[u] + s->item_bias[i];

	for (int f = 0; f < k; f++)
		t += (double) pu[f] * qi[f];
	return t;
}
