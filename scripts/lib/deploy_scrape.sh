# shellcheck shell=bash
# Sourced by scripts/test_deploy.sh: /metrics in each format and encoding, read with curl and by
# the real Prometheus of the live checks.
# shellcheck disable=SC2154 # CHECKS, SCRAPE, pgpulse_url, prom_url and work are the caller's

# What Prometheus 2.42 sends.
PROMETHEUS_ACCEPT='application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'

# curl_metrics NAME [HEADER...]: the body in $work/NAME.body, the headers in $work/NAME.headers.
curl_metrics() {
  local name=$1 header args=()
  shift
  for header in "$@"; do args+=(-H "$header"); done
  curl -sfS "${args[@]}" -D "$work/$name.headers" -o "$work/$name.body" "$pgpulse_url/metrics"
}
has_header() { grep -qi "^$2: $3" "$work/$1.headers" || { echo "$1: no '$2: $3'"; return 1; }; }

formats_ok() {
  curl_metrics text || return 1
  has_header text Content-Type 'text/plain; version=0.0.4' || return 1
  ! grep -qi '^Content-Encoding' "$work/text.headers" || { echo "text: compressed unasked"; return 1; }
  promtool check metrics <"$work/text.body" || return 1
  echo "text: $(wc -c <"$work/text.body") bytes, promtool check metrics: clean"

  curl_metrics gzip 'Accept-Encoding: gzip' || return 1
  has_header gzip Content-Encoding gzip && has_header gzip Vary 'Accept, Accept-Encoding' || return 1
  gunzip -c "$work/gzip.body" >"$work/gzip.text" || return 1
  promtool check metrics <"$work/gzip.text" || return 1
  echo "gzip: $(wc -c <"$work/gzip.body") bytes ($(wc -c <"$work/gzip.text") unpacked), promtool: clean"

  curl_metrics om "Accept: $PROMETHEUS_ACCEPT" || return 1
  has_header om Content-Type 'application/openmetrics-text; version=1.0.0; charset=utf-8' || return 1
  "${SCRAPE[@]}" openmetrics "$work/om.body" || return 1

  curl_metrics omgz "Accept: $PROMETHEUS_ACCEPT" 'Accept-Encoding: gzip' || return 1
  has_header omgz Content-Encoding gzip || return 1
  gunzip -c "$work/omgz.body" >"$work/omgz.text" && "${SCRAPE[@]}" openmetrics "$work/omgz.text"
}

# scraped_ok JOB LOG CONTENT_TYPE ENCODING: the proxy in front of JOB saw pgpulse answer with that
# type and encoding, and Prometheus parsed the scrape (up 1, hundreds of samples).
scraped_ok() {
  local up samples
  "${SCRAPE[@]}" proxied "$2" "$3" "$4" || { echo "no $3 ($4) response went through"; return 1; }
  up=$("${CHECKS[@]}" value "$prom_url" "up{job=\"$1\"}")
  samples=$("${CHECKS[@]}" value "$prom_url" "scrape_samples_scraped{job=\"$1\"}")
  echo "Prometheus job $1: up $up, $samples samples in the last scrape"
  [ "$up" = 1 ] && [ "${samples%.*}" -gt 100 ] 2>/dev/null
}

# Ready is not scraping: Prometheus applies its targets up to 5 s later. The counters the trouble
# moves (deadlocks) need a sample from before it, or increase() sees no change.
prom_has_deadlock_counter() {
  [ "$("${CHECKS[@]}" value "$prom_url" 'count(pgpulse_database_deadlocks_total{target="e2e"})')" != none ]
}
wait_for_first_scrape() {
  wait_for 30 "Prometheus' first scrape of pgpulse" prom_has_deadlock_counter ||
    { echo "Prometheus never scraped pgpulse" >&2; return 1; }
}

metrics_documented_ok() {
  curl -sf "$pgpulse_url/metrics" >"$work/scrape.txt" && "${CHECKS[@]}" metrics-documented "$work/scrape.txt"
}
