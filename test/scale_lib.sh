# test/scale_lib.sh: helpers shared by the scale-out tests and benchmarks
# (test/integration/scale_*.sh, bench/replica, bench/pool, bench/shards).
# Source it after test/lib.sh; it defines functions only.  Every cluster
# it starts is small (shared_buffers 128MB: the machine is shared) and is
# stopped by scale_stop_all, which callers put in their EXIT trap.

SCALE_CLUSTERS=()

# scale_primary DATADIR PORT [conf lines...]: a small primary on loopback
# that streams WAL (movierec preloaded).
scale_primary() {
  local data=$1 port=$2; shift 2
  cluster_start "$BINDIR" "$data" "$data.sock" "$port" \
    "shared_buffers = 128MB" "max_worker_processes = 8" \
    "shared_preload_libraries = 'movierec'" "wal_level = replica" \
    "max_wal_senders = 8" "wal_keep_size = 256MB" "$@" || return 1
  SCALE_CLUSTERS+=("$data")
}

# scale_standby PRIMARY_PORT DATADIR PORT: a hot standby of the primary
# made with pg_basebackup (-R writes primary_conninfo and standby.signal).
scale_standby() {
  local pport=$1 data=$2 port=$3
  mkdir -p "$data.sock"; [ "$(id -u)" -eq 0 ] && chown postgres: "$data.sock"
  as_pg "$BINDIR/pg_basebackup" -h 127.0.0.1 -p "$pport" -U postgres -D "$data" -R -X stream -c fast || return 1
  {
    echo "port = $port"
    echo "unix_socket_directories = '$data.sock'"
    echo "hot_standby = on"
  } >> "$data/postgresql.conf"
  as_pg "$BINDIR/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null || return 1
  SCALE_CLUSTERS+=("$data")
}

# scale_stop_all: stop every cluster started here (standbys first).
scale_stop_all() {
  local i
  declare -F scale_stop_bouncers >/dev/null && scale_stop_bouncers
  for ((i = ${#SCALE_CLUSTERS[@]} - 1; i >= 0; i--)); do
    cluster_stop "$BINDIR" "${SCALE_CLUSTERS[$i]}"
  done
}

# qp PORT SQL: q on another server of this machine (loopback).
qp() { local port=$1; shift; PGHOST=127.0.0.1 PGPORT=$port q "$@"; }

# scale_wait_replay PRIMARY_PORT STANDBY_PORT: wait until the standby has
# replayed everything the primary wrote so far.
scale_wait_replay() {
  local lsn i
  # the insert position: with synchronous_commit off a commit record may
  # not be written yet, so pg_current_wal_lsn() (the write position) is early
  lsn=$(qp "$1" "SELECT pg_current_wal_insert_lsn()")
  for i in $(seq 1 300); do
    [ "$(qp "$2" "SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn")" = t ] && return 0
    sleep 0.1
  done
  echo "# standby on port $2 did not replay $lsn in 30 s"; return 1
}

# session_open NAME PORT: a long-lived psql session on PORT reading from a
# FIFO; session_ask NAME SQL prints the one-line answer of one query.
declare -A SESSION_FD SESSION_PID
session_open() {
  local name=$1 port=$2 fd
  mkfifo "$T/$name.in"
  "$BINDIR/psql" -qXAt -h 127.0.0.1 -p "$port" <"$T/$name.in" >"$T/$name.out" 2>&1 &
  SESSION_PID[$name]=$!
  exec {fd}>"$T/$name.in"
  SESSION_FD[$name]=$fd
  echo "SET search_path TO movierec, public; SET client_min_messages = warning;" >&$fd
}
session_ask() {
  local name=$1 n_out
  n_out=$(( $(wc -l <"$T/$name.out") + 1 ))
  echo "$2" >&"${SESSION_FD[$name]}"
  for _ in $(seq 1 300); do
    [ "$(wc -l <"$T/$name.out")" -ge "$n_out" ] && break
    sleep 0.05
  done
  sed -n "${n_out}p" "$T/$name.out"
}
session_close() {
  local fd=${SESSION_FD[$1]}
  exec {fd}>&-
  wait "${SESSION_PID[$1]}" 2>/dev/null
}

# scale_answers PORT MODEL: every read-only serving answer for 25 users and
# 25 movies, one line each (compared between servers).
scale_answers() {
  qp "$1" "SELECT 'r' || u || ':' || (SELECT string_agg(movie_id || '=' || score, ',' ORDER BY rank) FROM recommend(u, 10, $2)) FROM generate_series(1, 25) u
     UNION ALL SELECT 'p' || u || ':' || predict(u, u * 3, $2) FROM generate_series(1, 25) u
     UNION ALL SELECT 'e' || u || ':' || (SELECT string_agg(rated_movie_id || '=' || contribution, ',') FROM explain(u, u * 5, $2)) FROM generate_series(1, 25) u
     UNION ALL SELECT 's' || i || ':' || (SELECT string_agg(movie_id || '=' || similarity, ',' ORDER BY rank) FROM similar_movies(i, 5, $2)) FROM generate_series(1, 25) i
     UNION ALL SELECT 'a:' || (SELECT string_agg(movie_id || '=' || score, ',' ORDER BY rank) FROM recommend_for_ratings('{1,2,3,50}', '{5,4,1,2}', 10, $2))"
}

# scale_pgbouncer DIR PORT DBLINE: start pgbouncer 1.18 with the tree's
# pool settings (pgbouncer/pgbouncer.ini, see there why it is concatenated)
# on 127.0.0.1:PORT.  DBLINE is its [databases] line, e.g.
# "scale = host=127.0.0.1 port=5432".  Trust auth (loopback only); admin
# console as postgres.  Waits until it accepts connections;
# scale_stop_all stops it (by its pid file).
SCALE_BOUNCERS=()
scale_pgbouncer() {
  local dir=$1 port=$2 dbline=$3
  mkdir -p "$dir"
  echo '"postgres" ""' >"$dir/users.txt"
  {
    printf '[databases]\n%s\n' "$dbline"
    cat "$ROOT/pgbouncer/pgbouncer.ini"
    cat <<INI
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/users.txt
admin_users = postgres
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
  } >"$dir/pgbouncer.ini"
  share_with_pg "$dir"
  as_pg pgbouncer -d -q "$dir/pgbouncer.ini" || return 1
  SCALE_BOUNCERS+=("$dir")
  for _ in $(seq 1 100); do
    "$BINDIR/psql" -qXAt -h 127.0.0.1 -p "$port" -d pgbouncer -c "SHOW VERSION" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  cat "$dir/pgbouncer.log"; return 1
}
scale_stop_bouncers() {
  local d
  for d in "${SCALE_BOUNCERS[@]}"; do
    [ -f "$d/pgbouncer.pid" ] && kill "$(cat "$d/pgbouncer.pid")" 2>/dev/null
  done
  SCALE_BOUNCERS=()
}

# --- benchmarks (bench/replica, bench/pool, bench/shards) ---------------------

# scale_bench_setup NAME: build, install into a private copy of the
# PostgreSQL tree under a new $T, set BINDIR; the EXIT trap stops every
# cluster and pooler and removes $T (BENCH_KEEP=1 keeps it).
scale_bench_setup() {
  T=$(mktemp -d "/tmp/movierec-bench-$1.XXXXXX"); chmod 777 "$T"
  make -s -C "$ROOT" -j2 >/dev/null 2>"$T/build.log" || { cat "$T/build.log"; exit 1; }
  private_pg_tree "$T/pg"
  make -s -C "$ROOT" install DESTDIR="$T/pg" >/dev/null
  BINDIR=$T/pg/usr/lib/postgresql/15/bin
  export BINDIR PGUSER=postgres
  trap 'scale_stop_all; if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi' EXIT
}

# scale_bench_data PORT DB: ml-latest-small (610 users, 9,742 movies,
# 100,836 ratings) from MOVIELENS_DIR, else a synthetic set of that shape;
# ALS with 64 factors promoted as model 1.  Prints what it loaded.
scale_bench_data() {
  local port=$1 db=$2 small=${MOVIELENS_DIR:-$ROOT/../shared/datasets/movielens}/ml-latest-small
  if [ -f "$small/ratings.csv" ]; then
    PGDATABASE=$db qp "$port" "SELECT dataset, ratings FROM load_movielens('$small')" >/dev/null || return 1
    echo "data: ml-latest-small (real MovieLens)"
  else
    PGDATABASE=$db qp "$port" "SELECT generate_ratings(610, 9742, 100836, seed => 1)" >/dev/null || return 1
    echo "data: synthetic, ml-latest-small's shape (no MovieLens at $small)"
  fi
  PGDATABASE=$db qp "$port" "UPDATE ratings SET rated_at = least(rated_at, timestamptz '2020-01-01') WHERE rated_at IS NULL OR rated_at > '2020-01-01';
     SELECT train('bench', 'als', '{\"factors\": 64, \"iterations\": 10}'); SELECT promote(1)" >/dev/null
}

# scale_tps LOG: the TPS figure of a pgbench log.
scale_tps() { sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$1" | head -1; }

# scale_machine: CPU model, cores and kernel, for the benchmark record.
scale_machine() {
  echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) vCPU, kernel $(uname -r); shared with other engineers' jobs (noisy): compare ratios within one run"
}
