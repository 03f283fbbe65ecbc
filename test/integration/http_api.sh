#!/usr/bin/env bash
# The HTTP API over real HTTP: PostgREST 12 with postgrest/postgrest.conf on
# a free loopback port against its own database of the test cluster.
# Every endpoint; every auth case (none, bad signature, expired, wrong role,
# another user, role claim 'postgres'); row level security; every row of the
# error table (404/400/401/403/405; 429 is in http_ratelimit.sh); failed
# writes change nothing; /rpc/recommend equals movierec.recommend for 20
# users; the bad-input list.
set -u
. "$ROOT/test/lib.sh"
. "$ROOT/test/lib_http.sh"
pgrst_bin >/dev/null || { echo "no PostgREST binary (scripts/deps.sh installs it)"; exit 77; }
command -v jq >/dev/null || { echo "no jq"; exit 77; }

DB=http_api
export PGDATABASE=$DB
PSQL=("$BINDIR/psql" -qXAt -v ON_ERROR_STOP=1)
"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" 2>/dev/null || exit 1
HTTP_BODY=$T/body HTTP_HEADERS=$T/headers
cleanup() { pgrst_stop; "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1; }
trap cleanup EXIT

# a small synthetic set, one ALS model, three logins; limits out of the way
"${PSQL[@]}" >/dev/null <<'SQL' || exit 1
SET client_min_messages = warning;
CREATE EXTENSION movierec;
SELECT movierec.create_api_roles();
SELECT movierec.generate_ratings(300, 400, 15000, seed => 7);
SELECT movierec.train('movies', 'als', '{"factors": 16, "iterations": 5}');
SELECT movierec.create_account('u1', 'password-1', 1);
SELECT movierec.create_account('u2', 'password-2', 2);
SELECT movierec.create_account('boss', 'password-0', 300, 'web_admin');
UPDATE movierec.rate_limits SET requests_per_minute = 1000000, burst = 100000;
SQL
pgrst_start $DB "$T" || exit 1

U1=$(login u1 password-1); U2=$(login u2 password-2); ADM=$(login boss password-0)
A1=(-H "Authorization: Bearer $U1"); AA=(-H "Authorization: Bearer $ADM")
J=(-H 'Content-Type: application/json')
body() { cat "$HTTP_BODY"; }
jqt() { jq -e "$@" >/dev/null; }
is_json_error() { jq -e '.message | type == "string"' "$HTTP_BODY" >/dev/null || { echo "# not a JSON error: $(head -c 300 "$HTTP_BODY")"; return 1; }; }
sql() { "${PSQL[@]}" -c "$1"; }
sign() { sql "SELECT movierec.jwt_sign('$1')"; }
ratings_digest() { sql "SELECT count(*) || ':' || coalesce(sum(hashtext(user_id || ',' || movie_id || ',' || rating)), 0) FROM movierec.ratings"; }

# --- login ---------------------------------------------------------------------
tap_ok "login returns the seed's response shape" \
  eq "$(curl -s -X POST "${J[@]}" -d '{"username": "u1", "password": "password-1"}' "$PGRST_URL/rpc/login" |
        jq -c '[(.access_token | split(".") | length), .token_type, .expires_in]')" '[3,"bearer",3600]'
tap_ok "the token's claims are role, sub and exp" \
  eq "$(echo "$U1" | cut -d. -f2 | tr '_-' '/+' | base64 -d 2>/dev/null | jq -c '[.role, .sub, (.exp > now)]')" '["web_user","1",true]'
tap_is "a wrong password is 401" "$(http POST /rpc/login "${J[@]}" -d '{"username": "u1", "password": "nope-nope"}')" 401
tap_ok "  with a JSON error" is_json_error
tap_is "an unknown user is 401" "$(http POST /rpc/login "${J[@]}" -d '{"username": "nobody", "password": "password-1"}')" 401
tap_ok "  with a JSON error" is_json_error

# --- recommendations -----------------------------------------------------------
tap_is "GET /rpc/recommend (own user_id) is 200" "$(http GET '/rpc/recommend?user_id=1&k=5' "${A1[@]}")" 200
tap_ok "  with 5 rows of movie_id, score, rank" eq "$(jq -c '[length, (.[0] | keys)]' "$HTTP_BODY")" '[5,["movie_id","rank","score"]]'
tap_is "GET /rpc/recommend_explain_path is 200" "$(http GET '/rpc/recommend_explain_path?user_id=1' "${A1[@]}")" 200
tap_ok "  and names the path" eq "$(jq -r '.[0].path' "$HTTP_BODY")" "$(sql 'SELECT path FROM movierec.recommend_explain_path(1)')"
tap_is "GET /rpc/similar_movies is 200" "$(http GET '/rpc/similar_movies?movie_id=1&k=3' "${A1[@]}")" 200
tap_ok "  and equals movierec.similar_movies" eq "$(jq -c '[.[].movie_id]' "$HTTP_BODY")" \
  "$(sql 'SELECT json_agg(movie_id ORDER BY rank) FROM movierec.similar_movies(1, 3)' | tr -d ' ')"
tap_is "GET /rpc/predict is 200" "$(http GET '/rpc/predict?user_id=1&movie_id=2' "${A1[@]}")" 200
tap_ok "  and equals movierec.predict" eq "$(body)" "$(sql 'SELECT to_json(movierec.predict(1, 2))')"
tap_is "GET /rpc/explain is 200" "$(http GET '/rpc/explain?user_id=1&movie_id=2&n=3' "${A1[@]}")" 200
tap_ok "  with rated_movie_id and contribution" eq "$(jq -c '.[0] | keys' "$HTTP_BODY")" '["contribution","rated_movie_id"]'

# /rpc/recommend over HTTP == movierec.recommend in SQL, for 20 users
same=0
for u in $(seq 1 20); do
  got=$(curl -s "${AA[@]}" "$PGRST_URL/rpc/recommend?user_id=$u&k=10" | jq -S -c .)
  want=$(sql "SELECT coalesce(json_agg(json_build_object('movie_id', movie_id, 'score', score, 'rank', rank) ORDER BY rank), '[]') FROM movierec.recommend($u, 10)" | jq -S -c .)
  [ "$got" = "$want" ] && [ "$(echo "$got" | jq length)" = 10 ] && same=$((same + 1))
done
tap_is "/rpc/recommend returns exactly movierec.recommend's rows for 20 users" "$same" 20

# --- catalogue (anonymous) -------------------------------------------------------
tap_is "GET /movies anonymously is 200" "$(http GET '/movies?genres=cs.{Comedy}&order=year.desc,movie_id&limit=20')" 200
tap_ok "  filtered and paginated as SQL" eq "$(jq -c '[.[].movie_id]' "$HTTP_BODY")" \
  "$(sql "SELECT coalesce(json_agg(movie_id), '[]') FROM (SELECT movie_id FROM movierec.movies WHERE genres @> '{Comedy}' ORDER BY year DESC NULLS FIRST, movie_id LIMIT 20) s" | tr -d ' ')"
tap_is "GET /popular_movies anonymously is 200" "$(http GET '/popular_movies?limit=5')" 200
tap_ok "  5 rows, best first" jqt 'length == 5 and .[0].score >= .[4].score' "$HTTP_BODY"
tap_is "GET / (OpenAPI) is 200" "$(http GET / "${A1[@]}")" 200
tap_ok "  describes /rpc/recommend with its comment" \
  jqt '.paths["/rpc/recommend"].get.summary | test("Top-k")' "$HTTP_BODY"
tap_ok "  and nothing of movierec's internals" \
  jqt '[.paths | keys[] | select(test("api_|accounts|secrets|rate_limit|pre_request"))] | length == 0' "$HTTP_BODY"

# --- ratings, row level security, fold-in ---------------------------------------
top=$(sql "SELECT movie_id FROM movierec.recommend(1, 1)")
tap_is "POST /rpc/rate is 200" "$(http POST /rpc/rate "${A1[@]}" "${J[@]}" -d "{\"movie_id\": $top, \"rating\": 1.5}")" 200
tap_ok "  and writes the caller's rating" eq "$(sql "SELECT rating FROM movierec.ratings WHERE user_id = 1 AND movie_id = $top")" 1.5
tap_is "  the next /rpc/recommend folds it in" "$(http GET '/rpc/recommend?user_id=1&k=10' "${A1[@]}")" 200
tap_ok "  (the rated movie is gone, and it equals SQL)" eq "$(jq -c "[.[] | select(.movie_id == $top)] | length" "$HTTP_BODY"):$(jq -c '[.[].movie_id]' "$HTTP_BODY")" \
  "0:$(sql 'SELECT json_agg(movie_id ORDER BY rank) FROM movierec.recommend(1, 10)' | tr -d ' ')"
tap_is "POST /rpc/rate again updates it" "$(http POST /rpc/rate "${A1[@]}" "${J[@]}" -d "{\"movie_id\": $top, \"rating\": 4}")" 200
tap_ok "  (one row, new rating)" eq "$(sql "SELECT count(*) || ':' || max(rating) FROM movierec.ratings WHERE user_id = 1 AND movie_id = $top")" 1:4
tap_is "GET /ratings is 200" "$(http GET '/ratings' "${A1[@]}")" 200
tap_ok "  and holds only the caller's rows" eq "$(jq -c '[.[].user_id] | unique' "$HTTP_BODY"):$(jq length "$HTTP_BODY")" \
  "[1]:$(sql 'SELECT count(*) FROM movierec.ratings WHERE user_id = 1')"
tap_is "GET /ratings?user_id=eq.2 (another user's) is 200" "$(http GET '/ratings?user_id=eq.2' "${A1[@]}")" 200
tap_ok "  and empty" eq "$(body)" '[]'
before=$(ratings_digest)
tap_is "POST /ratings for another user is 403 (row level security)" \
  "$(http POST /ratings "${A1[@]}" "${J[@]}" -d '{"user_id": 2, "movie_id": 1, "rating": 5}')" 403
tap_ok "  with a JSON error" is_json_error
http PATCH '/ratings?user_id=eq.2' "${A1[@]}" "${J[@]}" -d '{"rating": 0.5}' >/dev/null
http DELETE '/ratings?user_id=eq.2' "${A1[@]}" >/dev/null
tap_ok "PATCH and DELETE of another user's ratings change nothing" eq "$(ratings_digest)" "$before"
tap_is "DELETE /ratings?movie_id=eq.N removes the caller's rating" "$(http DELETE "/ratings?movie_id=eq.$top" "${A1[@]}")" 204
tap_ok "  (gone)" eq "$(sql "SELECT count(*) FROM movierec.ratings WHERE user_id = 1 AND movie_id = $top")" 0

# --- administration --------------------------------------------------------------
tap_is "GET /models as web_admin is 200" "$(http GET '/models?select=model_id,model_name,stage' "${AA[@]}")" 200
tap_ok "  and lists the model" eq "$(jq -c '.[0] | [.model_id, .model_name]' "$HTTP_BODY")" '[1,"movies"]'
tap_is "POST /rpc/promote as web_admin is 200" "$(http POST /rpc/promote "${AA[@]}" "${J[@]}" -d '{"model_id": 1}')" 200
tap_ok "  and promotes" eq "$(sql 'SELECT stage FROM movierec.models WHERE model_id = 1')" production
tap_is "POST /rpc/train_async as web_admin is 200" "$(http POST /rpc/train_async "${AA[@]}" "${J[@]}" -d '{"model_name": "movies", "algorithm": "popularity"}')" 200
job=$(body)
tap_is "GET /jobs as web_admin is 200" "$(http GET "/jobs?job_id=eq.$job" "${AA[@]}")" 200
tap_ok "  and shows the job, queued by web_admin" eq "$(jq -c '.[0] | [.model_name, .owner]' "$HTTP_BODY")" '["movies","web_admin"]'
sql "SELECT movierec.cancel_job($job)" >/dev/null 2>&1
sql "INSERT INTO movierec.models (model_name, version, algorithm, source, n_factors, stage) VALUES ('movies', 2, 'als', 'x', 0, 'none')" >/dev/null
m2=$(sql "SELECT model_id FROM movierec.models WHERE version = 2")
sql "INSERT INTO movierec.item_factors (model_id, movie_id, factors) SELECT $m2, movie_id, factors FROM movierec.item_factors WHERE model_id = 1" >/dev/null
http POST /rpc/promote "${AA[@]}" "${J[@]}" -d "{\"model_id\": $m2}" >/dev/null
tap_is "POST /rpc/rollback as web_admin is 200" "$(http POST /rpc/rollback "${AA[@]}" "${J[@]}" -d '{"model_name": "movies"}')" 200
tap_ok "  and brings model 1 back" eq "$(sql "SELECT model_id FROM movierec.models WHERE stage = 'production'")" 1
tap_is "web_admin may read any user's recommendations" "$(http GET '/rpc/recommend?user_id=2' "${AA[@]}")" 200

# --- auth cases --------------------------------------------------------------------
tap_is "no token: /rpc/recommend is 401" "$(http GET '/rpc/recommend?user_id=1')" 401
tap_ok "  with a JSON error" is_json_error
# the signature's first character changed: it carries 6 whole bits, where
# the last carries 4, so a new last character could decode to the same bytes
sig=${U1##*.}; c=A; [ "${sig:0:1}" = A ] && c=B
tap_is "bad signature is 401" "$(http GET '/rpc/recommend?user_id=1' -H "Authorization: Bearer ${U1%.*}.$c${sig:1}")" 401
tap_ok "  with a JSON error" is_json_error
EXPIRED=$(sign '{"role": "web_user", "sub": "1", "exp": 1000000000}')
tap_is "an expired token is 401" "$(http GET '/rpc/recommend?user_id=1' -H "Authorization: Bearer $EXPIRED")" 401
tap_ok "  with a JSON error" is_json_error
tap_is "another user's recommendations are 403" "$(http GET '/rpc/recommend?user_id=2' "${A1[@]}")" 403
tap_ok "  with movierec's message and hint" jqt '.message == "user 1 may not read the data of user 2" and (.hint | test("own user_id"))' "$HTTP_BODY"
tap_is "another user's predict is 403" "$(http GET '/rpc/predict?user_id=2&movie_id=1' "${A1[@]}")" 403
tap_is "another user's explain is 403" "$(http GET '/rpc/explain?user_id=2&movie_id=1' "${A1[@]}")" 403
tap_is "another user's explain_path is 403" "$(http GET '/rpc/recommend_explain_path?user_id=2' "${A1[@]}")" 403
tap_is "wrong role: web_user calling /rpc/promote is 403" "$(http POST /rpc/promote "${A1[@]}" "${J[@]}" -d '{"model_id": 1}')" 403
tap_is "wrong role: web_user reading /models is 403" "$(http GET /models "${A1[@]}")" 403
tap_is "wrong role: anonymous /rpc/rate is 401" "$(http POST /rpc/rate "${J[@]}" -d '{"movie_id": 1, "rating": 4}')" 401
NOROLE=$(sign "{\"role\": \"no_such_role\", \"sub\": \"1\", \"exp\": $(( $(date +%s) + 600 ))}")
st=$(http GET '/movies?limit=1' -H "Authorization: Bearer $NOROLE")
tap_ok "a role claim naming no role is refused ($st)" eq "$([ "$st" -ge 400 ] && [ "$st" -lt 500 ] && echo refused)" refused
before=$(ratings_digest)
PG=$(sign "{\"role\": \"postgres\", \"sub\": \"1\", \"exp\": $(( $(date +%s) + 600 ))}")
st=$(http POST /rpc/rate -H "Authorization: Bearer $PG" "${J[@]}" -d '{"movie_id": 1, "rating": 0.5}')
tap_ok "role claim 'postgres' is refused ($st)" eq "$([ "$st" = 401 ] || [ "$st" = 403 ] && echo refused)" refused
tap_ok "  with a JSON error" is_json_error
tap_ok "  saying the authenticator cannot become postgres" jqt '.message | test("permission denied to set role")' "$HTTP_BODY"
http GET '/ratings' -H "Authorization: Bearer $PG" >/dev/null
tap_ok "  and it changes and reads nothing" eq "$(ratings_digest):$(jq -c 'type' "$HTTP_BODY")" "$before:\"object\""
tap_ok "the authenticator is LOGIN NOINHERIT, not superuser, member of the API roles only" \
  eq "$(sql "SELECT rolcanlogin, rolinherit, rolsuper, rolbypassrls, (SELECT string_agg(b.rolname, ',' ORDER BY b.rolname) FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid WHERE m.member = r.oid) FROM pg_roles r WHERE rolname = 'movierec_authenticator'")" \
  't|f|f|f|web_admin,web_anon,web_user'
tap_ok "PostgREST's connections are not superuser" \
  eq "$(sql "SELECT count(*) FILTER (WHERE r.rolsuper) || ':' || (count(*) > 0) FROM pg_stat_activity a JOIN pg_roles r ON r.rolname = a.usename WHERE a.datname = '$DB' AND a.application_name ILIKE '%postgrest%'")" '0:true'

# --- error mapping -------------------------------------------------------------------
before=$(ratings_digest)
tap_is "404: an unknown movie (similar_movies)" "$(http GET '/rpc/similar_movies?movie_id=999999' "${A1[@]}")" 404
tap_ok "  with movierec's message and hint" jqt '(.message | test("movie 999999 is not in model")) and (.hint | length > 0)' "$HTTP_BODY"
tap_is "404: an unknown movie (rate)" "$(http POST /rpc/rate "${A1[@]}" "${J[@]}" -d '{"movie_id": 999999, "rating": 4}')" 404
tap_ok "  with movierec's message and hint" jqt '.code == "MR404" and .message == "movie 999999 does not exist" and (.hint | test("GET /movies"))' "$HTTP_BODY"
tap_is "404: an unknown model (promote)" "$(http POST /rpc/promote "${AA[@]}" "${J[@]}" -d '{"model_id": 424242}')" 404
tap_ok "  with movierec's message" jqt '.message == "model 424242 does not exist"' "$HTTP_BODY"
tap_is "404: an unknown model (rollback)" "$(http POST /rpc/rollback "${AA[@]}" "${J[@]}" -d '{"model_name": "nope"}')" 404
tap_ok "  with a JSON error" jqt '.code == "MR404" and (.message | test("nope"))' "$HTTP_BODY"
tap_is "400: bad k" "$(http GET '/rpc/recommend?user_id=1&k=0' "${A1[@]}")" 400
tap_ok "  with movierec's message and hint" jqt '.code == "22023" and (.message | test("k must be between 1 and")) and (.hint | test("k => 10"))' "$HTTP_BODY"
tap_is "400: a NaN rating" "$(http POST /rpc/rate "${A1[@]}" "${J[@]}" -d '{"movie_id": 1, "rating": "NaN"}')" 400
tap_ok "  with movierec's message" jqt '.code == "22023" and (.message | test("NaN"))' "$HTTP_BODY"
tap_is "400: an out-of-scale rating" "$(http POST /rpc/rate "${A1[@]}" "${J[@]}" -d '{"movie_id": 1, "rating": 5.5}')" 400
tap_ok "  with movierec's message and hint" jqt '(.message | test("between 0.5 and 5")) and (.hint | length > 0)' "$HTTP_BODY"
tap_is "400: malformed JSON" "$(http POST /rpc/rate "${A1[@]}" "${J[@]}" -d '{"movie_id": 1, "rat')" 400
tap_ok "  with a JSON error" is_json_error
tap_is "405: a write on GET" "$(http GET '/rpc/rate?movie_id=1&rating=4' "${A1[@]}")" 405
tap_ok "  with a JSON error" is_json_error
tap_is "405: POST /rpc/train_async on GET" "$(http GET '/rpc/train_async?model_name=x' "${AA[@]}")" 405
tap_ok "  with a JSON error" jqt '.code == "25006"' "$HTTP_BODY"
tap_is "405: GET /rpc/promote (a write) as web_admin" \
  "$(http GET '/rpc/promote?model_id=1' "${AA[@]}")" 405
tap_ok "the failed writes changed nothing" eq "$(ratings_digest)" "$before"
tap_ok "  and queued no job, changed no model" eq "$(sql "SELECT count(*) FROM movierec.jobs WHERE model_name = 'x'"):$(sql "SELECT model_id FROM movierec.models WHERE stage = 'production'")" 0:1

# --- bad input -------------------------------------------------------------------------
before=$(ratings_digest)
st=$(http GET '/rpc/recommend?user_id=1&k=5&colour=red' "${A1[@]}")
tap_ok "unknown query parameters: 404 (no such function signature) ($st)" eq "$st" 404
tap_ok "  with a JSON error naming the function" jqt '.code == "PGRST202" and (.hint | test("api.recommend"))' "$HTTP_BODY"
tap_is "huge k is 400" "$(http GET '/rpc/recommend?user_id=1&k=100000000' "${A1[@]}")" 400
tap_ok "  with a JSON error" is_json_error
tap_is "k beyond int is 400" "$(http GET '/rpc/recommend?user_id=1&k=99999999999999' "${A1[@]}")" 400
tap_ok "  with a JSON error" jqt '.code == "22003"' "$HTTP_BODY"
tap_is "a non-integer user_id is 400" "$(http GET '/rpc/recommend?user_id=1.5' "${A1[@]}")" 400
tap_ok "  with a JSON error" jqt '.code == "22P02"' "$HTTP_BODY"
tap_is "a non-numeric user_id is 400" "$(http GET '/rpc/recommend?user_id=abc' "${A1[@]}")" 400
tap_ok "  with a JSON error" jqt '.code == "22P02"' "$HTTP_BODY"
tap_is "an empty user_id is 400" "$(http GET '/rpc/recommend?user_id=' "${A1[@]}")" 400
tap_ok "  with a JSON error" is_json_error
tap_is "SQL in a parameter is 400" "$(http GET "/rpc/recommend?user_id=1%3BDROP%20TABLE%20movierec.ratings" "${A1[@]}")" 400
tap_ok "  with a JSON error" is_json_error
st=$(http GET "/rpc/recommend?user_id=1;DROP%20TABLE%20movierec.ratings;--" "${A1[@]}")
tap_ok "SQL after a raw ';' is not run ($st: PostgREST splits the query string there)" \
  eq "$(sql "SELECT to_regclass('movierec.ratings') IS NOT NULL")" t
tap_is "SQL in a filter value is 200 and matches nothing" \
  "$(http GET "/movies?title=eq.x%27%3B%20DROP%20TABLE%20movierec.movies%3B--" "${A1[@]}")" 200
tap_ok "  (empty)" eq "$(body)" '[]'
# bodies: PostgREST 12 has no size limit; movierec.api_pre_request answers
# 413 above movierec._api_max_body_bytes() (Content-Length), before any SQL
# of the request runs.  A body padded with JSON white space keeps the
# function's own keys, so PostgREST finds the function and opens the
# transaction, where the pre-request refuses it.
max=$(sql 'SELECT movierec._api_max_body_bytes()')
pad() {  # pad FILE BYTES PREFIX SUFFIX: PREFIX, spaces, SUFFIX, BYTES long in all
  { printf '%s' "$3"; head -c $(( $2 - ${#3} - ${#4} )) /dev/zero | tr '\0' ' '; printf '%s' "$4"; } > "$1"
}
pad "$T/big.json" 10485760 '{"movie_id": 1, "rating": 4' '}'
tap_ok "the 10 MB body is 10 MB of valid JSON" eq "$(wc -c < "$T/big.json"):$(jq -c . "$T/big.json")" '10485760:{"movie_id":1,"rating":4}'
tap_is "a 10 MB body (POST /rpc/rate) is 413" "$(http POST /rpc/rate "${A1[@]}" "${J[@]}" --data-binary "@$T/big.json")" 413
tap_ok "  with a JSON error naming the limit" \
  jqt ".code == \"MR413\" and (.message | test(\"10485760 bytes\")) and (.hint | test(\"at most $max bytes\"))" "$HTTP_BODY"
pad "$T/big.json" 10485760 '{"user_id": 1, "movie_id": 1, "rating": 4' '}'
tap_is "a 10 MB body (POST /ratings) is 413" "$(http POST /ratings "${A1[@]}" "${J[@]}" --data-binary "@$T/big.json")" 413
tap_ok "  with a JSON error" is_json_error
pad "$T/big.json" 10485760 '{"username": "u1", "password": "' 'x"}'
tap_is "a 10 MB body (POST /rpc/login, anonymous) is 413" "$(http POST /rpc/login "${J[@]}" --data-binary "@$T/big.json")" 413
tap_ok "  with a JSON error" is_json_error
pad "$T/big.json" 10485760 '{"movie_id": 1, "rating": 4, "junk": "' 'x"}'
st=$(http POST /rpc/rate "${A1[@]}" "${J[@]}" --data-binary "@$T/big.json")
tap_ok "a 10 MB body with an unknown key is 404 (PostgREST finds no such function, before any SQL) ($st)" eq "$st" 404
tap_ok "  with a JSON error" jqt '.code == "PGRST202"' "$HTTP_BODY"
tap_ok "the 10 MB bodies changed nothing" eq "$(ratings_digest)" "$before"
pad "$T/big.json" 2000000 '{"movie_id": 1, "rating": 4' '}'
tap_is "a chunked body (no Content-Length) is 411" \
  "$(http POST /rpc/rate "${A1[@]}" "${J[@]}" -H 'Transfer-Encoding: chunked' --data-binary "@$T/big.json")" 411
tap_ok "  with a JSON error" jqt '.code == "MR411" and (.hint | test("Content-Length"))' "$HTTP_BODY"
tap_is "a 2 MB body on a GET is 413 too" "$(http GET '/rpc/recommend?user_id=1&k=1' "${A1[@]}" -X GET --data-binary "@$T/big.json")" 413
pad "$T/big.json" $((max + 1)) '{"movie_id": 1, "rating": 4' '}'
tap_is "a body one byte above the limit is 413" "$(http POST /rpc/rate "${A1[@]}" "${J[@]}" --data-binary "@$T/big.json")" 413
tap_ok "  and changes nothing" eq "$(ratings_digest)" "$before"
tap_ok "bad input changed nothing, and the tables are all there" \
  eq "$(ratings_digest):$(sql "SELECT count(*) FROM pg_tables WHERE schemaname = 'movierec' AND tablename IN ('ratings', 'movies')")" "$before:2"
pad "$T/big.json" "$max" '{"movie_id": 2, "rating": 3.5' '}'
tap_is "a body of exactly the limit is taken (200)" "$(http POST /rpc/rate "${A1[@]}" "${J[@]}" --data-binary "@$T/big.json")" 200
tap_ok "  and rates" eq "$(sql 'SELECT rating FROM movierec.ratings WHERE user_id = 1 AND movie_id = 2')" 3.5
tap_ok "PostgREST is still ready" eq "$(curl -s -o /dev/null -w '%{http_code}' "$PGRST_ADMIN/ready")" 200
tap_ok "and live" eq "$(curl -s -o /dev/null -w '%{http_code}' "$PGRST_ADMIN/live")" 200

tap_done
