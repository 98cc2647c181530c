#!/usr/bin/env python3
"""Checks of deploy/ used by scripts/test_deploy.sh (Debian's python3 and python3-yaml only).

    checks.py rules             alerts.yml: required alerts, labels, annotations, runbook anchors
    checks.py rule-tests        alerts_test.yml: every alert fires somewhere and stays silent somewhere
    checks.py compose FILE      the docker-compose sidecar stack (after `docker-compose config -q`)
    checks.py compose-pgbouncer BASE OVERRIDE
                                the optional PgBouncer override of that stack
    checks.py kubernetes DIR    the Kubernetes manifests (sidecar, Service, ServiceMonitor, rule)
    checks.py kubernetes-pgbouncer DIR OUT
                                the optional PgBouncer overlay, patched onto the base; writes the
                                sidecar's pgpulse.yml to OUT
    checks.py dashboard         the Grafana dashboard and its provisioning
    checks.py dockerfile BIN    the Dockerfile, and its runtime packages against BIN's libraries
    checks.py healthcheck-cmd   print the Dockerfile's HEALTHCHECK command (run by the caller)
    checks.py runbook-sql       print the runbook's read-only SQL, placeholders filled in
    checks.py e2e-rules IN OUT  a copy of alerts.yml with every `for:` set to 0s
    checks.py metrics-documented FILE
                                every metric family of the scrape in FILE has HELP text and a
                                row in docs/metrics.md, and so does every pgpulse_ metric the
                                rules and the dashboard read
    checks.py evaluate URL TARGET SECONDS
                                evaluate every PromQL expression of the rules and the dashboard
                                against Prometheus at URL: each must parse, and each metric
                                selector in it must have returned data (now, or in the last
                                SECONDS); selectors matching $E2E_OPTIONAL_SELECTORS may lack it
    checks.py e2e-alertmanager IN OUT URL
                                the shipped Alertmanager config with every receiver sending to
                                the webhook URL and short group timers
    checks.py webhook PORT FILE a webhook receiver appending each notification to FILE
    checks.py fired URL SECONDS alerts that fired in Prometheus during the last SECONDS
    checks.py firing URL        alerts firing in Prometheus now
    checks.py value URL PROMQL  the first value of an instant query
    checks.py am-alerts URL     alerts an Alertmanager holds now
    checks.py am-inhibited URL  those of them an inhibition rule suppresses now
    checks.py notified FILE ALERTNAME STATUS
                                exit 0 when the webhook got ALERTNAME with STATUS (firing/resolved)
Each prints what it checks and exits non-zero on the first problem it reports.
"""
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ALERTS = os.path.join(ROOT, "deploy/prometheus/alerts.yml")
ALERTS_TEST = os.path.join(ROOT, "deploy/prometheus/alerts_test.yml")
RUNBOOK = os.path.join(ROOT, "docs/runbook.md")
DASHBOARD = os.path.join(ROOT, "deploy/grafana/dashboards/pgpulse.json")
# pgpulse has no public home page: the rules link the runbook the Debian package installs (the
# README says how to point them at a copy of your own).
RUNBOOK_URL = "file:///usr/share/doc/pgpulse/runbook.md#"

# The alerts issue 5 asks for, with the severities it fixes.
REQUIRED_ALERTS = {
    "PostgresDown": {"critical"},
    "PgpulseCollectorFailing": None,
    "PostgresConnectionsNearLimit": {"warning"},
    "PostgresConnectionsExhausted": {"critical"},
    "PostgresConnectionExhaustionForecast": None,
    "PostgresPoolOvercommitted": None,
    "PostgresPoolBudgetExceeded": None,
    "PostgresIdleConnectionLeak": None,
    "PostgresIdleInTransactionStuck": None,
    "PostgresLongRunningQuery": None,
    "PostgresQueriesBlocked": None,
    "PostgresRLSDisabledOnTenantTable": {"critical"},
    "PostgresRLSPolicyRemoved": None,
    "PostgresRLSBypassRole": None,
    "PostgresSeqScanHeavyTable": {"info", "warning"},
    # issue 15
    "PostgresSlowStatement": {"warning"},
    "PostgresStatementLatencyRegression": None,
    "PostgresStatementsEvicting": None,
    # issue 16: PgBouncer targets
    "PgBouncerDown": {"critical"},
    "PgBouncerClientsWaiting": {"warning"},
    "PgBouncerPoolSaturated": None,
    "PgBouncerClientConnectionsNearLimit": None,
    "PgBouncerServerBudgetOverSlots": None,
}

problems = []


def problem(message):
    problems.append(message)
    print("    problem: " + message)


def finish(what):
    if problems:
        print(f"FAILED: {what}: {len(problems)} problem(s)")
        sys.exit(1)
    print(f"    ok: {what}")


def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


def all_rules():
    for group in load_yaml(ALERTS)["groups"]:
        for rule in group["rules"]:
            yield group["name"], rule


def runbook_anchors():
    anchors = set()
    for line in open(RUNBOOK):
        m = re.match(r"#{1,6}\s+(.*?)\s*$", line)
        if m:
            # GitHub's anchors: lowercase, punctuation other than - and _ dropped, spaces to -.
            anchors.add(re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-"))
    return anchors


def duration_seconds(text):
    total = 0
    for number, unit in re.findall(r"(\d+)(ms|[smhdwy])", str(text or "0s")):
        total += int(number) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400,
                                "w": 604800, "y": 31536000}[unit]
    return total


# ---------------------------------------------------------------- rules
def check_rules():
    anchors = runbook_anchors()
    seen = {}
    records = 0
    for group, rule in all_rules():
        if "record" in rule:
            records += 1
            if not re.match(r"^[a-z_]+:[a-z0-9_]+:[a-z0-9_]*$|^[a-z_]+:[a-z0-9_]+$", rule["record"]):
                problem(f"recording rule {rule['record']}: not named level:metric:operations")
            continue
        name = rule["alert"]
        labels = rule.get("labels", {})
        annotations = rule.get("annotations", {})
        severity = labels.get("severity")
        seen.setdefault(name, set()).add(severity)
        if severity not in ("critical", "warning", "info"):
            problem(f"{name}: severity {severity!r} is not critical, warning or info")
        if not labels.get("category"):
            problem(f"{name}: no category label")
        for key in ("summary", "description", "runbook_url"):
            if not str(annotations.get(key, "")).strip():
                problem(f"{name}: no {key} annotation")
        if not re.search(r"\$labels|\$value", str(annotations.get("description", ""))):
            problem(f"{name}: description uses neither $labels nor $value")
        summary = str(annotations.get("summary", ""))
        if "$labels.target" in summary and "$labels.instance" not in summary:
            problem(f"{name}: the summary names the target but not the pgpulse instance (two "
                    "pgpulse may name their targets alike)")
        url = annotations.get("runbook_url", "")
        if url != RUNBOOK_URL + name.lower():
            problem(f"{name}: runbook_url {url!r} is not {RUNBOOK_URL + name.lower()}")
        if name.lower() not in anchors:
            problem(f"{name}: docs/runbook.md has no section '## {name}'")
    for name, severities in REQUIRED_ALERTS.items():
        if name not in seen:
            problem(f"required alert {name} is missing")
        elif severities and not (seen[name] & severities):
            problem(f"{name}: severity {sorted(seen[name])}, expected one of {sorted(severities)}")
    # The runbook's escalation: a warning after a minute, the page after 5.
    down = {rule["labels"]["severity"]: duration_seconds(rule.get("for"))
            for group, rule in all_rules() if rule.get("alert") == "PostgresDown"}
    if down != {"warning": 60, "critical": 300}:
        problem(f"PostgresDown must warn after 1m and page after 5m, not {down}")
    for name in ("PgpulseAuthenticationFailed", "PgpulseRoleConnectionLimit"):
        if name not in seen:
            problem(f"required alert {name} is missing (pgpulse's own login trouble is no outage)")
    print(f"    {len(seen)} alerts, {records} recording rules, each alert with severity, category, "
          "summary, description, runbook_url and a runbook section")
    finish("alerting rules")


def check_rule_tests():
    tests = load_yaml(ALERTS_TEST)
    fires, silent = {}, {}
    for case in tests["tests"]:
        for t in case.get("alert_rule_test", []):
            target = fires if t.get("exp_alerts") else silent
            target.setdefault(t["alertname"], []).append(case.get("name", "?"))
    names = sorted({rule["alert"] for _, rule in all_rules() if "alert" in rule})
    for name in names:
        if name not in fires:
            problem(f"{name}: no test where it fires")
        if name not in silent:
            problem(f"{name}: no test where it stays silent")
    print(f"    {len(names)} alerts, each with a firing and a silent test "
          f"({len(tests['tests'])} test groups)")
    finish("alert unit test coverage")


# ---------------------------------------------------------------- compose
def check_compose(path):
    compose = load_yaml(path)
    services = compose.get("services", {})
    if "version" in compose:
        problem("the obsolete top-level version: key (the Compose Specification has none)")
    grafana_password = str(services.get("grafana", {}).get("environment", {})
                           .get("GF_SECURITY_ADMIN_PASSWORD", ""))
    if not re.fullmatch(r"\$\{GRAFANA_ADMIN_PASSWORD:\?[^}]+\}", grafana_password):
        problem("Grafana's admin password must be required (${GRAFANA_ADMIN_PASSWORD:?...}), "
                f"not defaulted: {grafana_password!r}")
    for name in ("postgres", "pgpulse", "prometheus", "alertmanager", "grafana"):
        if name not in services:
            problem(f"service {name} missing")
    base = os.path.dirname(os.path.abspath(path))

    def mounts(service):
        return [str(v) for v in services.get(service, {}).get("volumes", [])]

    def mounted(service, rel):
        return any(os.path.normpath(os.path.join(base, v.split(":")[0])) == os.path.join(ROOT, rel)
                   for v in mounts(service))

    pg = services.get("postgres", {})
    if not str(pg.get("image", "")).startswith("postgres:15"):
        problem("postgres must run the official postgres:15 image")
    pp = services.get("pgpulse", {})
    if "build" not in pp:
        problem("pgpulse must be built from the Dockerfile (build:)")
    elif os.path.normpath(os.path.join(base, pp["build"].get("context", "."))) != ROOT:
        problem("pgpulse's build context must be the repository root")
    if pp.get("network_mode") != "service:postgres":
        problem("pgpulse must share postgres' network namespace (network_mode: service:postgres)")
    env = pp.get("environment", {})
    if not any(k in env for k in ("PGPULSE_DSN", "DATA_SOURCE_NAME")):
        problem("pgpulse is not given a DSN by environment")
    if not mounted("prometheus", "deploy/prometheus/alerts.yml"):
        problem("prometheus does not mount deploy/prometheus/alerts.yml")
    if not mounted("prometheus", "deploy/prometheus/prometheus.yml"):
        problem("prometheus does not mount deploy/prometheus/prometheus.yml")
    if not mounted("alertmanager", "deploy/alertmanager/alertmanager.yml"):
        problem("alertmanager does not mount deploy/alertmanager/alertmanager.yml")
    if not mounted("grafana", "deploy/grafana/provisioning"):
        problem("grafana does not mount deploy/grafana/provisioning")
    if not mounted("grafana", "deploy/grafana/dashboards"):
        problem("grafana does not mount deploy/grafana/dashboards")
    for service in services.values():
        for v in service.get("volumes", []):
            src = str(v).split(":")[0]
            if src.startswith(".") and not os.path.exists(os.path.join(base, src)):
                problem(f"mounted path {src} does not exist")
    prom = load_yaml(os.path.join(ROOT, "deploy/prometheus/prometheus.yml"))
    jobs = {j["job_name"]: j for j in prom.get("scrape_configs", [])}
    if "pgpulse" not in jobs:
        problem("prometheus.yml has no job named pgpulse (PgpulseDown matches up{job=\"pgpulse\"})")
    else:
        targets = [t for sc in jobs["pgpulse"].get("static_configs", []) for t in sc["targets"]]
        if "postgres:9188" not in targets:
            problem("the pgpulse job must scrape postgres:9188 (the sidecar's network namespace)")
    print("    services postgres:15, pgpulse (built, sidecar netns), prometheus with the rules, "
          "alertmanager, grafana provisioned")
    finish("docker-compose stack")


def check_compose_pgbouncer(base_path, override_path):
    """The optional PgBouncer stack: the override adds PgBouncer in postgres' network namespace
    and points pgpulse at a config that watches both, linked by server:."""
    override = load_yaml(override_path)
    services = override.get("services", {})
    bouncer = services.get("pgbouncer", {})
    if bouncer.get("network_mode") != "service:postgres":
        problem("pgbouncer must share postgres' network namespace (network_mode: service:postgres)")
    base = os.path.dirname(os.path.abspath(override_path))
    context = os.path.join(base, bouncer.get("build", {}).get("context", "."))
    if not os.path.exists(os.path.join(context, "Dockerfile")):
        problem("pgbouncer's build context has no Dockerfile")
    ini_mounts = [str(v) for v in bouncer.get("volumes", []) if "pgbouncer.ini" in str(v)]
    if not ini_mounts:
        problem("pgbouncer does not mount its pgbouncer.ini")
    else:
        ini = open(os.path.join(base, ini_mounts[0].split(":")[0])).read()
        if not re.search(r"^stats_users\s*=\s*pgpulse\b", ini, re.M):
            problem("pgbouncer.ini must list pgpulse in stats_users")
        if not re.search(r"^listen_port\s*=\s*6432\b", ini, re.M):
            problem("pgbouncer.ini must listen on 6432")
    pgpulse = services.get("pgpulse", {})
    env = pgpulse.get("environment", {})
    if env.get("PGPULSE_DSN", None) != "":
        problem("the override must blank PGPULSE_DSN so the config file's targets apply")
    config_path = env.get("PGPULSE_CONFIG", "")
    mounted = [str(v).split(":") for v in pgpulse.get("volumes", [])]
    sources = [m[0] for m in mounted if len(m) > 1 and m[1] == config_path]
    if not sources:
        problem(f"PGPULSE_CONFIG {config_path} is not mounted into pgpulse")
    else:
        config = load_yaml(os.path.join(base, sources[0]))
        targets = {t["name"]: t for t in config.get("targets", [])}
        bouncers = [t for t in targets.values() if t.get("kind") == "pgbouncer"]
        if not bouncers:
            problem("pgpulse's config watches no pgbouncer target")
        for t in bouncers:
            server = targets.get(t.get("server", ""), {})
            if not server or server.get("kind", "postgres") != "postgres":
                problem(f"pgbouncer target {t['name']} does not name a postgres target in server:")
            if "port=6432" not in t.get("dsn", "") or "dbname=pgbouncer" not in t.get("dsn", ""):
                problem(f"pgbouncer target {t['name']} must connect to the console on port 6432")
    base_ports = load_yaml(base_path)["services"]["postgres"].get("ports", [])
    if any("6432" in str(p) for p in base_ports):
        problem("the base stack must not publish PgBouncer's port: it is optional")
    print("    pgbouncer in postgres' network namespace, stats_users pgpulse, pgpulse watching "
          "the server and the PgBouncer linked by server:")
    finish("docker-compose PgBouncer override")


# ---------------------------------------------------------------- kubernetes
def check_kubernetes(directory):
    kustomization = load_yaml(os.path.join(directory, "kustomization.yaml"))
    docs = []
    for resource in kustomization["resources"]:
        path = os.path.join(directory, resource)
        if not os.path.exists(path):
            problem(f"kustomization resource {resource} does not exist")
            continue
        with open(path) as f:
            docs += [d for d in yaml.safe_load_all(f) if d]
    by_kind = {}
    for d in docs:
        for key in ("apiVersion", "kind", "metadata"):
            if key not in d:
                problem(f"a document of {d.get('kind', '?')} has no {key}")
        by_kind.setdefault(d["kind"], []).append(d)
    for kind in ("StatefulSet", "Service", "ServiceMonitor", "PrometheusRule", "ConfigMap", "Secret"):
        if kind not in by_kind:
            problem(f"no {kind}")
    if problems:
        finish("kubernetes manifests")
    workload = by_kind["StatefulSet"][0]
    pod = workload["spec"]["template"]
    containers = {c["name"]: c for c in pod["spec"]["containers"]}
    if set(containers) != {"postgres", "pgpulse"}:
        problem(f"the pod must hold postgres and the pgpulse sidecar, has {sorted(containers)}")
    pgpulse = containers.get("pgpulse", {})
    env = {e["name"]: e.get("value", "") for e in pgpulse.get("env", [])}
    if "127.0.0.1" not in env.get("PGPULSE_DSN", "") and "localhost" not in env.get("PGPULSE_DSN", ""):
        problem("the sidecar must connect over the pod's loopback")
    if "readinessProbe" in pgpulse:
        problem("the sidecar must not have a readiness probe (it would take the database out of "
                "its Service)")
    if pgpulse.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/healthz":
        problem("the sidecar's liveness probe must be /healthz")
    sc = pgpulse.get("securityContext", {})
    if not sc.get("runAsNonRoot") or sc.get("allowPrivilegeEscalation", True):
        problem("the sidecar must run as non-root without privilege escalation")
    ports = {p.get("name"): p["containerPort"] for p in pgpulse.get("ports", [])}
    if ports.get("metrics") != 9188:
        problem("the sidecar must expose port 9188 named metrics")
    pod_labels = pod["metadata"]["labels"]
    if any(pod_labels.get(k) != v for k, v in workload["spec"]["selector"]["matchLabels"].items()):
        problem("the StatefulSet's selector does not match its pod labels")
    volumes = {v["name"]: v for v in pod["spec"].get("volumes", [])}
    for c in containers.values():
        for m in c.get("volumeMounts", []):
            if m["name"] not in volumes and m["name"] not in [t["metadata"]["name"] for t in workload["spec"].get("volumeClaimTemplates", [])]:
                problem(f"container {c['name']} mounts unknown volume {m['name']}")
    configmaps = {d["metadata"]["name"] for d in by_kind["ConfigMap"]}
    secrets = {d["metadata"]["name"] for d in by_kind["Secret"]}
    for v in volumes.values():
        if "configMap" in v and v["configMap"]["name"] not in configmaps:
            problem(f"volume {v['name']} uses unknown ConfigMap {v['configMap']['name']}")
        if "secret" in v and v["secret"]["secretName"] not in secrets:
            problem(f"volume {v['name']} uses unknown Secret {v['secret']['secretName']}")
    metrics_services = [s for s in by_kind["Service"]
                        if any(p.get("targetPort") == "metrics" or p.get("port") == 9188
                               for p in s["spec"]["ports"])]
    if not metrics_services:
        problem("no Service exposes the metrics port")
    monitor = by_kind["ServiceMonitor"][0]
    selected = [s for s in metrics_services
                if all(s["metadata"].get("labels", {}).get(k) == v
                       for k, v in monitor["spec"]["selector"]["matchLabels"].items())]
    if not selected:
        problem("the ServiceMonitor selects no metrics Service")
    for s in selected:
        if any(pod_labels.get(k) != v for k, v in s["spec"]["selector"].items()):
            problem(f"Service {s['metadata']['name']} does not select the PostgreSQL pod")
        port_names = {p["name"] for p in s["spec"]["ports"]}
        for ep in monitor["spec"]["endpoints"]:
            if ep.get("port") not in port_names:
                problem(f"ServiceMonitor endpoint port {ep.get('port')} is not a port of the Service")
        job_label = monitor["spec"].get("jobLabel")
        if s["metadata"].get("labels", {}).get(job_label) != "pgpulse":
            problem("the scrape job must be named pgpulse (jobLabel pointing at a label whose "
                    "value is pgpulse), as PgpulseDown expects")
    rule = by_kind["PrometheusRule"][0]
    if rule["spec"]["groups"] != load_yaml(ALERTS)["groups"]:
        problem("the PrometheusRule's groups differ from deploy/prometheus/alerts.yml")
    print("    StatefulSet with the postgres container and the pgpulse sidecar, metrics Service, "
          "ServiceMonitor selecting it as job pgpulse, PrometheusRule equal to alerts.yml")
    finish("kubernetes manifests")


def _json_pointer(doc, path):
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")]
    for part in parts[:-1]:
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc, (int(parts[-1]) if isinstance(doc, list) else parts[-1])


def check_kubernetes_pgbouncer(directory, out):
    """The optional PgBouncer overlay, without kubectl: its resources, and its JSON 6902 patches
    (test and replace) applied to the base as kustomize would; writes the sidecar's patched
    pgpulse.yml to OUT for `pgpulse --check-config`."""
    kustomization = load_yaml(os.path.join(directory, "kustomization.yaml"))
    docs = []
    for resource in kustomization["resources"]:
        path = os.path.normpath(os.path.join(directory, resource))
        if os.path.isdir(path):
            base = load_yaml(os.path.join(path, "kustomization.yaml"))
            files = [os.path.join(path, r) for r in base["resources"]]
        else:
            files = [path]
        for f in files:
            with open(f) as stream:
                docs += [d for d in yaml.safe_load_all(stream) if d]
    for entry in kustomization.get("patches", []):
        target = entry["target"]
        matches = [d for d in docs if d["kind"] == target["kind"]
                   and d["metadata"]["name"] == target["name"]]
        if len(matches) != 1:
            problem(f"patch target {target} matches {len(matches)} resources")
            continue
        for op in yaml.safe_load(entry["patch"]):
            parent, key = _json_pointer(matches[0], op["path"])
            if op["op"] == "test":
                if parent[key] != op["value"]:
                    problem(f"patch test failed: {op['path']} is {parent[key]!r}, not {op['value']!r}")
            elif op["op"] == "replace":
                parent[key] = op["value"]
            else:
                problem(f"patch op {op['op']} is not checked here")
    by = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    deployment = by.get(("Deployment", "pgbouncer"))
    service = by.get(("Service", "pgbouncer"))
    ini = by.get(("ConfigMap", "pgbouncer-config"), {}).get("data", {}).get("pgbouncer.ini", "")
    if not deployment or not service:
        problem("no pgbouncer Deployment and Service")
    elif service["spec"]["ports"][0]["port"] != 6432:
        problem("the pgbouncer Service must expose 6432")
    if not re.search(r"^stats_users\s*=\s*pgpulse\b", ini, re.M):
        problem("pgbouncer.ini must list pgpulse in stats_users")
    pod = by[("StatefulSet", "postgres")]["spec"]["template"]["spec"]
    containers = {c["name"]: c for c in pod["containers"]}
    if set(containers) != {"postgres", "pgpulse"}:
        problem("the database pod must still hold only postgres and the pgpulse sidecar")
    env = {e["name"]: e.get("value") for e in containers["pgpulse"]["env"]}
    for name in ("PGPULSE_DSN", "PGPULSE_PASSWORD_FILE", "PGPULSE_TARGET_NAME"):
        if env.get(name) != "":
            problem(f"the sidecar's {name} must be blanked so the config file's targets apply")
    config = by[("ConfigMap", "pgpulse-config")]["data"]["pgpulse.yml"]
    targets = {t["name"]: t for t in yaml.safe_load(config).get("targets", [])}
    bouncers = [t for t in targets.values() if t.get("kind") == "pgbouncer"]
    if not bouncers or any(targets.get(b.get("server"), {}).get("kind", "postgres") != "postgres"
                           or b.get("server") not in targets for b in bouncers):
        problem("the sidecar's config must watch a pgbouncer target linked to a postgres target")
    with open(out, "w") as f:
        f.write(config)
    print("    base + pgbouncer Deployment, Service and ini; the sidecar's environment gives way to "
          f"its config's targets: {', '.join(sorted(targets))}")
    finish("kubernetes PgBouncer overlay")


# ---------------------------------------------------------------- dashboard
def dashboard_panels(dashboard):
    for panel in dashboard["panels"]:
        yield panel
        for inner in panel.get("panels", []):
            yield inner


def check_dashboard():
    with open(DASHBOARD) as f:
        dashboard = json.load(f)
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    if "target" not in variables:
        problem("no target template variable")
    if "instance" not in variables:
        problem("no instance template variable (two pgpulse may name their targets alike)")
    elif "$instance" not in json.dumps(variables.get("target", {}).get("query", "")):
        problem("the target variable does not follow $instance")
    if variables.get("datasource", {}).get("type") != "datasource":
        problem("no datasource variable")
    ids = set()
    count = 0
    covered = set()
    cells = {}  # grid cell -> panel title: panels merged from two branches must not overlap
    for panel in dashboard_panels(dashboard):
        if panel["id"] in ids:
            problem(f"duplicate panel id {panel['id']}")
        ids.add(panel["id"])
        grid = panel.get("gridPos", {})
        for y in range(grid.get("y", 0), grid.get("y", 0) + grid.get("h", 0)):
            for x in range(grid.get("x", 0), grid.get("x", 0) + grid.get("w", 0)):
                if (x, y) in cells and cells[(x, y)] != panel["title"]:
                    problem(f"panel {panel['title']!r} overlaps {cells[(x, y)]!r}")
                    break
                cells[(x, y)] = panel["title"]
            else:
                continue
            break
        if panel["type"] == "row":
            covered.add(panel["title"].lower())
            continue
        count += 1
        title = panel.get("title", "").strip()
        if not title:
            problem(f"panel {panel['id']} has no title")
        if not panel.get("description", "").strip():
            problem(f"panel {title!r} has no description")
        if not panel.get("fieldConfig", {}).get("defaults", {}).get("unit"):
            problem(f"panel {title!r} has no unit")
        if "gridPos" not in panel:
            problem(f"panel {title!r} has no gridPos")
        targets = panel.get("targets", [])
        if not targets:
            problem(f"panel {title!r} has no query")
        for t in targets:
            uses_target = "$target" in t.get("expr", "") or "${target}" in t.get("expr", "")
            if "$instance" not in t.get("expr", ""):
                problem(f"panel {title!r}: query {t.get('expr')!r} ignores $instance")
            unlabelled = re.match(r"^(up\{|pgpulse_build_info|pgpulse_config_last_reload)", t.get("expr", ""))
            if not uses_target and not unlabelled:
                problem(f"panel {title!r}: query {t.get('expr')!r} ignores $target")
            if t.get("datasource", {}).get("uid") != "${datasource}":
                problem(f"panel {title!r}: query does not use the $datasource variable")
    for topic in ("saturation", "forecast", "state", "application", "idle", "leak", "queries",
                  "transaction", "blocking", "statements", "pool", "row-level security",
                  "collector health", "pgbouncer"):
        if not any(topic in row for row in covered):
            problem(f"no row about {topic}")
    provisioning = os.path.join(ROOT, "deploy/grafana/provisioning")
    ds = load_yaml(os.path.join(provisioning, "datasources/prometheus.yml"))
    if not any(d.get("type") == "prometheus" for d in ds.get("datasources", [])):
        problem("no Prometheus data source provisioned")
    dp = load_yaml(os.path.join(provisioning, "dashboards/pgpulse.yml"))
    paths = [p["options"]["path"] for p in dp.get("providers", [])]
    compose = load_yaml(os.path.join(ROOT, "deploy/docker-compose.yml"))
    grafana_mounts = [str(v) for v in compose["services"]["grafana"].get("volumes", [])]
    if not any(v.startswith("./grafana/dashboards:" + p) for v in grafana_mounts for p in paths):
        problem("the dashboard provider's path is not where docker-compose mounts the dashboards")
    print(f"    {count} panels, each with a title, a description, a unit, $instance and $target; rows: "
          + ", ".join(sorted(covered)))
    finish("grafana dashboard")


# ---------------------------------------------------------------- dockerfile
def dockerfile_instructions():
    text = open(os.path.join(ROOT, "Dockerfile")).read()
    text = re.sub(r"\\\n", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def check_dockerfile(binary):
    instructions = dockerfile_instructions()
    stages = [rest for word, rest in instructions if word == "FROM"]
    if len(stages) < 2:
        problem("not multi-stage")
    if not all(re.match(r"debian:12(\b|-)", s) for s in stages):
        problem(f"stages not all Debian 12: {stages}")
    last_from = max(i for i, (w, _) in enumerate(instructions) if w == "FROM")
    build = instructions[:last_from]
    runtime = instructions[last_from:]
    if not any(w == "RUN" and "scripts/setup.sh" in r for w, r in build):
        problem("the build stage does not run scripts/setup.sh")
    # The packages in a layer of their own, before the sources: a code change must not
    # reinstall them.
    copy_all = next((i for i, (w, r) in enumerate(build) if w == "COPY" and r.split()[0] == "."), None)
    deps = next((i for i, (w, r) in enumerate(build) if w == "RUN" and "--deps-only" in r), None)
    if copy_all is None or deps is None or deps > copy_all:
        problem("the build stage must install its packages (scripts/setup.sh --deps-only) "
                "before COPY . .")
    elif any(w == "COPY" and r.split()[0] == "." for w, r in build[:deps]):
        problem("the package layer depends on the whole source tree")
    labels = " ".join(r for w, r in runtime if w == "LABEL")
    for key in ("title", "description", "version", "revision", "licenses"):
        if f"org.opencontainers.image.{key}=" not in labels:
            problem(f"no OCI label org.opencontainers.image.{key}")
    version = re.search(r"project\(pgpulse VERSION (\S+)",
                        open(os.path.join(ROOT, "CMakeLists.txt")).read()).group(1)
    if not any(w == "ARG" and r == f"PGPULSE_VERSION={version}" for w, r in runtime):
        problem(f"ARG PGPULSE_VERSION is not {version}, the version in CMakeLists.txt")
    if not any(w == "COPY" and "--from=" in r for w, r in runtime):
        problem("the runtime stage does not copy the binary from the build stage")
    users = [r for w, r in runtime if w == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        problem("the runtime stage does not switch to a non-root USER")
    if not any(w == "EXPOSE" and "9188" in r for w, r in runtime):
        problem("no EXPOSE 9188")
    if not any(w == "HEALTHCHECK" and "/healthz" in r for w, r in runtime):
        problem("no HEALTHCHECK on /healthz")
    if not any(w == "ENV" and "PGPULSE_WEB_LISTEN_ADDRESS" in r for w, r in runtime):
        problem("PGPULSE_WEB_LISTEN_ADDRESS is not set by environment")
    if not any(w == "ENTRYPOINT" for w, _ in runtime):
        problem("no ENTRYPOINT")
    packages = set()
    for w, r in runtime:
        if w == "RUN" and "apt-get install" in r:
            # Every package name, not only lib*: zlib1g is one (options start with "-").
            packages |= set(re.findall(r"(?<![\w.+-])([a-z0-9][a-z0-9.+-]+)",
                                       r.split("apt-get install", 1)[1].split("&&")[0]))
    base = {"libc6", "libstdc++6", "libgcc-s1"}
    needed = subprocess.run(["objdump", "-p", binary], capture_output=True, text=True, check=True).stdout
    for lib in re.findall(r"NEEDED\s+(\S+)", needed):
        path = subprocess.run(["bash", "-c", f"ldconfig -p | awk '$1 == \"{lib}\" {{print $NF; exit}}'"],
                              capture_output=True, text=True).stdout.strip()
        owner = ""
        for candidate in ([path, os.path.realpath(path)] if path else []) + ["*/" + lib]:
            found = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            if found.returncode == 0:
                owner = found.stdout.splitlines()[0].split(":")[0].strip()
                break
        if owner not in packages | base:
            problem(f"{lib} (package {owner or '?'}) is not installed in the runtime stage")
    print(f"    multi-stage Debian 12, builds with scripts/setup.sh, runtime packages "
          f"{' '.join(sorted(packages))} cover the binary's libraries, USER {users[-1] if users else '?'}, "
          "EXPOSE 9188, HEALTHCHECK /healthz")
    ignore = open(os.path.join(ROOT, ".dockerignore")).read()
    if "build" not in ignore:
        problem(".dockerignore does not exclude the build directories")
    finish("Dockerfile")


def healthcheck_cmd():
    for word, rest in dockerfile_instructions():
        if word == "HEALTHCHECK":
            cmd = json.loads(rest[rest.index("CMD") + 3:].strip())
            print(cmd[-1])
            return
    sys.exit("no HEALTHCHECK")


# ---------------------------------------------------------------- runbook SQL
def runbook_sql():
    text = open(RUNBOOK).read()
    subs = {"ROOT_PID": "pg_backend_pid()", "PID": "pg_backend_pid()", "'APP'": "'e2e-idle'",
            "'LEAKING_APP'": "'e2e-idle'", "'DBNAME'": "'postgres'", "'TABLE'": "'e2e_tenant_open'",
            "'SCHEMA'": "'public'", "'pgpulse'": "current_user"}
    count = 0
    for block in re.findall(r"```sql\n(.*?)```", text, re.S):
        if re.search(r"pg_terminate_backend|pg_cancel_backend|\bCREATE |\bALTER |BEGIN;|\bGRANT ", block):
            continue  # changes state: not run
        for key, value in subs.items():
            block = re.sub(r"(?<![\w'])" + re.escape(key) + r"(?![\w'])", value, block)
        print("BEGIN READ ONLY;\nSET LOCAL lock_timeout = '2s';\nSET LOCAL statement_timeout = '10s';\n"
              + block + "ROLLBACK;")
        count += 1
    print(f"\\echo runbook: {count} read-only SQL blocks ran")


# ---------------------------------------------------------------- e2e rules
def e2e_rules(src, dst):
    rules = load_yaml(src)
    for group in rules["groups"]:
        group["interval"] = "1s"
        for rule in group["rules"]:
            if "alert" in rule:
                rule["for"] = "0s"
    with open(dst, "w") as f:
        yaml.safe_dump(rules, f, sort_keys=False)


# ---------------------------------------------------------------- PromQL
AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
                "bottomk", "topk", "quantile"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
            "unless", "offset", "inf", "nan"}


def _match(expr, i, open_, close):
    depth, j = 0, i
    while j < len(expr):
        c = expr[j]
        if c in "\"'`":
            j = _skip_string(expr, j)
            continue
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return j
        j += 1
    raise ValueError(f"unbalanced {open_} in {expr!r}")


def _skip_string(expr, i):
    quote, j = expr[i], i + 1
    while j < len(expr):
        if expr[j] == "\\" and quote != "`":
            j += 2
            continue
        if expr[j] == quote:
            return j + 1
        j += 1
    raise ValueError(f"unterminated string in {expr!r}")


def selectors(expr):
    """The instant-vector selectors (metric name and matchers) an expression reads."""
    out, i, n = [], 0, len(expr)
    while i < n:
        c = expr[i]
        if c in "\"'`":
            i = _skip_string(expr, i)
        elif c == "#":
            while i < n and expr[i] != "\n":
                i += 1
        elif c == "[":
            i = expr.index("]", i) + 1
        elif c == "{":
            j = _match(expr, i, "{", "}")
            out.append(expr[i:j + 1])
            i = j + 1
        elif c.isalpha() or c in "_:":
            name = re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", expr[i:]).group(0)
            j = i + len(name)
            k = j
            while k < n and expr[k].isspace():
                k += 1
            if name in KEYWORDS:
                if name in ("by", "without", "on", "ignoring", "group_left", "group_right") and k < n and expr[k] == "(":
                    i = _match(expr, k, "(", ")") + 1
                elif name == "offset":
                    i = k + len(re.match(r"-?[0-9a-z]+", expr[k:]).group(0))
                else:
                    i = j
                continue
            if name in AGGREGATIONS or (k < n and expr[k] == "("):
                i = j
                continue
            selector = name
            if k < n and expr[k] == "{":
                e = _match(expr, k, "{", "}")
                selector += expr[k:e + 1]
                j = e + 1
            out.append(selector)
            i = j
        elif c.isdigit() or c == ".":
            m = re.match(r"0x[0-9a-fA-F]+|(?:[0-9]+(?:ms|[smhdwy]))+|[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?", expr[i:])
            i += len(m.group(0)) if m and m.group(0) else 1
        else:
            i += 1
    return out


def grafana_expr(expr, target):
    expr = re.sub(r"\$\{target(:[a-z]+)?\}|\$target\b|\[\[target\]\]", target, expr)
    expr = re.sub(r"\$\{instance(:[a-z]+)?\}|\$instance\b|\[\[instance\]\]", ".+", expr)
    for var, value in (("__rate_interval", "1m"), ("__interval", "15s"), ("__range", "5m")):
        expr = expr.replace("${" + var + "}", value).replace("$" + var, value)
    m = re.match(r"^\s*label_values\((.*),\s*\w+\s*\)\s*$", expr)
    if m:
        expr = m.group(1)
    return expr


def expressions(target):
    out = []
    for group, rule in all_rules():
        out.append((f"rule {rule.get('alert') or rule.get('record')}", rule["expr"]))
    with open(DASHBOARD) as f:
        dashboard = json.load(f)
    for panel in dashboard_panels(dashboard):
        for t in panel.get("targets", []):
            out.append((f"panel {panel['title']!r}", grafana_expr(t["expr"], target)))
    for v in dashboard["templating"]["list"]:
        if v["type"] == "query":
            q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            out.append((f"variable ${v['name']}", grafana_expr(q, target)))
    for a in dashboard.get("annotations", {}).get("list", []):
        if a.get("expr"):
            out.append((f"annotation {a['name']!r}", grafana_expr(a["expr"], target)))
    return out


def metrics_documented(scrape_file):
    with open(os.path.join(ROOT, "docs/metrics.md")) as f:
        documented = set(re.findall(r"`((?:pgpulse|process)_[a-z0-9_]+)", f.read()))
    helps, samples = {}, set()
    for line in open(scrape_file, encoding="utf-8", errors="replace"):
        m = re.match(r"# HELP (\S+) ?(.*)", line)
        if m:
            helps[m.group(1)] = m.group(2).strip()
        elif line.strip() and not line.startswith("#"):
            samples.add(re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line).group(0))
    if not helps:
        problem(f"no metric families in {scrape_file}")

    def family(sample):  # histogram and summary series belong to their family's HELP
        for suffix in ("_bucket", "_sum", "_count", ""):
            if sample.endswith(suffix) and sample[: len(sample) - len(suffix)] in helps:
                return sample[: len(sample) - len(suffix)]
        return None

    for sample in sorted(samples):
        if family(sample) is None:
            problem(f"{sample}: a sample without HELP")
    for name, text in sorted(helps.items()):
        if not text:
            problem(f"{name}: empty HELP text")
        if name not in documented:
            problem(f"{name}: exposed but not in docs/metrics.md")
    read = set()
    for _, expr in expressions("e2e"):
        for selector in selectors(expr):
            name = re.match(r"[A-Za-z_:]*", selector).group(0)
            if name.startswith("pgpulse_"):
                read.add(re.sub(r"_(bucket|sum|count)$", "", name) if name not in documented else name)
    for name in sorted(read - documented):
        problem(f"{name}: read by a rule or the dashboard but not in docs/metrics.md")
    finish(f"{len(helps)} metric families exposed, {len(read)} read by rules and dashboard, all documented")


def query(url, promql):
    data = urllib.parse.urlencode({"query": promql, "time": f"{time.time():.3f}"}).encode()
    try:
        with urllib.request.urlopen(url + "/api/v1/query", data=data, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        return json.load(e)


def evaluate(url, target, lookback):
    exprs = expressions(target)
    checked, live, earlier = {}, 0, 0
    for where, expr in exprs:
        answer = query(url, expr)
        if answer.get("status") != "success":
            problem(f"{where}: {answer.get('errorType')}: {answer.get('error')}\n        {expr.strip()}")
            continue
        for sel in selectors(expr):
            if sel in checked:
                if not checked[sel]:
                    problem(f"{where}: selector {sel} returned no data")
                continue
            now = query(url, sel)
            has = now.get("status") == "success" and bool(now["data"]["result"])
            if has:
                live += 1
            else:
                before = query(url, f"last_over_time({sel}[{lookback}s])")
                has = before.get("status") == "success" and bool(before["data"]["result"])
                if has:
                    earlier += 1
                    print(f"    note: {sel} has no sample now but had data during the run")
            optional = os.environ.get("E2E_OPTIONAL_SELECTORS")
            if not has and optional and re.match(optional, sel):
                print(f"    note: {sel} has no data (tolerated: its collector is not in this build)")
                has = True
            checked[sel] = has
            if not has:
                problem(f"{where}: selector {sel} returned no data")
    print(f"    {len(exprs)} expressions parsed ({sum(1 for w, _ in exprs if w.startswith('rule'))} "
          f"from the rules, the rest from the dashboard); {len(checked)} distinct selectors: "
          f"{live} with data now, {earlier} with data earlier in the run")
    finish("every PromQL expression against a real Prometheus")


# ---------------------------------------------------------------- e2e helpers
def e2e_alertmanager(src, dst, url):
    config = load_yaml(src)

    def shorten(route):
        for key, value in (("group_wait", "1s"), ("group_interval", "1s")):
            if key in route or route is config["route"]:
                route[key] = value
        for child in route.get("routes", []):
            shorten(child)

    shorten(config["route"])
    for receiver in config["receivers"]:
        receiver["webhook_configs"] = [{"url": url, "send_resolved": True}]
    with open(dst, "w") as f:
        yaml.safe_dump(config, f, sort_keys=False)


def webhook(port, path):
    import http.server

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with open(path, "a") as f:
                f.write(json.dumps(json.loads(body)) + "\n")
            self.send_response(200)
            self.end_headers()

        def do_GET(self):
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    http.server.HTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()


def names(answer):
    return sorted({r["metric"].get("alertname", "?") for r in answer.get("data", {}).get("result", [])})


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    command, args = sys.argv[1], sys.argv[2:]
    if command == "rules":
        check_rules()
    elif command == "rule-tests":
        check_rule_tests()
    elif command == "compose":
        check_compose(args[0])
    elif command == "compose-pgbouncer":
        check_compose_pgbouncer(args[0], args[1])
    elif command == "kubernetes-pgbouncer":
        check_kubernetes_pgbouncer(args[0], args[1])
    elif command == "kubernetes":
        check_kubernetes(args[0])
    elif command == "dashboard":
        check_dashboard()
    elif command == "dockerfile":
        check_dockerfile(args[0])
    elif command == "healthcheck-cmd":
        healthcheck_cmd()
    elif command == "runbook-sql":
        runbook_sql()
    elif command == "metrics-documented":
        metrics_documented(args[0])
    elif command == "e2e-rules":
        e2e_rules(args[0], args[1])
    elif command == "expressions":
        for where, expr in expressions(args[0] if args else "e2e"):
            print(f"{where}: {' '.join(expr.split())}\n    selectors: {selectors(expr)}")
    elif command == "evaluate":
        evaluate(args[0], args[1], args[2] if len(args) > 2 else 600)
    elif command == "e2e-alertmanager":
        e2e_alertmanager(args[0], args[1], args[2])
    elif command == "webhook":
        webhook(args[0], args[1])
    elif command == "fired":
        print(" ".join(names(query(args[0], f'max_over_time(ALERTS{{alertstate="firing"}}[{args[1]}s])'))))
    elif command == "value":
        result = query(args[0], args[1]).get("data", {}).get("result", [])
        print(result[0]["value"][1] if result else "none")
    elif command == "firing":
        print(" ".join(names(query(args[0], 'ALERTS{alertstate="firing"}'))))
    elif command == "am-alerts":
        with urllib.request.urlopen(args[0] + "/api/v2/alerts", timeout=10) as r:
            print(" ".join(sorted({a["labels"]["alertname"] for a in json.load(r)})))
    elif command == "am-inhibited":
        with urllib.request.urlopen(args[0] + "/api/v2/alerts", timeout=10) as r:
            print(" ".join(sorted({a["labels"]["alertname"] for a in json.load(r)
                                   if a.get("status", {}).get("inhibitedBy")})))
    elif command == "notified":
        seen = False
        if os.path.exists(args[0]):
            for line in open(args[0]):
                for alert in json.loads(line).get("alerts", []):
                    if alert["labels"].get("alertname") == args[1] and alert.get("status") == args[2]:
                        seen = True
        sys.exit(0 if seen else 1)
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
