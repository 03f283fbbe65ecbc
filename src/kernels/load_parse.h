/*
 * load_parse.h: pure-C pieces of the MovieLens loader.
 *
 * No PostgreSQL headers: a buffered line reader over a caller-supplied
 * read function, field splitters for the three MovieLens syntaxes
 * (tab/pipe/"::" separated and RFC 4180 CSV), strict number parsers,
 * title/year splitting and Latin-1 to UTF-8 conversion.  The glue in
 * load_movielens.c owns the file descriptor and the buffer, so an error
 * raised between calls leaks nothing.
 */
#ifndef MR_LOAD_PARSE_H
#define MR_LOAD_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Line reader: the caller fills read/arg/buf/cap and zeroes the rest. */
typedef struct MrLineReader
{
	ssize_t		(*read) (void *arg, char *buf, size_t n);
	void	   *arg;
	char	   *buf;			/* cap + 1 bytes (room for a final NUL) */
	size_t		cap;
	size_t		pos;			/* start of the next line */
	size_t		end;			/* end of valid data */
	int			eof;
	int64_t		lineno;			/* number of the line last returned */
	int64_t		bytes;			/* bytes consumed so far */
} MrLineReader;

#define MR_LINE_OK		1
#define MR_LINE_EOF		0
#define MR_LINE_TOO_LONG	(-1)
#define MR_LINE_READ_ERROR	(-2)

extern int	MrReadLine(MrLineReader *r, char **line, size_t *len);

/* Split in place; return the number of fields (maxf + 1 if more). */
extern int	MrSplitSep(char *line, const char *sep, char **fields, int maxf);
extern int	MrSplitCsv(char *line, char **fields, int maxf, const char **err);

/* Number parsers: 0 on success, else a static description of the problem. */
extern const char *MrParseId(const char *s, int64_t *out);
extern const char *MrParseSeconds(const char *s, int64_t *out);

#define MR_RATING_OK		0
#define MR_RATING_SYNTAX	1
#define MR_RATING_NAN		2
#define MR_RATING_RANGE		3
extern int	MrParseRating(const char *s, double *out);

/* Split "Title (1995)" into "Title" and 1995; see load_parse.c. */
extern void MrTitleYear(char *title, int *year);

/* UTF-8 validity and Latin-1 conversion (out needs 2 * len + 1 bytes). */
extern int	MrUtf8Valid(const char *s, size_t len);
extern size_t MrLatin1ToUtf8(const char *s, size_t len, char *out);

#endif							/* MR_LOAD_PARSE_H */
