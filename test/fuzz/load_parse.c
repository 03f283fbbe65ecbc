/*
 * libFuzzer target: the MovieLens line parser (src/kernels/load_parse.c).
 *
 * The input is a file: the line reader runs over it with a small buffer
 * (so "line too long" is reached), every line is split in all three
 * MovieLens syntaxes and as CSV, every field goes through the id, rating
 * and timestamp parsers, and the title/year splitter and the Latin-1
 * conversion run on it.  Checked beyond "no crash": accepted ratings are
 * finite, accepted ids are positive, a year is 0 or within 1800..2200,
 * and converted Latin-1 is valid UTF-8.
 */
// sources: src/kernels/load_parse.c
#include "load_parse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct Src
{
	const uint8_t *data;
	size_t		size;
	size_t		off;
} Src;

/* Read function over the fuzz input, in short pieces. */
static ssize_t
src_read(void *arg, char *buf, size_t n)
{
	Src		   *s = arg;
	size_t		left = s->size - s->off;
	size_t		piece = 7 + (s->off % 13);	/* short reads of varying length */

	if (n > piece)
		n = piece;
	if (n > left)
		n = left;
	memcpy(buf, s->data + s->off, n);
	s->off += n;
	return (ssize_t) n;
}

/* Abort unless cond holds (libFuzzer reports it as a crash). */
static void
check(int cond)
{
	if (!cond)
		abort();
}

/* Parse every field as each kind of value. */
static void
parse_fields(char **f, int nf)
{
	for (int i = 0; i < nf; i++)
	{
		int64_t		id,
					secs;
		double		r;

		if (MrParseId(f[i], &id) == NULL)
			check(id > 0);
		(void) MrParseSeconds(f[i], &secs);
		if (MrParseRating(f[i], &r) == MR_RATING_OK)
			check(isfinite(r));
	}
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One input: a whole file. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		buf[257];
	Src			s = {data, size, 0};
	MrLineReader r;
	char	   *line;
	size_t		len;
	int			rc;

	memset(&r, 0, sizeof(r));
	r.read = src_read;
	r.arg = &s;
	r.buf = buf;
	r.cap = sizeof(buf) - 1;
	while ((rc = MrReadLine(&r, &line, &len)) == MR_LINE_OK)
	{
		static const char *const seps[] = {"\t", "|", "::", ","};
		char	   *copy = malloc(len + 1);
		char	   *utf8 = malloc(2 * len + 1);
		char	   *fields[8];
		const char *err = NULL;
		int			nf,
					year;
		size_t		n8;

		check(strlen(line) <= len);
		for (int k = 0; k < 4; k++)
		{
			memcpy(copy, line, len + 1);
			nf = MrSplitSep(copy, seps[k], fields, 7);
			check(nf >= 0 && nf <= 8);
			parse_fields(fields, nf > 7 ? 7 : nf);
		}
		memcpy(copy, line, len + 1);
		nf = MrSplitCsv(copy, fields, 7, &err);
		if (nf >= 0)
			parse_fields(fields, nf > 7 ? 7 : nf);

		memcpy(copy, line, len + 1);
		MrTitleYear(copy, &year);
		check(year == 0 || (year >= 1800 && year <= 2200));

		n8 = MrLatin1ToUtf8(line, strlen(line), utf8);
		check(n8 <= 2 * strlen(line));
		check(MrUtf8Valid(utf8, n8));
		(void) MrUtf8Valid(line, len);
		free(copy);
		free(utf8);
	}
	check(rc == MR_LINE_EOF || rc == MR_LINE_TOO_LONG);
	return 0;
}
