#!/usr/bin/env bash
# The HTTP rate limiter (src/ratelimit.c): per-user token buckets in shared
# memory, called from PostgREST's db-pre-request.  Over real HTTP: the
# (N+1)th request in a burst is 429 with Retry-After and a JSON body, other
# users are not affected, the anonymous role shares one bucket, a refill
# lets the next request through, a change of movierec.rate_limits applies
# within a second without a restart.  In SQL: LRU eviction in the
# fixed-size table.  On a hot standby (no writes possible): the limiter and
# GET /rpc/recommend through PostgREST work there too.
set -u
. "$ROOT/test/lib.sh"
. "$ROOT/test/lib_http.sh"
pgrst_bin >/dev/null || { echo "no PostgREST binary (scripts/deps.sh installs it)"; exit 77; }
command -v jq >/dev/null || { echo "no jq"; exit 77; }

DB=http_ratelimit
export PGDATABASE=$DB
PSQL=("$BINDIR/psql" -qXAt -v ON_ERROR_STOP=1)
"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" 2>/dev/null || exit 1
HTTP_BODY=$T/body HTTP_HEADERS=$T/headers
SB_DATA=
cleanup() {
  pgrst_stop
  [ -n "${PGRST2_PID:-}" ] && { kill "$PGRST2_PID" 2>/dev/null; wait "$PGRST2_PID" 2>/dev/null; }
  [ -n "$SB_DATA" ] && cluster_stop "$BINDIR" "$SB_DATA"
  "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
}
trap cleanup EXIT
sql() { "${PSQL[@]}" -c "$1"; }
jqt() { jq -e "$@" >/dev/null; }

"${PSQL[@]}" >/dev/null <<'SQL' || exit 1
SET client_min_messages = warning;
CREATE EXTENSION movierec;
SELECT movierec.create_api_roles();
SELECT movierec.generate_ratings(50, 100, 2000, seed => 3);
SELECT movierec.train('movies', 'als', '{"factors": 8, "iterations": 3}');
SELECT movierec.create_account('r1', 'password-1', 1);
SELECT movierec.create_account('r2', 'password-2', 2);
UPDATE movierec.rate_limits SET requests_per_minute = 600000, burst = 100000;
SELECT movierec.rate_limit_reset();
SQL
pgrst_start $DB "$T" || exit 1
R1=$(login r1 password-1); R2=$(login r2 password-2)
A1=(-H "Authorization: Bearer $R1"); A2=(-H "Authorization: Bearer $R2")

# web_user: burst 3, a token every 2 s; web_anon: burst 2, shared (slow
# enough that a loaded machine cannot refill a token within a burst)
sql "UPDATE movierec.rate_limits SET requests_per_minute = 30, burst = 3 WHERE role = 'web_user';
     UPDATE movierec.rate_limits SET requests_per_minute = 30, burst = 2 WHERE role = 'web_anon';
     SELECT movierec.rate_limit_reset()" >/dev/null
sleep 1.1   # the backends' copies of the limits are at most a second old
sql "SELECT movierec.rate_limit_reset()" >/dev/null

codes=""
for i in 1 2 3 4; do codes="$codes $(http GET '/rpc/recommend?user_id=1&k=3' "${A1[@]}")"; done
tap_is "a burst of 3 passes and the 4th request is 429" "$codes" " 200 200 200 429"
tap_ok "  with a Retry-After header" grep -qiE '^retry-after: [12]' "$HTTP_HEADERS"
tap_ok "  and a JSON body with movierec's message and hint" \
  jqt '.code == "MR429" and (.message | test("rate limit of role web_user")) and (.hint | test("Retry in"))' "$HTTP_BODY"
tap_is "another user has a bucket of their own" "$(http GET '/rpc/recommend?user_id=2&k=3' "${A2[@]}")" 200
tap_is "a different endpoint shares the user's bucket" "$(http GET '/ratings' "${A1[@]}")" 429
digest() { sql "SELECT count(*) || ':' || coalesce(sum(hashtext(user_id || ',' || movie_id || ',' || rating)), 0) FROM movierec.ratings"; }
before=$(digest)
tap_is "a write over the limit is 429" \
  "$(http POST /rpc/rate "${A1[@]}" -H 'Content-Type: application/json' -d '{"movie_id": 1, "rating": 0.5}')" 429
tap_ok "  and changes nothing" eq "$(digest)" "$before"
sleep 2.2
tap_is "after the refill a request passes" "$(http GET '/rpc/recommend?user_id=1&k=3' "${A1[@]}")" 200
tap_is "  and the next is 429 again (one token in 2 s)" "$(http GET '/rpc/recommend?user_id=1&k=3' "${A1[@]}")" 429

codes=""
for i in 1 2 3; do codes="$codes $(http GET '/movies?limit=1')"; done
tap_is "the anonymous role shares one bucket: 2 pass, the 3rd is 429" "$codes" " 200 200 429"
tap_is "  POST /rpc/login is limited too" \
  "$(http POST /rpc/login -H 'Content-Type: application/json' -d '{"username": "r1", "password": "password-1"}')" 429

# a change of the limits applies within a second, without a restart: each
# pooled backend reloads its copy when it is a second old
sql "UPDATE movierec.rate_limits SET requests_per_minute = 600000, burst = 1000 WHERE role = 'web_user'" >/dev/null
sleep 1.05
codes=$(for i in $(seq 1 20); do http GET '/rpc/recommend?user_id=1&k=3' "${A1[@]}"; echo; done | sort | uniq -c | awk '{print $2 "x" $1}')
tap_is "a raised limit applies within a second: 20 requests in a row pass" "$codes" 200x20
sql "UPDATE movierec.rate_limits SET requests_per_minute = 1, burst = 1 WHERE role = 'web_user'" >/dev/null
sleep 1.1
http GET '/rpc/recommend?user_id=1&k=3' "${A1[@]}" >/dev/null
tap_is "a lowered limit applies too" "$(http GET '/rpc/recommend?user_id=1&k=3' "${A1[@]}")" 429
tap_ok "  and Retry-After says up to a minute" grep -qiE '^retry-after: (5[0-9]|60)' "$HTTP_HEADERS"
sql "DELETE FROM movierec.rate_limits WHERE role = 'web_user'" >/dev/null
sleep 1.1
codes=$(for i in $(seq 1 10); do http GET '/rpc/recommend?user_id=1&k=3' "${A1[@]}"; echo; done | sort | uniq -c | awk '{print $2 "x" $1}')
tap_is "a role without a row in movierec.rate_limits is not limited" "$codes" 200x10

# LRU eviction in the fixed-size table (movierec.rate_limit_entries)
n=$(sql "SHOW movierec.rate_limit_entries")
out=$(sql "INSERT INTO movierec.rate_limits VALUES ('regress_rl', 60, 2);
  SELECT movierec.rate_limit_reset() >= 0;
  SELECT movierec.rate_limit_take('regress_rl', 1) = 0 AND movierec.rate_limit_take('regress_rl', 1) = 0
     AND movierec.rate_limit_take('regress_rl', 1) > 0;
  SELECT count(movierec.rate_limit_take('regress_rl', i)) FROM generate_series(2, $n + 1) i;
  SELECT count(*) FROM movierec.rate_limit_buckets();
  SELECT count(*) FROM movierec.rate_limit_buckets() WHERE user_id = 1;
  SELECT user_id FROM movierec.rate_limit_buckets() LIMIT 1;
  SELECT movierec.rate_limit_take('regress_rl', 1)" | tr '\n' ' ')
tap_is "the table holds $n buckets and evicts the least recently used" "$out" "t t $n $n 0 $((n + 1)) 0 "
tap_ok "client roles cannot reset or list the buckets" \
  eq "$(sql "SELECT has_function_privilege('web_user', 'movierec.rate_limit_reset()', 'EXECUTE'), has_function_privilege('web_anon', 'movierec.rate_limit_buckets()', 'EXECUTE')")" 'f|f'

# --- hot standby -------------------------------------------------------------------
sql "UPDATE movierec.rate_limits SET requests_per_minute = 60, burst = 3 WHERE role = 'web_admin';
     INSERT INTO movierec.rate_limits VALUES ('web_user', 60, 3) ON CONFLICT (role) DO UPDATE SET requests_per_minute = 60, burst = 3;
     SELECT movierec.create_account('r3', 'password-3', 3); CHECKPOINT" >/dev/null
SB_PORT=$(free_port); SB_DATA=$T/standby; SB_SOCK=$T/sbsock
rm -rf "$SB_DATA"
mkdir -p "$SB_SOCK"; chmod 777 "$SB_SOCK"
if ! as_pg "$BINDIR/pg_basebackup" -h "$PGHOST" -p "$PGPORT" -U postgres -D "$SB_DATA" -R -X stream -c fast >/dev/null 2>"$T/basebackup.log"; then
  sed 's/^/# /' "$T/basebackup.log"; SB_DATA=; tap_ok "a standby from pg_basebackup" false; tap_done; exit
fi
{ echo "port = $SB_PORT"; echo "unix_socket_directories = '$SB_SOCK'"; echo "hot_standby = on"; } >> "$SB_DATA/postgresql.conf"
as_pg "$BINDIR/pg_ctl" -D "$SB_DATA" -l "$SB_DATA/server.log" -w -t 60 start >/dev/null || { cat "$SB_DATA/server.log"; SB_DATA=; }
SBQ=("$BINDIR/psql" -qXAt -h "$SB_SOCK" -p "$SB_PORT" -d $DB)
tap_ok "the standby is in recovery" eq "$("${SBQ[@]}" -c 'SELECT pg_is_in_recovery()' 2>&1)" t
tap_ok "the bucket works on the standby (3 pass, the 4th waits)" \
  eq "$("${SBQ[@]}" -c "SELECT movierec.rate_limit_reset(); SELECT string_agg((movierec.rate_limit_take('web_user', 77) > 0)::text, ',') FROM generate_series(1, 4)" 2>&1 | tail -1)" 'false,false,false,true'
# PostgREST against the standby: reads work, the limit answers 429
PGPORT_SAVE=$PGPORT PGHOST_SAVE=$PGHOST PGRST_PID_SAVE=$PGRST_PID PGRST_URL_SAVE=$PGRST_URL PGRST_ADMIN_SAVE=$PGRST_ADMIN
PGPORT=$SB_PORT PGHOST=$SB_SOCK
mkdir -p "$T/sb"
if pgrst_start $DB "$T/sb"; then
  PGRST2_PID=$PGRST_PID
  R3=$(login r3 password-3)
  codes=""
  for i in 1 2 3 4; do codes="$codes $(http GET '/rpc/recommend?user_id=3&k=3' -H "Authorization: Bearer $R3")"; done
  tap_is "over HTTP on the standby: 3 recommendations, then 429" "$codes" " 200 200 200 429"
  tap_ok "  (a hot standby: no table was written)" eq "$("${SBQ[@]}" -c 'SELECT pg_is_in_recovery()')" t
else
  tap_ok "PostgREST on the standby" false
fi
PGPORT=$PGPORT_SAVE PGHOST=$PGHOST_SAVE PGRST_PID=$PGRST_PID_SAVE PGRST_URL=$PGRST_URL_SAVE PGRST_ADMIN=$PGRST_ADMIN_SAVE

tap_done
