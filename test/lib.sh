# test/lib.sh: shared helpers for movierec's test harness, demo and
# integration tests.  Source it; it defines functions only.

# Run a command as the postgres OS user when we are root (Postgres refuses
# to run as root); as anyone else, run it directly.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# Print a TCP port that nothing listens on, below the kernel's ephemeral
# range (the local ends of outgoing connections, which a listener cannot
# bind even though nothing listens there), in 20000 and up.
free_port() {
  local p lo
  lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  [ "$lo" -gt 21000 ] 2>/dev/null || lo=60000
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % (lo - 20000)))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
      echo "$p"; return 0
    fi
  done
  return 1
}

# Create and start a cluster: cluster_start BINDIR DATADIR SOCKDIR PORT [conf lines...]
cluster_start() {
  local bindir=$1 data=$2 sock=$3 port=$4; shift 4
  mkdir -p "$data" "$sock"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$data" "$sock"
  as_pg "$bindir/initdb" -D "$data" -A trust -U postgres -E UTF8 --locale=C --no-sync >/dev/null || return 1
  {
    echo "port = $port"
    echo "unix_socket_directories = '$sock'"
    echo "listen_addresses = '127.0.0.1'"
    echo "fsync = off"
    echo "synchronous_commit = off"
    echo "full_page_writes = off"
    echo "max_wal_size = 4GB"
    echo "shared_buffers = 512MB"
    echo "max_worker_processes = 16"
    echo "log_min_messages = warning"
    for line in "$@"; do echo "$line"; done
  } >> "$data/postgresql.conf"
  as_pg "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null
}

# Stop a cluster (fast mode): cluster_stop BINDIR DATADIR
cluster_stop() {
  as_pg "$1/pg_ctl" -D "$2" -m fast -w -t 60 stop >/dev/null 2>&1 ||
    as_pg "$1/pg_ctl" -D "$2" -m immediate -w stop >/dev/null 2>&1 || true
}

# Make a path readable by the server (which runs as postgres).
share_with_pg() {
  [ "$(id -u)" -eq 0 ] && chown -R postgres: "$@"
  chmod -R a+rX "$@"
}

# Copy the system PostgreSQL tree into $1 so that an extension can be
# installed there with DESTDIR=$1 without touching the system install.
# PostgreSQL finds its share and lib dirs relative to its binaries.
private_pg_tree() {
  local dest=$1
  mkdir -p "$dest/usr/lib/postgresql" "$dest/usr/share/postgresql"
  cp -a /usr/lib/postgresql/15 "$dest/usr/lib/postgresql/"
  cp -a /usr/share/postgresql/15 "$dest/usr/share/postgresql/"
}

# --- TAP helpers for test/integration scripts --------------------------------
# They count in tap_n and tap_fails; end a script with tap_done.
tap_n=0
tap_fails=0

# tap_ok NAME COMMAND...: "ok" when COMMAND succeeds.
tap_ok() {
  local name=$1; shift
  tap_n=$((tap_n + 1))
  if "$@"; then echo "ok $tap_n - $name"; else echo "not ok $tap_n - $name"; tap_fails=$((tap_fails + 1)); fi
}

# tap_is NAME GOT WANT: "ok" when GOT equals WANT.
tap_is() {
  tap_n=$((tap_n + 1))
  if [ "$2" = "$3" ]; then echo "ok $tap_n - $1"; else
    echo "not ok $tap_n - $1: got '$2', want '$3'"; tap_fails=$((tap_fails + 1)); fi
}

# tap_done: the plan line; the exit status says whether all passed.
tap_done() { echo "1..$tap_n"; [ "$tap_fails" -eq 0 ]; }

# q SQL: run SQL in movierec's schema, print unaligned tuples only.
q() { "$BINDIR/psql" -qXAt -v ON_ERROR_STOP=1 -c "SET search_path TO movierec, public; SET client_min_messages = warning" -c "$1"; }

# wait_for SQL EXPECTED SECONDS: poll until q SQL prints EXPECTED.
wait_for() {
  local i
  for i in $(seq 1 $(($3 * 5))); do
    [ "$(q "$1" 2>/dev/null)" = "$2" ] && return 0
    sleep 0.2
  done
  echo "# waited $3 s for [$1] = [$2]; last: [$(q "$1" 2>&1)]"
  return 1
}

# eq GOT WANT: succeed when equal, else say what differed (for tap_ok).
eq() { [ "$1" = "$2" ] || { echo "# expected [$2], got [$1]"; return 1; }; }
