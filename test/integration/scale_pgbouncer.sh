#!/usr/bin/env bash
# pgbouncer 1.18 in transaction mode (the tree's pgbouncer/pgbouncer.ini)
# in front of a primary: answers through the pool are the direct answers;
# 64 pgbench clients are served by at most 4 server connections, each with
# its own model cache (its size is printed); named prepared statements
# break across server connections (pgbouncer 1.18 does not track them)
# while the extended protocol with unnamed statements works.
set -u
. "$ROOT/test/lib.sh"
. "$ROOT/test/scale_lib.sh"
command -v pgbouncer >/dev/null || { echo "pgbouncer is not installed"; exit 77; }
trap scale_stop_all EXIT
export PGDATABASE=scale
PP=$(free_port); scale_primary "$T/primary" "$PP" "max_connections = 90" || exit 1
PGDATABASE=postgres qp "$PP" "CREATE DATABASE scale" || exit 1
qp "$PP" "CREATE EXTENSION movierec; SELECT generate_ratings(2000, 500, 50000, seed => 2);
          UPDATE ratings SET rated_at = timestamptz '2020-01-01';
          SELECT train('movies', 'als', '{\"factors\": 32, \"iterations\": 4}'); SELECT promote(1);" >/dev/null || exit 1
PB=$(free_port)
scale_pgbouncer "$T/bouncer" "$PB" "scale = host=127.0.0.1 port=$PP dbname=scale" || exit 1
tap_ok "pgbouncer accepts connections" true
tap_ok "answers through the pool are the direct answers" eq "$(scale_answers "$PB" NULL)" "$(scale_answers "$PP" NULL)"

cat >"$T/rec.sql" <<'SQL'
\set u random(1, 2000)
SELECT movie_id FROM movierec.recommend(:u, 10);
SQL
# sample the primary's client backends on this database while 64 clients run
sample() {
  local i
  for i in $(seq 1 20); do
    qp "$PP" "SELECT count(*) FROM pg_stat_activity WHERE datname = 'scale' AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
    sleep 0.15
  done >"$T/samples"
}
sample & sp=$!
"$BINDIR/pgbench" -n -h 127.0.0.1 -p "$PB" -c 64 -j 2 -T 4 -M extended -f "$T/rec.sql" scale >"$T/ext.log" 2>&1
rc=$?
wait $sp
max=$(sort -n "$T/samples" | tail -1)
tap_is "64 clients, extended protocol (unnamed statements): pgbench succeeds" "$rc" 0
tap_ok "64 clients, no failed transaction" grep -q 'number of failed transactions: 0 ' "$T/ext.log"
grep -E '^(tps|number of transactions actually)' "$T/ext.log" | sed 's/^/# /'
tap_ok "at most 4 server connections while 64 clients ran (max seen: $max)" test "$max" -le 4 -a "$max" -ge 1
sv=$("$BINDIR/psql" -qXA -F, -h 127.0.0.1 -p "$PB" -d pgbouncer -c "SHOW POOLS" |
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i }
             $1 == "scale" { print $c["sv_active"] + $c["sv_idle"] + $c["sv_used"] }')
tap_ok "pgbouncer's own count of server connections: $sv <= 4" test "$sv" -ge 1 -a "$sv" -le 4

# what clients must not do: named prepared statements across a pool
"$BINDIR/pgbench" -n -h 127.0.0.1 -p "$PB" -c 16 -j 2 -t 20 -M prepared -f "$T/rec.sql" scale >"$T/prep.log" 2>&1
tap_ok "named prepared statements fail through pgbouncer 1.18 in transaction mode" \
  grep -qE 'prepared statement "P_?[0-9_]+" (does not exist|already exists)' "$T/prep.log"
grep -m1 -oE 'ERROR: +prepared statement "P_?[0-9_]+" (does not exist|already exists)' "$T/prep.log" | sed 's/^/# /'

# the model cache of one server connection
sz=$(qp "$PB" "SELECT count(*) FROM recommend(1, 10); SELECT sum(total_bytes) FROM pg_backend_memory_contexts WHERE name = 'movierec serve model'" | tail -1)
n=$(qp "$PP" "SELECT n_movies * n_factors * 4 FROM models WHERE model_id = 1")
echo "# model cache of one server connection: $sz bytes for 500 movies x 32 factors (item matrix: $n bytes)"
tap_ok "each server connection caches the model: more than its float item matrix" test "$sz" -gt "$n"
pids=$(for i in $(seq 1 40); do echo "SELECT pg_backend_pid();"; done | "$BINDIR/psql" -qXAt -h 127.0.0.1 -p "$PB" | sort -u | wc -l)
tap_ok "a client's transactions may land on any of the pooled backends (<= 4: $pids)" test "$pids" -le 4
tap_done
