#!/usr/bin/env bash
# load_movielens on small files this script writes itself: every MovieLens
# layout (ml-100k, ml-1m, ml-10m, ml-20m/25m/latest CSV) including Latin-1
# titles, then every malformed-input case.  Each bad load must fail with
# the right SQLSTATE, name the file and line, give a hint, and leave the
# previous contents of movies and ratings exactly as they were.  Also:
# statement_timeout stops a long load, privileges are enforced, a good
# load is NOTICE-free.
set -u
. "$ROOT/test/lib.sh"
export PGCLIENTENCODING=UTF8

n=0
tap() {   # tap STATUS DESCRIPTION
  n=$((n + 1))
  if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}
q() { "$BINDIR/psql" -qXAt -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -c "$1" 2>&1; }
load() { q "SELECT dataset, movies, ratings, users FROM movierec.load_movielens('$1')"; }
contents() {
  q "SELECT md5(string_agg(format('%s|%s|%s|%s', movie_id, title, year, genres), ',' ORDER BY movie_id)) FROM movierec.movies;
     SELECT md5(string_agg(format('%s|%s|%s|%s', user_id, movie_id, rating, rated_at), ',' ORDER BY user_id, movie_id)) FROM movierec.ratings"
}

# --- good data in every layout -------------------------------------------------
D=$T/ml-25m; mkdir -p "$D"
printf 'movieId,title,genres\r\n1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\r\n2,"American President, The (1995)",Comedy|Drama|Romance\r\n3,"The ""Quoted"" Movie (2001)",Drama\r\n4,Babylon 5,Sci-Fi\r\n5,Hyena Road (2015),(no genres listed)\r\n6,"Mis\xc3\xa9rables, Les (1995)",Drama|War\r\n7,Fawlty Towers (1975-1979),Comedy\r\n' >"$D/movies.csv"
printf 'userId,movieId,rating,timestamp\r\n1,1,4.0,964982703\r\n1,2,3.5,964981247\r\n2,1,5.0,964982224\r\n2,3,0.5,1147880044\r\n3,6,4.5,1147868817\r\n' >"$D/ratings.csv"

D=$T/ml-100k; mkdir -p "$D"
i=0
for g in unknown Action Adventure Animation "Children's" Comedy Crime Documentary Drama Fantasy Film-Noir Horror Musical Mystery Romance Sci-Fi Thriller War Western; do
  echo "$g|$i"; i=$((i + 1))
done >"$D/u.genre"; echo >>"$D/u.genre"
printf '1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n543|Mis\xe9rables, Les (1995)|01-Jan-1995||http://x|0|0|0|0|0|0|0|0|1|0|0|0|1|0|0|0|0|0|0\n267|unknown||||1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n' >"$D/u.item"
printf '196\t1\t3\t881250949\n186\t543\t5\t891717742\n22\t1\t1\t878887116\n' >"$D/u.data"

D=$T/ml-1m; mkdir -p "$D"
printf '1::F::1::10::48067\n' >"$D/users.dat"
printf '1::Toy Story (1995)::Animation|Children'"'"'s|Comedy\n2::Mis\xe9rables, Les (1995)::Drama|Musical\n' >"$D/movies.dat"
printf '1::1::5::978300760\n1::2::3::978302109\n2::2::4::978301968\n' >"$D/ratings.dat"

D=$T/ml-10m; mkdir -p "$D"
printf '1::Toy Story (1995)::Adventure|Animation|Children|Comedy|Fantasy\n2::Mis\xc3\xa9rables, Les (1995)::Drama|War\n3::Pull My Daisy (1958)::(no genres listed)\n' >"$D/movies.dat"
printf '1::1::5::838985046\n1::3::3.5::838983525\n2::2::0.5::838983392\n3::1::4.5::838983421\n' >"$D/ratings.dat"
printf '15::4973::excellent!::1215184630\n' >"$D/tags.dat"
share_with_pg "$T"

out=$(load "$T/ml-100k"); tap $([ "$out" = "ml-100k|3|3|3" ] && echo 0 || echo 1) "ml-100k layout: $out"
t=$(q "SELECT title || '/' || year || '/' || genres::text FROM movierec.movies WHERE movie_id = 543")
tap $([ "$t" = "Misérables, Les/1995/{Drama,Musical}" ] && echo 0 || echo 1) "ml-100k Latin-1 title and genre flags: $t"
t=$(q "SELECT coalesce(year::text, 'null') || '/' || genres::text FROM movierec.movies WHERE movie_id = 267")
tap $([ "$t" = "null/{}" ] && echo 0 || echo 1) "ml-100k 'unknown' movie has no year and no genres: $t"

out=$(load "$T/ml-1m"); tap $([ "$out" = "ml-1m|2|3|2" ] && echo 0 || echo 1) "ml-1m layout: $out"
t=$(q "SELECT title = U&'Mis\00E9rables, Les' AND year = 1995 FROM movierec.movies WHERE movie_id = 2")
tap $([ "$t" = t ] && echo 0 || echo 1) "ml-1m Latin-1 title converted to UTF-8"

out=$(load "$T/ml-10m"); tap $([ "$out" = "ml-10m|3|4|3" ] && echo 0 || echo 1) "ml-10m layout: $out"
t=$(q "SELECT string_agg(title || ':' || genres::text, ';' ORDER BY movie_id) FROM movierec.movies WHERE movie_id > 1")
tap $([ "$t" = "Misérables, Les:{Drama,War};Pull My Daisy:{}" ] && echo 0 || echo 1) "ml-10m UTF-8 title kept, no genres listed -> {}: $t"
t=$(q "SELECT string_agg(rating::text, ',' ORDER BY user_id, movie_id) FROM movierec.ratings")
tap $([ "$t" = "5,3.5,0.5,4.5" ] && echo 0 || echo 1) "ml-10m half-star ratings: $t"

err=$("$BINDIR/psql" -qXAt -c "SELECT * FROM movierec.load_movielens('$T/ml-25m')" 2>&1 >/dev/null)
tap $([ -z "$err" ] && echo 0 || echo 1) "a good load prints no NOTICE or WARNING${err:+: $err}"
out=$(load "$T/ml-25m"); tap $([ "$out" = "ml-25m|7|5|3" ] && echo 0 || echo 1) "ml-25m CSV layout (CRLF, header): $out"
t=$(q "SELECT string_agg(movie_id || ':' || title || ':' || coalesce(year::text, '-') || ':' || genres::text, ';' ORDER BY movie_id) FROM movierec.movies")
want='1:Toy Story:1995:{Adventure,Animation,Children,Comedy,Fantasy};2:American President, The:1995:{Comedy,Drama,Romance};3:The "Quoted" Movie:2001:{Drama};4:Babylon 5:-:{Sci-Fi};5:Hyena Road:2015:{};6:Misérables, Les:1995:{Drama,War};7:Fawlty Towers:1975:{Comedy}'
tap $([ "$t" = "$want" ] && echo 0 || echo 1) "CSV quoting, years, series years, no genres"
t=$(q "SELECT rated_at AT TIME ZONE 'UTC' FROM movierec.ratings WHERE user_id = 1 AND movie_id = 1")
tap $([ "$t" = "2000-07-30 18:45:03" ] && echo 0 || echo 1) "timestamp converted from Unix seconds: $t"
base=$(contents)

# --- malformed input: each case fails cleanly and changes nothing ---------------
# bad NAME FROM_DIR FILE CONTENT SQLSTATE PATTERN: copy FROM_DIR to
# $T/bad/NAME/<basename>, overwrite FILE with CONTENT, load, check.
bad() {
  local name=$1 from=$2 file=$3 content=$4 state=$5 pattern=$6
  local d=$T/bad/$name/$(basename "$from")
  mkdir -p "$d"; cp "$from"/* "$d/"
  printf "$content" >"$d/$file"
  share_with_pg "$T/bad/$name"
  local out; out=$(load "$d")
  local pat=${pattern//@/$d/$file}
  if grep -q "ERROR:  $state: " <<<"$out" && grep -qF -- "$pat" <<<"$out" && grep -q '^HINT:  ' <<<"$out" &&
     [ "$(contents)" = "$base" ]; then
    tap 0 "$name: $state, names the file (and line), hint, old contents intact"
  else
    tap 1 "$name: expected $state and '$pat'"; echo "$out" | sed 's/^/# /'
  fi
}
C=$T/ml-25m
R='userId,movieId,rating,timestamp\r\n1,1,4.0,964982703\r\n'
bad csv_fields    $C ratings.csv "${R}1,2,3.5\r\n"                  22P04 'expected 4 fields, found 3 at line 3 of "@"'
bad csv_extra     $C ratings.csv "${R}1,2,3.5,9,9\r\n"              22P04 'expected 4 fields, found more than 4 at line 3 of "@"'
bad rating_range  $C ratings.csv "${R}1,2,3.5,9\r\n2,1,6,9\r\n"     22003 'rating "6" is out of range at line 4 of "@"'
bad rating_zero   $C ratings.csv "${R}1,2,0,9\r\n"                  22003 'rating "0" is out of range at line 3 of "@"'
bad rating_nan    $C ratings.csv "${R}1,2,NaN,9\r\n"                22003 'rating is NaN at line 3 of "@"'
bad rating_text   $C ratings.csv "${R}1,2,good,9\r\n"               22P04 'invalid rating "good" at line 3 of "@"'
bad user_zero     $C ratings.csv "${R}0,2,3,9\r\n"                  22P04 'invalid user id "0" at line 3 of "@"'
bad movie_neg     $C ratings.csv "${R}1,-2,3,9\r\n"                 22P04 'invalid movie id "-2" at line 3 of "@"'
bad timestamp     $C ratings.csv "${R}1,2,3,12x\r\n"                22P04 'invalid timestamp "12x" at line 3 of "@"'
bad header        $C ratings.csv 'user,movie,rating,time\r\n1,1,4.0,964982703\r\n' 22P04 'unexpected header at line 1 of "@"'
bad no_ratings    $C ratings.csv 'userId,movieId,rating,timestamp\r\n' 22P04 'no ratings found in'
bad dup_rating    $C ratings.csv "${R}2,1,3,9\r\n1,1,2.5,9\r\n"     23505 'duplicate rating in "@"'
bad dup_movie     $C movies.csv 'movieId,title,genres\r\n1,A (1990),Drama\r\n2,B,Drama\r\n1,C,Drama\r\n' 23505 'duplicate movie id in "@"'
bad open_quote    $C movies.csv 'movieId,title,genres\r\n1,A (1990),Drama\r\n2,"B, The (1991),Drama\r\n' 22P04 'unterminated quoted field at line 3 of "@"'
bad after_quote   $C movies.csv 'movieId,title,genres\r\n1,"A" (1990),Drama\r\n' 22P04 'unexpected character after a closing quote at line 2 of "@"'
bad not_utf8      $C movies.csv 'movieId,title,genres\r\n1,A (1990),Drama\r\n6,Mis\xe9rables (1995),Drama\r\n' 22021 'invalid UTF-8 text at line 3 of "@"'
bad long_line     $C ratings.csv "${R}1,$(head -c 1100000 /dev/zero | tr '\0' 7),3,9\r\n" 22P04 'line longer than 1 MB at line 3 of "@"'
bad item_flag     $T/ml-100k u.item '1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n2|GoldenEye (1995)|01-Jan-1995||http://x|0|2|1|0|0|0|0|0|0|0|0|0|0|0|0|0|1|0|0\n' 22P04 'invalid genre flag "2" at line 2 of "@"'
bad item_fields   $T/ml-100k u.item '1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0\n' 22P04 'expected 24 fields, found 8 at line 1 of "@"'
bad data_fields   $T/ml-100k u.data '196\t1\t3\t881250949\n186\t1\t5\n' 22P04 'expected 4 fields, found 3 at line 2 of "@"'
bad dat_title     $T/ml-1m movies.dat '1::Toy Story (1995)::Animation\n2::Heat (1995)|Action\n' 22P04 'expected 3 fields, found fewer at line 2 of "@"'
bad dat_rating    $T/ml-10m ratings.dat '1::1::5::838985046\n1::3::5.5::838983525\n' 22003 'rating "5.5" is out of range at line 2 of "@"'

# unreadable file (the server's OS user may not read it)
d=$T/bad/unreadable/ml-25m; mkdir -p "$d"; cp "$C"/* "$d/"; share_with_pg "$T/bad/unreadable"; chmod 000 "$d/ratings.csv"
out=$(load "$d")
if grep -q 'ERROR:  42501: could not open file' <<<"$out" && [ "$(contents)" = "$base" ]; then
  tap 0 "unreadable ratings.csv: 42501, old contents intact"
else tap 1 "unreadable ratings.csv"; echo "$out" | sed 's/^/# /'; fi

# an empty folder, and a folder holding only half a layout
mkdir -p "$T/bad/empty" "$T/bad/half"; cp "$C/ratings.csv" "$T/bad/half/"; share_with_pg "$T/bad"
out=$(load "$T/bad/half")
if grep -q 'ERROR:  58P01: no MovieLens dataset found' <<<"$out" && grep -q 'HINT:  The folder must hold u.data and u.item' <<<"$out"; then
  tap 0 "ratings.csv without movies.csv: 58P01, hint lists the expected files"
else tap 1 "ratings.csv without movies.csv"; echo "$out" | sed 's/^/# /'; fi

# --- privileges: pg_read_server_files still needs INSERT on the tables -------------
q "CREATE ROLE mr_it_reader; GRANT pg_read_server_files TO mr_it_reader; GRANT USAGE ON SCHEMA movierec TO mr_it_reader" >/dev/null
out=$(q "SET ROLE mr_it_reader; SELECT * FROM movierec.load_movielens('$C')")
grep -q 'ERROR:  42501: permission denied for table movies' <<<"$out"; tap $? "reader without INSERT on movies is refused"
q "GRANT INSERT, TRUNCATE ON movierec.movies, movierec.ratings TO mr_it_reader" >/dev/null
out=$(q "SET ROLE mr_it_reader; SELECT dataset, movies, ratings, users FROM movierec.load_movielens('$C')")
tap $([ "$out" = "ml-25m|7|5|3" ] && echo 0 || echo 1) "reader with INSERT and TRUNCATE may load: $out"
q "REVOKE ALL ON movierec.movies, movierec.ratings FROM mr_it_reader; REVOKE USAGE ON SCHEMA movierec FROM mr_it_reader; DROP ROLE mr_it_reader" >/dev/null

# --- a long load stops promptly on statement_timeout -----------------------------
d=$T/big/ml-latest; mkdir -p "$d"; cp "$C/movies.csv" "$d/"
{ echo 'userId,movieId,rating,timestamp'; awk 'BEGIN { for (u = 1; u <= 100000; u++) for (m = 1; m <= 7; m++) print u "," m ",3.5,964982703" }'; } >"$d/ratings.csv"
share_with_pg "$T/big"
t0=$(date +%s%N)
out=$(q "SET statement_timeout = '300ms'; SELECT * FROM movierec.load_movielens('$d')")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
if grep -q 'ERROR:  57014' <<<"$out" && [ "$ms" -lt 3000 ] && [ "$(contents)" = "$base" ]; then
  tap 0 "statement_timeout cancels a 700,000-rating load after ${ms} ms; contents intact"
else tap 1 "statement_timeout cancel (${ms} ms)"; echo "$out" | sed 's/^/# /'; fi
out=$(load "$d"); tap $([ "$out" = "ml-latest|7|700000|100000" ] && echo 0 || echo 1) "the same file loads without the timeout: $out"
q "TRUNCATE movierec.ratings, movierec.movies" >/dev/null
