/*
 * load_movielens.c: movierec.load_movielens(path), the MovieLens loader.
 *
 * Design.  The folder's files decide the layout:
 *
 *   u.data + u.item            ml-100k   tab-separated ratings; u.item is
 *                                        pipe-separated Latin-1 with one 0/1
 *                                        flag per genre of u.genre
 *   ratings.dat + movies.dat   ml-1m     "::"-separated (ml-1m when users.dat
 *                              ml-10m    is present, else ml-10m); ml-1m is
 *                                        Latin-1
 *   ratings.csv + movies.csv   ml-20m, ml-25m, ml-latest(-small): RFC 4180
 *                                        CSV with a header line, UTF-8
 *
 * Text in the Latin-1 layouts is taken as UTF-8 when it is valid UTF-8
 * and converted from Latin-1 otherwise (a Latin-1 accented letter next to
 * ASCII is never valid UTF-8), so both ml-1m and the UTF-8 ml-10m files
 * load right.  CSV text must be valid UTF-8.  Text is then converted to
 * the database encoding.
 *
 * The load streams: TRUNCATE (transactional), movies then ratings parsed
 * line by line by load_parse.c and appended in batches by bulk_insert.c,
 * then the indexes are rebuilt.  Every value is checked as the tables'
 * CHECK constraints would; the first bad line raises an error naming the
 * file and line, and the transaction's rollback leaves the previous
 * contents in place.  Progress shows in pg_stat_progress_copy while the
 * ratings load, then in pg_stat_progress_create_index.
 */
#include "movierec.h"

#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "commands/progress.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/fd.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "bulk_insert.h"
#include "load_parse.h"

#define READ_BUFFER_SIZE (1024 * 1024)
#define MAX_FIELDS 64

typedef enum MlLayout
{
	ML_100K,
	ML_1M,
	ML_10M,
	ML_CSV
} MlLayout;

/* One input file being read. */
typedef struct LoadFile
{
	char	   *path;
	int			fd;
	off_t		size;
	MrLineReader r;
} LoadFile;

/* A set of user ids (open addressing, linear probing; 0 marks empty). */
typedef struct IdSet
{
	int64	   *slots;
	uint64		mask;
	int64		count;
} IdSet;

/* read() for the line reader; retries on EINTR. */
static ssize_t
fd_read(void *arg, char *buf, size_t n)
{
	ssize_t		got;

	do
	{
		got = read(*(int *) arg, buf, n);
	} while (got < 0 && errno == EINTR);
	return got;
}

/* Does dir/name exist as a regular file? */
static bool
file_exists(const char *dir, const char *name)
{
	struct stat st;
	char	   *p = psprintf("%s/%s", dir, name);
	bool		ok = (stat(p, &st) == 0 && S_ISREG(st.st_mode));

	pfree(p);
	return ok;
}

/* Open dir/name for line reading (closed automatically on error). */
static void
file_open(LoadFile *f, const char *dir, const char *name)
{
	struct stat st;

	memset(f, 0, sizeof(*f));
	f->path = psprintf("%s/%s", dir, name);
	f->fd = OpenTransientFile(f->path, O_RDONLY | PG_BINARY);
	if (f->fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", f->path),
				 errhint("The file must be readable by the operating-system user running the server.")));
	f->size = (fstat(f->fd, &st) == 0) ? st.st_size : 0;
	f->r.read = fd_read;
	f->r.arg = &f->fd;
	f->r.cap = READ_BUFFER_SIZE;
	f->r.buf = palloc(READ_BUFFER_SIZE + 1);
}

/* Close a file opened by file_open. */
static void
file_close(LoadFile *f)
{
	CloseTransientFile(f->fd);
	pfree(f->r.buf);
}

/* Raise an error about the current line of f. */
static void
pg_attribute_noreturn()
bad_line(LoadFile *f, int sqlstate, const char *what, const char *hint)
{
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("%s at line %lld of \"%s\"", what, (long long) f->r.lineno, f->path),
			 errhint("%s", hint)));
}

/* Next non-empty line of f into *line; false at the end of the file. */
static bool
next_line(LoadFile *f, char **line)
{
	for (;;)
	{
		size_t		len;
		int			rc = MrReadLine(&f->r, line, &len);

		if (rc == MR_LINE_EOF)
			return false;
		if (rc == MR_LINE_READ_ERROR)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read file \"%s\": %m", f->path)));
		if (rc == MR_LINE_TOO_LONG)
		{
			f->r.lineno++;
			bad_line(f, ERRCODE_BAD_COPY_FILE_FORMAT, "line longer than 1 MB",
					 "The file is not a MovieLens file or is damaged.");
		}
		if (len > 0)
			return true;
	}
}

/* Split the current line into exactly nfields fields (or error). */
static void
split_line(LoadFile *f, MlLayout layout, const char *sep, char *line,
		   char **fields, int nfields)
{
	const char *err = NULL;
	int			n;

	if (layout == ML_CSV)
		n = MrSplitCsv(line, fields, nfields, &err);
	else
		n = MrSplitSep(line, sep, fields, nfields);
	if (n < 0)
		bad_line(f, ERRCODE_BAD_COPY_FILE_FORMAT, err,
				 "Quote fields that contain commas and double any quote inside them (RFC 4180).");
	if (n != nfields)
		bad_line(f, ERRCODE_BAD_COPY_FILE_FORMAT,
				 psprintf("expected %d fields, found %s%d", nfields,
						  n > nfields ? "more than " : "", n > nfields ? nfields : n),
				 "Each line must have the fields of its MovieLens layout; see the dataset's README.");
}

/* Parse a positive id field or raise an error naming what it is. */
static int64
id_field(LoadFile *f, const char *s, const char *what)
{
	int64_t		v;
	const char *err = MrParseId(s, &v);

	if (err)
		bad_line(f, ERRCODE_BAD_COPY_FILE_FORMAT,
				 psprintf("invalid %s \"%s\"", what, s),
				 "Ids must be positive whole numbers.");
	return (int64) v;
}

/* Text of a title or genre: UTF-8 (or Latin-1 when allowed) to server encoding. */
static Datum
text_field(LoadFile *f, char *s, bool latin1_ok)
{
	size_t		len = strlen(s);
	char	   *conv;

	if (!MrUtf8Valid(s, len))
	{
		char	   *u;

		if (!latin1_ok)
			bad_line(f, ERRCODE_CHARACTER_NOT_IN_REPERTOIRE,
					 "invalid UTF-8 text",
					 "MovieLens CSV files are UTF-8: convert the file to UTF-8 (for example with iconv).");
		u = palloc(2 * len + 1);
		len = MrLatin1ToUtf8(s, len, u);
		s = u;
	}
	conv = pg_any_to_server(s, (int) len, PG_UTF8);
	return PointerGetDatum(cstring_to_text(conv));
}

/* Build the genres text[] from names; "(no genres listed)" gives '{}'. */
static Datum
genres_array(LoadFile *f, char **names, int n, bool latin1_ok)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	int			k = 0;

	for (int i = 0; i < n; i++)
	{
		if (names[i][0] == '\0' || strcmp(names[i], "(no genres listed)") == 0)
			continue;
		d[k++] = text_field(f, names[i], latin1_ok);
	}
	if (k == 0)
		return PointerGetDatum(construct_empty_array(TEXTOID));
	return PointerGetDatum(construct_array(d, k, TEXTOID, -1, false, TYPALIGN_INT));
}

/* Insert one movie row into the bulk batch. */
static void
put_movie(MrBulk *b, LoadFile *f, int64 id, char *title, char **genres,
		  int ngenres, bool latin1_ok)
{
	TupleTableSlot *slot = MrBulkSlot(b);
	MemoryContext old = MemoryContextSwitchTo(b->batch_cxt);
	int			year;

	MrTitleYear(title, &year);
	slot->tts_values[0] = Int64GetDatum(id);
	slot->tts_isnull[0] = false;
	slot->tts_values[1] = text_field(f, title, latin1_ok);
	slot->tts_isnull[1] = false;
	slot->tts_values[2] = Int32GetDatum(year);
	slot->tts_isnull[2] = (year == 0);
	slot->tts_values[3] = genres_array(f, genres, ngenres, latin1_ok);
	slot->tts_isnull[3] = false;
	MemoryContextSwitchTo(old);
	MrBulkStore(b);
}

/* The 19 genres of ml-100k's u.genre, used when that file is missing. */
static const char *const genres_100k[] = {
	"unknown", "Action", "Adventure", "Animation", "Children's", "Comedy",
	"Crime", "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror",
	"Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western"
};

/* Read ml-100k's u.genre ("name|index" lines) into names; returns count. */
static int
read_genre_list(const char *dir, char **names)
{
	LoadFile	f;
	char	   *line;
	int			n = 0;

	if (!file_exists(dir, "u.genre"))
	{
		for (n = 0; n < lengthof(genres_100k); n++)
			names[n] = pstrdup(genres_100k[n]);
		return n;
	}
	file_open(&f, dir, "u.genre");
	while (next_line(&f, &line))
	{
		char	   *fields[2];

		split_line(&f, ML_100K, "|", line, fields, 2);
		if (n >= MAX_FIELDS - 5 || strcmp(fields[1], psprintf("%d", n)) != 0)
			bad_line(&f, ERRCODE_BAD_COPY_FILE_FORMAT, "genre index out of order",
					 "u.genre lists genres as \"name|index\" with indexes 0, 1, 2, ...");
		names[n++] = pstrdup(fields[0]);
	}
	file_close(&f);
	return n;
}

/* Load ml-100k's u.item. */
static void
load_movies_100k(const char *dir, MrBulk *b)
{
	char	   *gnames[MAX_FIELDS];
	int			ng = read_genre_list(dir, gnames);
	LoadFile	f;
	char	   *line;

	file_open(&f, dir, "u.item");
	while (next_line(&f, &line))
	{
		char	   *fields[MAX_FIELDS];
		char	   *genres[MAX_FIELDS];
		int			k = 0;
		int64		id;

		split_line(&f, ML_100K, "|", line, fields, 5 + ng);
		id = id_field(&f, fields[0], "movie id");
		for (int g = 0; g < ng; g++)
		{
			const char *flag = fields[5 + g];

			if ((flag[0] != '0' && flag[0] != '1') || flag[1] != '\0')
				bad_line(&f, ERRCODE_BAD_COPY_FILE_FORMAT,
						 psprintf("invalid genre flag \"%s\"", flag),
						 "u.item ends with one 0 or 1 per genre of u.genre.");
			if (flag[0] == '1' && strcmp(gnames[g], "unknown") != 0)
				genres[k++] = gnames[g];
		}
		put_movie(b, &f, id, fields[1], genres, k, true);
	}
	file_close(&f);
}

/* Load movies.dat ("id::title::A|B") or movies.csv. */
static void
load_movies_text(const char *dir, MlLayout layout, MrBulk *b)
{
	LoadFile	f;
	char	   *line;
	bool		csv = (layout == ML_CSV);

	file_open(&f, dir, csv ? "movies.csv" : "movies.dat");
	if (csv)
	{
		if (!next_line(&f, &line) ||
			strcmp(line + (strncmp(line, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0),
				   "movieId,title,genres") != 0)
			bad_line(&f, ERRCODE_BAD_COPY_FILE_FORMAT, "unexpected header",
					 "movies.csv must start with the line \"movieId,title,genres\".");
	}
	while (next_line(&f, &line))
	{
		char	   *fields[3];
		char	   *genres[MAX_FIELDS];
		int			ng;

		if (csv)
			split_line(&f, layout, ",", line, fields, 3);
		else
		{
			/* the title sits between the first and the last "::" */
			char	   *first = strstr(line, "::");
			char	   *last = NULL;

			for (char *p = first; p != NULL; p = strstr(p + 2, "::"))
				last = p;
			if (first == NULL || last == first)
				bad_line(&f, ERRCODE_BAD_COPY_FILE_FORMAT, "expected 3 fields, found fewer",
						 "movies.dat lines are \"MovieID::Title::Genres\".");
			*first = '\0';
			*last = '\0';
			fields[0] = line;
			fields[1] = first + 2;
			fields[2] = last + 2;
		}
		ng = MrSplitSep(fields[2], "|", genres, MAX_FIELDS);
		if (ng > MAX_FIELDS)
			bad_line(&f, ERRCODE_BAD_COPY_FILE_FORMAT, "too many genres",
					 "Genres are separated by \"|\"; a movie has at most 64.");
		put_movie(b, &f, id_field(&f, fields[0], "movie id"), fields[1], genres, ng, !csv);
	}
	file_close(&f);
}

/* Add id to the set (grows at half load). */
static void
idset_add(IdSet *s, int64 id)
{
	uint64		h;

	if ((uint64) (s->count + 1) * 2 > s->mask + 1)
	{
		IdSet		bigger;

		bigger.mask = (s->mask + 1) * 2 - 1;
		bigger.count = 0;
		bigger.slots = palloc_extended((bigger.mask + 1) * sizeof(int64),
									   MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
		for (uint64 i = 0; i <= s->mask; i++)
			if (s->slots[i] != 0)
				idset_add(&bigger, s->slots[i]);
		pfree(s->slots);
		*s = bigger;
	}
	h = ((uint64) id * UINT64CONST(0x9E3779B97F4A7C15)) >> 17;
	for (;; h++)
	{
		int64	   *slot = &s->slots[h & s->mask];

		if (*slot == id)
			return;
		if (*slot == 0)
		{
			*slot = id;
			s->count++;
			return;
		}
	}
}

/* Stream the ratings file into movierec.ratings; returns distinct users. */
static int64
load_ratings(const char *dir, MlLayout layout, MrBulk *b)
{
	LoadFile	f;
	char	   *line;
	const char *sep = (layout == ML_100K) ? "\t" : (layout == ML_CSV) ? "," : "::";
	IdSet		users;
	int64		last_user = 0;
	const int	prog_index[] = {PROGRESS_COPY_BYTES_PROCESSED, PROGRESS_COPY_TUPLES_PROCESSED};

	users.mask = 1023;
	users.count = 0;
	users.slots = palloc0(1024 * sizeof(int64));

	file_open(&f, dir, layout == ML_100K ? "u.data" :
			  layout == ML_CSV ? "ratings.csv" : "ratings.dat");
	pgstat_progress_update_param(PROGRESS_COPY_BYTES_TOTAL, f.size);
	if (layout == ML_CSV)
	{
		if (!next_line(&f, &line) ||
			strcmp(line + (strncmp(line, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0),
				   "userId,movieId,rating,timestamp") != 0)
			bad_line(&f, ERRCODE_BAD_COPY_FILE_FORMAT, "unexpected header",
					 "ratings.csv must start with the line \"userId,movieId,rating,timestamp\".");
	}
	while (next_line(&f, &line))
	{
		char	   *fields[4];
		int64		user,
					movie;
		double		rating;
		int64_t		secs;
		TimestampTz ts;
		TupleTableSlot *slot;
		int			rc;

		split_line(&f, layout, sep, line, fields, 4);
		user = id_field(&f, fields[0], "user id");
		movie = id_field(&f, fields[1], "movie id");
		rc = MrParseRating(fields[2], &rating);
		if (rc == MR_RATING_SYNTAX)
			bad_line(&f, ERRCODE_BAD_COPY_FILE_FORMAT,
					 psprintf("invalid rating \"%s\"", fields[2]),
					 "Ratings are decimal numbers such as 4 or 3.5.");
		if (rc == MR_RATING_NAN)
			bad_line(&f, ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, "rating is NaN",
					 "Ratings must be numbers from 0.5 to 5: fix or remove the line.");
		if (rc == MR_RATING_RANGE)
			bad_line(&f, ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
					 psprintf("rating \"%s\" is out of range", fields[2]),
					 "Ratings must be numbers from 0.5 to 5: fix or remove the line.");
		if (MrParseSeconds(fields[3], &secs) != NULL || !MrUnixToTimestamp(secs, &ts))
			bad_line(&f, ERRCODE_BAD_COPY_FILE_FORMAT,
					 psprintf("invalid timestamp \"%s\"", fields[3]),
					 "Timestamps are whole seconds since 1970-01-01 UTC.");

		if (user != last_user)
		{
			idset_add(&users, user);
			last_user = user;
		}
		slot = MrBulkSlot(b);
		slot->tts_values[0] = Int64GetDatum(user);
		slot->tts_values[1] = Int64GetDatum(movie);
		slot->tts_values[2] = Float4GetDatum((float4) rating);
		slot->tts_values[3] = TimestampTzGetDatum(ts);
		memset(slot->tts_isnull, 0, 4 * sizeof(bool));
		MrBulkStore(b);
		if (b->nused == MR_BULK_BATCH)
		{
			int64		vals[2] = {f.r.bytes, b->ntuples + b->nused};

			pgstat_progress_update_multi_param(2, prog_index, vals);
		}
	}
	file_close(&f);
	pfree(users.slots);
	return users.count;
}

/* Refuse callers that may not read server files. */
static void
check_file_privilege(void)
{
	if (!superuser() && !has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to load MovieLens files"),
				 errdetail("Only superusers and members of pg_read_server_files may read files on the server."),
				 errhint("Ask an administrator to GRANT pg_read_server_files TO your role.")));
}

/* Check the folder and detect its layout (see the file comment). */
static MlLayout
detect_layout(const char *dir)
{
	struct stat st;

	if (!is_absolute_path(dir))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("MovieLens path \"%s\" is not absolute", dir),
				 errhint("Give the absolute path of the unpacked MovieLens folder on the database server.")));
	if (stat(dir, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open MovieLens folder \"%s\": %m", dir),
				 errhint("Give the path of an unpacked MovieLens folder readable by the server's operating-system user.")));
	if (!S_ISDIR(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("MovieLens path \"%s\" is not a folder", dir),
				 errhint("Give the folder that holds the dataset's files, not a file in it.")));

	if (file_exists(dir, "u.data") && file_exists(dir, "u.item"))
		return ML_100K;
	if (file_exists(dir, "ratings.csv") && file_exists(dir, "movies.csv"))
		return ML_CSV;
	if (file_exists(dir, "ratings.dat") && file_exists(dir, "movies.dat"))
		return file_exists(dir, "users.dat") ? ML_1M : ML_10M;
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_FILE),
			 errmsg("no MovieLens dataset found in \"%s\"", dir),
			 errhint("The folder must hold u.data and u.item (ml-100k), ratings.dat and movies.dat "
					 "(ml-1m, ml-10m) or ratings.csv and movies.csv (ml-20m, ml-25m, ml-latest, ml-latest-small).")));
	return ML_CSV;				/* keep the compiler quiet */
}

/* Last path component without trailing slashes. */
static char *
folder_name(const char *dir)
{
	char	   *d = pstrdup(dir);
	size_t		len = strlen(d);
	char	   *slash;

	while (len > 1 && d[len - 1] == '/')
		d[--len] = '\0';
	slash = strrchr(d, '/');
	return (slash && slash[1]) ? slash + 1 : d;
}

PG_FUNCTION_INFO_V1(movierec_load_movielens);

/*
 * movierec.load_movielens(path text)
 *   RETURNS TABLE(dataset text, movies bigint, ratings bigint, users bigint)
 */
Datum
movierec_load_movielens(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *dir;
	MlLayout	layout;
	MrBulk	   *b;
	int64		n_movies,
				n_ratings,
				n_users;
	char	   *source;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	check_file_privilege();
	dir = text_to_cstring(PG_GETARG_TEXT_PP(0));
	layout = detect_layout(dir);
	InitMaterializedSRF(fcinfo, 0);

	MrDataPhase(NULL);
	MrDataReplaceBegin();

	b = MrBulkOpen("movies");
	if (layout == ML_100K)
		load_movies_100k(dir, b);
	else
		load_movies_text(dir, layout, b);
	n_movies = MrBulkClose(b);
	MrDataPhase("movies read and written");

	b = MrBulkOpen("ratings");
	pgstat_progress_start_command(PROGRESS_COMMAND_COPY, RelationGetRelid(b->rel));
	pgstat_progress_update_param(PROGRESS_COPY_COMMAND, PROGRESS_COPY_COMMAND_FROM);
	pgstat_progress_update_param(PROGRESS_COPY_TYPE, PROGRESS_COPY_TYPE_FILE);
	n_users = load_ratings(dir, layout, b);
	n_ratings = MrBulkClose(b);
	pgstat_progress_end_command();
	MrDataPhase("ratings read and written");
	if (n_movies == 0 || n_ratings == 0)
		ereport(ERROR,
				(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
				 errmsg("no %s found in \"%s\"", n_movies == 0 ? "movies" : "ratings", dir),
				 errhint("The MovieLens files are empty or truncated: download and unpack the dataset again.")));

	source = psprintf("\"%s/%s\"", dir, layout == ML_100K ? "u.item" :
					  layout == ML_CSV ? "movies.csv" : "movies.dat");
	MrDataRebuildIndexes("movies", source);
	source = psprintf("\"%s/%s\"", dir, layout == ML_100K ? "u.data" :
					  layout == ML_CSV ? "ratings.csv" : "ratings.dat");
	MrDataRebuildIndexes("ratings", source);

	values[0] = CStringGetTextDatum(folder_name(dir));
	values[1] = Int64GetDatum(n_movies);
	values[2] = Int64GetDatum(n_ratings);
	values[3] = Int64GetDatum(n_users);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
