/*
 * Unit test of the MovieLens parsing kernel (src/kernels/load_parse.c): line
 * reading across buffer refills with CR LF and a missing final newline,
 * RFC 4180 CSV splitting, strict number parsing, title/year splitting and
 * the UTF-8 / Latin-1 handling.  Prints TAP.
 */
// sources: src/kernels/load_parse.c
// cross: aarch64
#include "load_parse.h"

#include <stdio.h>
#include <string.h>

static int	n_test = 0;

/* Print one TAP line. */
static void
ok(int cond, const char *what)
{
	printf("%sok %d - %s\n", cond ? "" : "not ", ++n_test, what);
}

typedef struct Src
{
	const char *data;
	size_t		len;
	size_t		pos;
	size_t		chunk;
} Src;

/* read() over a string, at most chunk bytes per call. */
static ssize_t
src_read(void *arg, char *buf, size_t n)
{
	Src		   *s = arg;
	size_t		k = s->len - s->pos;

	if (k > n)
		k = n;
	if (k > s->chunk)
		k = s->chunk;
	memcpy(buf, s->data + s->pos, k);
	s->pos += k;
	return (ssize_t) k;
}

/* Title/year check helper. */
static int
title_is(const char *in, const char *want, int want_year)
{
	char		buf[200];
	int			year;

	strcpy(buf, in);
	MrTitleYear(buf, &year);
	return strcmp(buf, want) == 0 && year == want_year;
}

int
main(void)
{
	const char *text = "a,b\r\nsecond line\n\nlast";
	Src			src = {text, strlen(text), 0, 3};
	char		buf[17];
	MrLineReader r = {src_read, &src, buf, 16, 0, 0, 0, 0, 0};
	char	   *line;
	size_t		len;
	char	   *f[8];
	const char *err = NULL;
	char		rec[100];
	double		v;
	int64_t		id;
	char		u8[32];

	ok(MrReadLine(&r, &line, &len) == MR_LINE_OK && strcmp(line, "a,b") == 0 && len == 3, "CR LF removed");
	ok(MrReadLine(&r, &line, &len) == MR_LINE_OK && strcmp(line, "second line") == 0, "line across refills");
	ok(MrReadLine(&r, &line, &len) == MR_LINE_OK && len == 0, "empty line");
	ok(MrReadLine(&r, &line, &len) == MR_LINE_OK && strcmp(line, "last") == 0 && r.lineno == 4,
	   "final line without newline, line numbers counted");
	ok(MrReadLine(&r, &line, &len) == MR_LINE_EOF, "end of file");
	{
		Src			big = {"0123456789abcdefghij\n", 21, 0, 100};
		MrLineReader r2 = {src_read, &big, buf, 16, 0, 0, 0, 0, 0};

		ok(MrReadLine(&r2, &line, &len) == MR_LINE_TOO_LONG, "line longer than the buffer reported");
	}

	strcpy(rec, "2,\"American President, The (1995)\",Comedy|Drama");
	ok(MrSplitCsv(rec, f, 3, &err) == 3 && strcmp(f[1], "American President, The (1995)") == 0 &&
	   strcmp(f[2], "Comedy|Drama") == 0, "CSV quoted field with a comma");
	strcpy(rec, "3,\"Say \"\"Hi\"\"\",");
	ok(MrSplitCsv(rec, f, 3, &err) == 3 && strcmp(f[1], "Say \"Hi\"") == 0 && f[2][0] == '\0',
	   "CSV doubled quotes and an empty last field");
	strcpy(rec, "1,\"open");
	ok(MrSplitCsv(rec, f, 3, &err) == -1 && strcmp(err, "unterminated quoted field") == 0, "CSV unterminated quote");
	strcpy(rec, "1,2,3,4");
	ok(MrSplitCsv(rec, f, 3, &err) == 4, "CSV too many fields");
	strcpy(rec, "1::Toy Story (1995)::Animation");
	ok(MrSplitSep(rec, "::", f, 3) == 3 && strcmp(f[1], "Toy Story (1995)") == 0, "\"::\" separated");

	ok(MrParseId("42", &id) == 0 && id == 42, "id 42");
	ok(MrParseId("0", &id) != 0 && MrParseId("-1", &id) != 0 && MrParseId("4x", &id) != 0 &&
	   MrParseId("", &id) != 0 && MrParseId("99999999999999999999", &id) != 0, "bad ids refused");
	ok(MrParseRating("3.5", &v) == MR_RATING_OK && v == 3.5 && MrParseRating("4", &v) == MR_RATING_OK && v == 4,
	   "ratings 3.5 and 4");
	ok(MrParseRating("NaN", &v) == MR_RATING_NAN && MrParseRating("5.5", &v) == MR_RATING_RANGE &&
	   MrParseRating("0.4", &v) == MR_RATING_RANGE && MrParseRating("x", &v) == MR_RATING_SYNTAX &&
	   MrParseRating("", &v) == MR_RATING_SYNTAX && MrParseRating("1e1", &v) == MR_RATING_SYNTAX,
	   "NaN, out of range and junk ratings classified");
	ok(MrParseSeconds("964982703", &id) == 0 && id == 964982703 && MrParseSeconds("12x", &id) != 0 &&
	   MrParseSeconds("", &id) != 0, "Unix seconds");

	ok(title_is("Toy Story (1995)", "Toy Story", 1995), "trailing year removed");
	ok(title_is("  Hyena Road (2015) ", "Hyena Road", 2015), "spaces trimmed");
	ok(title_is("Babylon 5", "Babylon 5", 0), "no year");
	ok(title_is("Fawlty Towers (1975-1979)", "Fawlty Towers", 1975), "series years");
	ok(title_is("Stranger Things (2016-)", "Stranger Things", 2016), "open series years");
	ok(title_is("Land Before Time III (1995) (V)", "Land Before Time III (1995) (V)", 1995),
	   "year not at the end: title kept whole");
	ok(title_is("1492: Conquest of Paradise (1992)", "1492: Conquest of Paradise", 1992), "digits in the title");
	ok(title_is("(1995)", "(1995)", 1995), "title that is only a year is kept");
	ok(title_is("Odd (0123)", "Odd (0123)", 0), "implausible year ignored");

	ok(MrUtf8Valid("Mis\xc3\xa9rables", 11) && !MrUtf8Valid("Mis\xe9rables", 10) &&
	   !MrUtf8Valid("\xc0\xaf", 2) && !MrUtf8Valid("\xed\xa0\x80", 3), "UTF-8 validation");
	ok(MrLatin1ToUtf8("Mis\xe9rables", 10, u8) == 11 && strcmp(u8, "Mis\xc3\xa9rables") == 0,
	   "Latin-1 to UTF-8");
	return 0;
}
