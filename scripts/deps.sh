#!/usr/bin/env bash
# Install the Debian packages movierec needs, only those that are missing.
# Runs apt-get as root; as another user it only reports what is missing.
set -euo pipefail

PKGS=(
  build-essential postgresql-15 postgresql-server-dev-15 postgresql-contrib
  libopenblas0-pthread libopenblas-dev liblapack-dev
  postgresql-15-cron postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl
  curl
)
[ -n "${MR_EXTRA_PKGS:-}" ] && PKGS+=(${MR_EXTRA_PKGS})

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

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
