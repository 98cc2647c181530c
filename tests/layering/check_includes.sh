#!/usr/bin/env bash
# The layers of docs/architecture.md, checked on the sources: each folder includes only the layers
# below it, and only collectors/pg/ includes libpq. CMake enforces the same at link time (one
# library per layer); this names the offending line before anything links.
#
#   tests/layering/check_includes.sh SOURCE_DIR
set -euo pipefail
cd "${1:-$(dirname "$0")/../..}"

# layer -> project folders it may include (itself included)
declare -A allowed=(
  [config]="config"
  [core]="core config"
  [collectors/pg]="collectors/pg"
  [collectors]="collectors collectors/pg core config"
  [analysis]="analysis core config"
  [exporter]="exporter analysis core config"
  [daemon]="daemon exporter analysis collectors collectors/pg core config"
)
failures=0
for layer in "${!allowed[@]}"; do
  while IFS= read -r -d '' file; do
    # the innermost layer a file belongs to: collectors/pg files are not "collectors"
    [ "$layer" = collectors ] && [[ $file == collectors/pg/* ]] && continue
    while IFS= read -r line; do
      target=${line#*\"}
      target=${target%%\"*}
      folder=${target%/*}
      case "$folder" in
        config | core | core/details | collectors | collectors/pg | analysis | exporter | daemon) ;;
        *) continue ;;  # generated headers (pgpulse_version.hpp) and the like
      esac
      [ "$folder" = core/details ] && folder=core
      ok=""
      for permitted in ${allowed[$layer]}; do [ "$folder" = "$permitted" ] && ok=1; done
      if [ -z "$ok" ]; then
        echo "$file: includes $target: $layer may include only: ${allowed[$layer]}" >&2
        failures=$((failures + 1))
      fi
    done < <(grep -E '^#include "' "$file" || true)
    if [ "$layer" != collectors/pg ] && grep -qE '^#include [<"]libpq-fe\.h[>"]' "$file"; then
      echo "$file: includes libpq-fe.h: only collectors/pg/ may" >&2
      failures=$((failures + 1))
    fi
  done < <(find "$layer" -maxdepth 2 \( -name '*.cpp' -o -name '*.hpp' \) -print0)
done
if [ "$failures" -gt 0 ]; then
  echo "$failures include(s) point the wrong way" >&2
  exit 1
fi
echo "layering: every include points down"
