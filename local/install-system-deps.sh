#!/usr/bin/env bash
# The real PostgreSQL 15 with pgaudit behind the emulated Aurora clusters.
set -euo pipefail
needed=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || needed+=(postgresql-15)
[ -f /usr/lib/postgresql/15/lib/pgaudit.so ] || needed+=(postgresql-15-pgaudit)
[ ${#needed[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${needed[*]} (Debian packages)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${needed[@]}" >/dev/null
else
  echo "missing: ${needed[*]}. Install them with: sudo apt-get install ${needed[*]}" >&2
  exit 1
fi
