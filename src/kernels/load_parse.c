/*
 * load_parse.c: pure-C parsing for the MovieLens loader.
 *
 * Design.  The loader streams files of up to a few hundred megabytes
 * (ml-25m's ratings.csv is 650 MB), so parsing works in place on a
 * fixed buffer: MrReadLine hands out one NUL-terminated line at a time
 * (CR LF or LF, the final line may lack its newline), the splitters cut
 * the line into fields by writing NULs, and the number parsers are
 * strict hand-written loops (no locale, no strtod) that reject anything
 * but plain decimal digits.  Every function reports problems by return
 * value with a static English description; the glue turns that into an
 * error naming the file and line.
 *
 * CSV follows RFC 4180 with one restriction: a quoted field may not span
 * lines (no MovieLens title does), so an unterminated quote is an error.
 *
 * Titles: MovieLens writes the release year at the end of the title,
 * "Toy Story (1995)".  MrTitleYear removes a trailing "(YYYY)" (also the
 * series forms "(YYYY-)" and "(YYYY-YYYY)") and returns the year; a year
 * elsewhere, as in "Land Before Time III (1995) (V)", is returned but
 * the title is kept whole.  Years outside 1800..2200 count as no year.
 */
#include "load_parse.h"

#include <string.h>

/* Refill the buffer after moving the unread tail to its start. */
static int
refill(MrLineReader *r)
{
	size_t		keep = r->end - r->pos;
	ssize_t		got;

	if (r->pos > 0)
	{
		memmove(r->buf, r->buf + r->pos, keep);
		r->pos = 0;
		r->end = keep;
	}
	if (r->end >= r->cap)
		return MR_LINE_TOO_LONG;
	got = r->read(r->arg, r->buf + r->end, r->cap - r->end);
	if (got < 0)
		return MR_LINE_READ_ERROR;
	if (got == 0)
		r->eof = 1;
	r->end += (size_t) got;
	return MR_LINE_OK;
}

/*
 * Return the next line without its line end, NUL-terminated in place.
 * MR_LINE_EOF at the end, a negative code on error.
 */
int
MrReadLine(MrLineReader *r, char **line, size_t *len)
{
	size_t		scanned = 0;

	for (;;)
	{
		char	   *start = r->buf + r->pos;
		char	   *nl = memchr(start + scanned, '\n', r->end - r->pos - scanned);
		size_t		n;

		if (nl == NULL && !r->eof)
		{
			int			rc;

			scanned = r->end - r->pos;
			rc = refill(r);
			if (rc != MR_LINE_OK)
				return rc;
			continue;
		}
		if (nl == NULL && r->pos == r->end)
			return MR_LINE_EOF;
		n = nl ? (size_t) (nl - start) : r->end - r->pos;
		r->pos += n + (nl ? 1 : 0);
		r->bytes += n + (nl ? 1 : 0);
		if (n > 0 && start[n - 1] == '\r')
			n--;
		start[n] = '\0';
		r->lineno++;
		*line = start;
		*len = n;
		return MR_LINE_OK;
	}
}

/* Split at every occurrence of sep (one or more characters). */
int
MrSplitSep(char *line, const char *sep, char **fields, int maxf)
{
	size_t		seplen = strlen(sep);
	int			n = 0;
	char	   *p = line;

	for (;;)
	{
		char	   *hit = (seplen == 1) ? strchr(p, sep[0]) : strstr(p, sep);

		if (n == maxf)
			return maxf + 1;
		fields[n++] = p;
		if (hit == NULL)
			return n;
		*hit = '\0';
		p = hit + seplen;
	}
}

/*
 * Split one CSV record in place, removing quotes and undoubling "".
 * On a syntax error returns -1 with *err set.
 */
int
MrSplitCsv(char *line, char **fields, int maxf, const char **err)
{
	char	   *p = line;
	int			n = 0;

	for (;;)
	{
		if (n == maxf)
			return maxf + 1;
		if (*p == '"')
		{
			char	   *w = p;

			fields[n++] = w;
			p++;
			for (;;)
			{
				if (*p == '\0')
				{
					*err = "unterminated quoted field";
					return -1;
				}
				if (*p == '"')
				{
					if (p[1] == '"')
					{
						*w++ = '"';
						p += 2;
						continue;
					}
					p++;
					break;
				}
				*w++ = *p++;
			}
			if (*p != ',' && *p != '\0')
			{
				*err = "unexpected character after a closing quote";
				return -1;
			}
			*w = '\0';
			if (*p == '\0')
				return n;
			p++;
		}
		else
		{
			char	   *comma = strchr(p, ',');

			fields[n++] = p;
			if (comma == NULL)
				return n;
			*comma = '\0';
			p = comma + 1;
		}
	}
}

/* A positive decimal id (1 .. 2^62), digits only. */
const char *
MrParseId(const char *s, int64_t *out)
{
	int64_t		v = 0;

	if (*s == '\0')
		return "empty id";
	for (; *s; s++)
	{
		if (*s < '0' || *s > '9')
			return "id is not a positive integer";
		if (v > ((int64_t) 1 << 62) / 10)
			return "id is too large";
		v = v * 10 + (*s - '0');
		if (v > ((int64_t) 1 << 62))
			return "id is too large";
	}
	if (v <= 0)
		return "id is not a positive integer";
	*out = v;
	return 0;
}

/* Unix seconds: optional minus sign and up to 12 digits. */
const char *
MrParseSeconds(const char *s, int64_t *out)
{
	int64_t		v = 0;
	int			neg = 0,
				digits = 0;

	if (*s == '-')
	{
		neg = 1;
		s++;
	}
	for (; *s; s++, digits++)
	{
		if (*s < '0' || *s > '9')
			return "timestamp is not an integer number of seconds";
		if (digits == 12)
			return "timestamp is out of range";
		v = v * 10 + (*s - '0');
	}
	if (digits == 0)
		return "timestamp is not an integer number of seconds";
	*out = neg ? -v : v;
	return 0;
}

/*
 * A rating: digits with an optional fraction ("4", "3.5", "4.0"), then
 * checked against 0.5 .. 5.  "NaN" in any case is reported as such.
 */
int
MrParseRating(const char *s, double *out)
{
	double		v = 0,
				scale = 1;
	int			digits = 0;

	if ((s[0] == 'n' || s[0] == 'N') && (s[1] == 'a' || s[1] == 'A') &&
		(s[2] == 'n' || s[2] == 'N') && s[3] == '\0')
		return MR_RATING_NAN;
	for (; *s >= '0' && *s <= '9'; s++, digits++)
	{
		v = v * 10 + (*s - '0');
		if (digits > 6)
			return MR_RATING_RANGE;
	}
	if (*s == '.')
	{
		for (s++; *s >= '0' && *s <= '9'; s++, digits++)
		{
			scale /= 10;
			v += (*s - '0') * scale;
		}
	}
	if (*s != '\0' || digits == 0)
		return MR_RATING_SYNTAX;
	*out = v;
	if (v < 0.5 || v > 5)
		return MR_RATING_RANGE;
	return MR_RATING_OK;
}

/* Is s[0..3] four digits forming a year in 1800..2200?  Return it or 0. */
static int
year_at(const char *s)
{
	int			y = 0;

	for (int i = 0; i < 4; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return 0;
		y = y * 10 + (s[i] - '0');
	}
	return (y >= 1800 && y <= 2200) ? y : 0;
}

/*
 * Trim the title in place, remove a trailing year group and return the
 * year in *year (0 when there is none).  See the file comment.
 */
void
MrTitleYear(char *title, int *year)
{
	size_t		len;
	char	   *start = title;

	*year = 0;
	while (*start == ' ' || *start == '\t')
		start++;
	if (start != title)
		memmove(title, start, strlen(start) + 1);
	len = strlen(title);
	while (len > 0 && (title[len - 1] == ' ' || title[len - 1] == '\t'))
		title[--len] = '\0';

	/* trailing "(YYYY)", "(YYYY-)" or "(YYYY-YYYY)" */
	if (len >= 6 && title[len - 1] == ')')
	{
		char	   *open = strrchr(title, '(');

		if (open != NULL)
		{
			size_t		inner = (size_t) (title + len - 1 - open - 1);
			int			y = (inner >= 4) ? year_at(open + 1) : 0;
			int			shape_ok = (inner == 4) ||
				(inner == 5 && open[5] == '-') ||
				(inner == 9 && open[5] == '-' && year_at(open + 6) != 0);

			if (y != 0 && shape_ok)
			{
				size_t		cut = (size_t) (open - title);

				while (cut > 0 && title[cut - 1] == ' ')
					cut--;
				*year = y;
				if (cut > 0)
					title[cut] = '\0';
				return;
			}
		}
	}

	/* otherwise the last "(YYYY)" anywhere gives the year only */
	for (size_t i = len; i >= 6; i--)
	{
		char	   *g = title + i - 6;

		if (g[0] == '(' && g[5] == ')' && year_at(g + 1) != 0)
		{
			*year = year_at(g + 1);
			return;
		}
	}
}

/* Is s[0..len) well-formed UTF-8 (no overlongs, surrogates or NULs)? */
int
MrUtf8Valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *) s;
	const unsigned char *e = p + len;

	while (p < e)
	{
		unsigned char c = *p;
		int			n;
		uint32_t	cp;

		if (c == 0)
			return 0;
		if (c < 0x80)
		{
			p++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
		{
			n = 1;
			cp = c & 0x1F;
		}
		else if (c >= 0xE0 && c <= 0xEF)
		{
			n = 2;
			cp = c & 0x0F;
		}
		else if (c >= 0xF0 && c <= 0xF4)
		{
			n = 3;
			cp = c & 0x07;
		}
		else
			return 0;
		if (e - p <= n)
			return 0;
		for (int i = 1; i <= n; i++)
		{
			if ((p[i] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3F);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
			(cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		p += n + 1;
	}
	return 1;
}

/* Convert Latin-1 (ISO 8859-1) to UTF-8; returns the output length. */
size_t
MrLatin1ToUtf8(const char *s, size_t len, char *out)
{
	size_t		o = 0;

	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c < 0x80)
			out[o++] = (char) c;
		else
		{
			out[o++] = (char) (0xC0 | (c >> 6));
			out[o++] = (char) (0x80 | (c & 0x3F));
		}
	}
	out[o] = '\0';
	return o;
}
