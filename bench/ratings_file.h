/*
 * ratings_file.h: the offline evaluators' shared pieces (bench/kernels_eval.c,
 * bench/bayes_eval.c): a growable list of (user, movie, rating) triplets, a
 * reader of MovieLens-style "u<sep>i<sep>r" files, and sorted distinct ids
 * with a binary search.  Plain C, outside the server.
 */
#ifndef MR_BENCH_RATINGS_FILE_H
#define MR_BENCH_RATINGS_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Triplets
{
	int64_t		n,
				cap;
	int64_t    *u;
	int64_t    *i;
	float	   *r;
} Triplets;

/* Append one rating. */
static void
trip_add(Triplets *t, int64_t u, int64_t i, float r)
{
	if (t->n == t->cap)
	{
		t->cap = t->cap ? 2 * t->cap : 1 << 16;
		t->u = realloc(t->u, sizeof(int64_t) * t->cap);
		t->i = realloc(t->i, sizeof(int64_t) * t->cap);
		t->r = realloc(t->r, sizeof(float) * t->cap);
	}
	t->u[t->n] = u;
	t->i[t->n] = i;
	t->r[t->n++] = r;
}

/* Read "u<sep>i<sep>r..." lines; skips a header line that does not parse. */
static void
read_file(const char *path, char sep, Triplets *t)
{
	FILE	   *fp = fopen(path, "r");
	char		line[512];

	if (fp == NULL)
	{
		perror(path);
		exit(2);
	}
	while (fgets(line, sizeof(line), fp))
	{
		char	   *s = line,
				   *e;
		long long	u,
					i;
		double		r;

		u = strtoll(s, &e, 10);
		if (e == s || *e != sep)
			continue;
		s = e + 1;
		i = strtoll(s, &e, 10);
		if (e == s || *e != sep)
			continue;
		s = e + 1;
		r = strtod(s, &e);
		if (e == s)
			continue;
		trip_add(t, u, i, (float) r);
	}
	fclose(fp);
}

/* Compare int64 for qsort. */
static int
cmp_i64(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a,
				y = *(const int64_t *) b;

	return x < y ? -1 : x > y;
}

/* Sorted distinct ids of v[0..n) into *out; returns the count. */
static int32_t
distinct(const int64_t *v, int64_t n, int64_t **out)
{
	int64_t    *s = malloc(sizeof(int64_t) * (n ? n : 1));
	int64_t		x,
				m = 0;

	memcpy(s, v, sizeof(int64_t) * n);
	qsort(s, n, sizeof(int64_t), cmp_i64);
	for (x = 0; x < n; x++)
		if (m == 0 || s[m - 1] != s[x])
			s[m++] = s[x];
	*out = s;
	return (int32_t) m;
}

/* Dense index of id in sorted ids, or -1. */
static int32_t
find(const int64_t *ids, int32_t n, int64_t id)
{
	int32_t		lo = 0,
				hi = n - 1;

	while (lo <= hi)
	{
		int32_t		mid = (lo + hi) / 2;

		if (ids[mid] == id)
			return mid;
		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

#endif							/* MR_BENCH_RATINGS_FILE_H */
