# test/lib_http.sh: helpers for the HTTP API tests (test/integration/http_*.sh)
# and bench/http.  Source it after test/lib.sh.  It starts PostgREST with the
# project's one config file, postgrest/postgrest.conf, filling in only the
# database URI, the two ports and the JWT secret (environment variables).

# The PostgREST binary (scripts/deps.sh installs it into .build/postgrest).
pgrst_bin() {
  local b=${MOVIEREC_POSTGREST:-$ROOT/.build/postgrest/bin/postgrest}
  [ -x "$b" ] && echo "$b"
}

# The GHC runtime options PostgREST runs with: $GHCRTS if set, else the
# "#! GHCRTS=" line of postgrest/postgrest.conf (PostgREST cannot read them
# from its config file, so every starter takes them from that line).
pgrst_ghcrts() {
  if [ -n "${GHCRTS:-}" ]; then echo "$GHCRTS"; return; fi
  sed -n 's/^#! GHCRTS=//p' "$ROOT/postgrest/postgrest.conf"
}

# pgrst_start DB DIR: start PostgREST for database DB of the cluster in the
# PG* variables (the authenticator connects to the Unix socket in $PGHOST,
# or over TCP to 127.0.0.1:$PGPORT),
# on free loopback ports; waits on the admin server's /ready, and tries new
# ports (three times) when one was taken before PostgREST bound it.  Sets
# PGRST_URL (base URL), PGRST_ADMIN (admin URL) and PGRST_PID; logs to
# DIR/postgrest.log.
pgrst_start() {
  local db=$1 dir=$2 try
  for try in 1 2 3; do
    pgrst_try "$db" "$dir" && return 0
    grep -q 'Address in use' "$dir/postgrest.log" && [ "$try" -lt 3 ] && continue
    echo "# PostgREST did not get ready:"; sed 's/^/# /' "$dir/postgrest.log"
    return 1
  done
}

# pgrst_try DB DIR: one start of pgrst_start, on two new free ports.
pgrst_try() {
  local db=$1 dir=$2 i secret bin port aport
  bin=$(pgrst_bin) || { echo "no PostgREST binary (run scripts/deps.sh)" >"$dir/postgrest.log"; return 1; }
  secret=$("$BINDIR/psql" -qXAt -d "$db" -c 'SELECT movierec.jwt_secret()') || return 1
  port=$(free_port); aport=$(free_port)
  while [ "$aport" = "$port" ]; do aport=$(free_port); done
  # the Unix socket when PGHOST is one (2-4% less CPU per request than
  # loopback TCP in bench/http), else TCP to 127.0.0.1
  local uri="postgres://movierec_authenticator@127.0.0.1:$PGPORT/$db"
  case "${PGHOST:-}" in /*) uri="postgres://movierec_authenticator@/$db?host=$PGHOST&port=$PGPORT" ;; esac
  GHCRTS=$(pgrst_ghcrts) PGRST_DB_URI=$uri \
  PGRST_SERVER_PORT=$port PGRST_ADMIN_SERVER_PORT=$aport PGRST_JWT_SECRET=$secret \
    "$bin" "$ROOT/postgrest/postgrest.conf" >"$dir/postgrest.log" 2>&1 &
  PGRST_PID=$!
  PGRST_URL=http://127.0.0.1:$port
  PGRST_ADMIN=http://127.0.0.1:$aport
  for i in $(seq 1 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$PGRST_ADMIN/ready")" = 200 ] && return 0
    kill -0 "$PGRST_PID" 2>/dev/null || break
    sleep 0.1
  done
  pgrst_stop
  return 1
}

# pgrst_stop: stop the PostgREST started by pgrst_start.
pgrst_stop() {
  [ -n "${PGRST_PID:-}" ] || return 0
  kill "$PGRST_PID" 2>/dev/null
  wait "$PGRST_PID" 2>/dev/null || true
  PGRST_PID=
}

# http METHOD PATH [curl args...]: the status code on stdout, the body in
# $HTTP_BODY (a file), the headers in $HTTP_HEADERS.
http() {
  local method=$1 path=$2; shift 2
  curl -s -g -X "$method" -o "$HTTP_BODY" -D "$HTTP_HEADERS" -w '%{http_code}' "$@" "$PGRST_URL$path"
}

# login USER PASSWORD: print the access token.
login() {
  curl -s -X POST -H 'Content-Type: application/json' \
    -d "{\"username\": \"$1\", \"password\": \"$2\"}" "$PGRST_URL/rpc/login" | jq -r .access_token
}
