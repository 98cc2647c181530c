# shellcheck shell=bash
# Sourced by scripts/test_deploy.sh: the systemd unit and the Debian package. `deb` is the package
# scripts/build_deb.sh built (or PGPULSE_DEB), `work` the scratch directory, BIN the dev build.
# shellcheck disable=SC2154 # BIN, BUILD_DIR, PYTHON, deb and work are the caller's

# The version CMakeLists.txt declares.
project_version() { sed -n 's/^project(pgpulse VERSION \([^ ]*\) .*/\1/p' CMakeLists.txt; }

unit_ok() {
  local unit=deploy/systemd/pgpulse.service out directive
  # shellcheck disable=SC2016 # literal $MAINPID, as in the unit
  for directive in 'DynamicUser=yes' 'ProtectSystem=strict' 'NoNewPrivileges=yes' \
    'EnvironmentFile=-/etc/default/pgpulse' 'ExecReload=/bin/kill -HUP $MAINPID' \
    'ExecStart=/usr/bin/pgpulse --config /etc/pgpulse/pgpulse.yml'; do
    grep -qF -- "$directive" "$unit" || { echo "missing: $directive"; return 1; }
  done
  # verify needs the binary where ExecStart says: point it at the build.
  sed "s#/usr/bin/pgpulse#$BIN#" "$unit" >"$work/pgpulse.service"
  out=$(systemd-analyze verify "$work/pgpulse.service" 2>&1) || { echo "$out"; return 1; }
  if [ -n "$out" ]; then echo "$out"; return 1; fi
  echo "systemd-analyze verify: clean"
  out=$(systemd-analyze security --offline=yes "$work/pgpulse.service" 2>&1 | grep 'Overall exposure') ||
    return 0
  echo "$out"
  "$PYTHON" -c 'import re, sys; sys.exit(float(re.search(r"level for \S+: ([0-9.]+)", sys.argv[1]).group(1)) > 2.5)' "$out"
}

package_ok() {
  local contents path
  [ -f "$deb" ] || { echo "no package (scripts/build_deb.sh failed, see above)"; return 1; }
  echo "package: $(basename "$deb")"
  [ "$(dpkg-deb -f "$deb" Version)" = "$(project_version)" ] ||
    { echo "Version $(dpkg-deb -f "$deb" Version) is not $(project_version)"; return 1; }
  contents=$(dpkg-deb -c "$deb")
  for path in ./usr/bin/pgpulse ./usr/lib/systemd/system/pgpulse.service ./etc/pgpulse/pgpulse.yml \
    ./etc/default/pgpulse ./usr/share/doc/pgpulse/runbook.md ./usr/share/pgpulse/alerts.yml \
    ./usr/share/man/man1/pgpulse.1.gz ./usr/share/doc/pgpulse/copyright \
    ./usr/share/doc/pgpulse/changelog.gz ./usr/share/doc/pgpulse/CHANGELOG.md; do
    grep -qE " ${path//./\\.}\$" <<<"$contents" || { echo "not in the package: $path"; return 1; }
    echo "contains $path"
  done
  echo "Depends: $(dpkg-deb -f "$deb" Depends)"
  dpkg-deb -f "$deb" Depends | grep -q libpq5 || { echo "Depends lacks libpq5"; return 1; }
  dpkg-deb -I "$deb" conffiles | grep -qx /etc/pgpulse/pgpulse.yml ||
    { echo "/etc/pgpulse/pgpulse.yml is not a conffile"; return 1; }
}

# No error and no warning; info, pedantic and experimental tags are shown, not counted.
lintian_ok() {
  local out
  [ -f "$deb" ] || { echo "no package"; return 1; }
  out=$(lintian --info --display-info --pedantic "$deb" 2>&1) || true
  echo "${out:-lintian: no tags}"
  ! grep -qE '^[EW]: ' <<<"$out"
}

# The package in a scratch root (dpkg-deb -x, as dpkg would unpack it, without touching this
# system): its binary, its configuration, its man page and its unit.
installed_ok() {
  local root=$work/root out version name
  [ -f "$deb" ] || { echo "no package"; return 1; }
  rm -rf "$root" && mkdir -p "$root" && dpkg-deb -x "$deb" "$root"
  out=$("$root/usr/bin/pgpulse" --version) || { echo "$out"; return 1; }
  echo "$out"
  version=$(project_version)
  [[ $out == "pgpulse $version "* ]] || { echo "not version $version"; return 1; }
  out=$("$root/usr/bin/pgpulse" --check-config --config "$root/etc/pgpulse/pgpulse.yml" 2>&1) ||
    { echo "$out"; return 1; }
  echo "$out"
  # The packaged target is named after this machine, not "local" on every host.
  name="$(hostname):5432/postgres"
  grep -qF "target $name:" <<<"$out" || { echo "the packaged target is not named $name"; return 1; }
  out=$(MANWIDTH=80 man --warnings -l "$root/usr/share/man/man1/pgpulse.1.gz" 2>&1 >/dev/null)
  [ -z "$out" ] || { echo "man: $out"; return 1; }
  # Rendered, not the roff source: help2man bolds part of a flag and escapes its dashes. Read
  # whole first: grep -q ending the pipe early would fail man with SIGPIPE under pipefail.
  out=$(MANWIDTH=200 LC_ALL=C man -l "$root/usr/share/man/man1/pgpulse.1.gz" 2>/dev/null | col -b)
  grep -qF -- '--[no-]collector.idle-trend' <<<"$out" ||
    { echo "the man page does not list --collector.idle-trend"; return 1; }
  echo "man page: renders without warnings, lists every flag"
  if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "systemd-analyze is not installed: the installed unit is not verified"
    return 0
  fi
  # The unit as installed, with ExecStart pointing into the scratch root.
  sed "s#/usr/bin/pgpulse#$root/usr/bin/pgpulse#" "$root/usr/lib/systemd/system/pgpulse.service" \
    >"$work/installed-pgpulse.service"
  out=$(systemd-analyze verify "$work/installed-pgpulse.service" 2>&1) || { echo "$out"; return 1; }
  [ -z "$out" ] || { echo "$out"; return 1; }
  echo "systemd-analyze verify of the installed unit: clean"
}

# `cmake --install` of the dev build installs the man page too.
cmake_install_ok() {
  local dest=$work/cmake-install
  DESTDIR=$dest cmake --install "$BUILD_DIR" --prefix /usr >/dev/null || return 1
  [ -s "$dest/usr/share/man/man1/pgpulse.1.gz" ] || { echo "no usr/share/man/man1/pgpulse.1.gz"; return 1; }
  [ -x "$dest/usr/bin/pgpulse" ] || { echo "no usr/bin/pgpulse"; return 1; }
  echo "installed: $(cd "$dest" && find . -type f | sort | tr '\n' ' ')"
}

# The installed binary against the test server: pgpulse check exits 0, 1 or 2 (3: could not run).
installed_check_ok() {
  local rc=0 out
  out=$(PGPASSWORD=$1 "$work/root/usr/bin/pgpulse" check --dsn "$2" --target-name installed 2>&1) ||
    rc=$?
  printf '%s\n' "$out" | head -15
  echo "exit status $rc"
  [ "$rc" -le 2 ] && grep -q installed <<<"$out"
}
