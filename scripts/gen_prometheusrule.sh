#!/usr/bin/env bash
# Generates deploy/kubernetes/prometheusrule.yaml (a Prometheus Operator PrometheusRule) from
# deploy/prometheus/alerts.yml, the one source of truth for pgpulse's rules.
#
#   scripts/gen_prometheusrule.sh           rewrite the committed file
#   scripts/gen_prometheusrule.sh --check   exit 1 (with a diff) when it is out of date
#   scripts/gen_prometheusrule.sh --stdout  print it
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-write}
src=deploy/prometheus/alerts.yml
dst=deploy/kubernetes/prometheusrule.yaml
python=/usr/bin/python3
[ -x "$python" ] || python=python3

generated=$("$python" - "$src" <<'PY'
import sys
import yaml

src = sys.argv[1]
with open(src) as f:
    rules = yaml.safe_load(f)
if not isinstance(rules, dict) or not rules.get("groups"):
    sys.exit(f"{src}: no rule groups")

resource = {
    "apiVersion": "monitoring.coreos.com/v1",
    "kind": "PrometheusRule",
    "metadata": {
        "name": "pgpulse",
        "labels": {
            "app.kubernetes.io/name": "pgpulse",
            "app.kubernetes.io/component": "alerting-rules",
        },
    },
    "spec": {"groups": rules["groups"]},
}


class Dumper(yaml.SafeDumper):
    pass


def represent_str(dumper, value):
    # Multi-line PromQL stays a readable literal block, as in the source file.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


Dumper.add_representer(str, represent_str)
sys.stdout.write(
    "# Generated from deploy/prometheus/alerts.yml by scripts/gen_prometheusrule.sh: do not edit.\n"
    "# If your Prometheus selects rules by label (kube-prometheus-stack: release=<name>), add it\n"
    "# in a kustomize patch rather than here.\n"
)
sys.stdout.write(yaml.dump(resource, Dumper=Dumper, sort_keys=False, width=4096,
                           default_flow_style=False, allow_unicode=True))
PY
)

case "$mode" in
  write|--write)
    printf '%s\n' "$generated" >"$dst"
    echo "wrote $dst" ;;
  --check)
    if ! diff -u "$dst" <(printf '%s\n' "$generated"); then
      echo "$dst is out of date: run scripts/gen_prometheusrule.sh" >&2
      exit 1
    fi
    echo "$dst is in sync with $src" ;;
  --stdout)
    printf '%s\n' "$generated" ;;
  *)
    sed -n '2,8p' "$0"; exit 2 ;;
esac
