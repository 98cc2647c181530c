# shellcheck shell=bash
# Sourced by the scripts: ensure_packages PACKAGE... installs, with apt-get, those not installed
# yet. apt-get runs only when something is missing, so the scripts are cheap to run again.
# Debian packages such as postgresql and prometheus-postgres-exporter would start a service on
# install; the scripts never use those, they start their own servers on private ports.
ensure_packages() {
  local missing=() package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$package")
  done
  [ "${#missing[@]}" -gt 0 ] || return 0
  echo "==> installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}
