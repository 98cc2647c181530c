#!/usr/bin/env python3
"""The /metrics formats, for scripts/test_deploy.sh (Debian's python3 and python3-prometheus-client).

    scrape_checks.py openmetrics FILE
                        FILE parses with prometheus_client's OpenMetrics parser (strict: # EOF,
                        counter families without _total, one block per family) and has
                        pgpulse's families
    scrape_checks.py proxy PORT UPSTREAM MODE LOG
                        an HTTP proxy to UPSTREAM (http://host:port) for Prometheus to scrape;
                        MODE pass forwards Prometheus' own Accept and Accept-Encoding, MODE text
                        asks for the text format, uncompressed. Each exchange is a JSON line in
                        LOG: the request's Accept, Accept-Encoding and the response's status,
                        Content-Type and Content-Encoding
    scrape_checks.py proxied LOG CONTENT_TYPE_PREFIX ENCODING
                        exit 0 when LOG has a 200 response of that type and encoding ("identity"
                        for none), 1 otherwise; prints what LOG holds
"""
import json
import sys
import urllib.request


def check_openmetrics(path):
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    text = open(path, encoding="utf-8").read()
    if not text.endswith("# EOF\n"):
        sys.exit(f"{path}: does not end with '# EOF'")
    families = list(text_string_to_metric_families(text))
    by_type = {}
    for family in families:
        by_type.setdefault(family.type, []).append(family.name)
    names = {family.name for family in families}
    for needed in ("pgpulse_up", "pgpulse_connect_errors", "process_cpu_seconds", "pgpulse_build_info"):
        if needed not in names:
            sys.exit(f"{path}: no family {needed} (families: {sorted(names)[:20]}...)")
    for counter in by_type.get("counter", []):
        if counter.endswith("_total"):
            sys.exit(f"{path}: counter family {counter} keeps its _total suffix")
    samples = sum(len(family.samples) for family in families)
    print(f"    OpenMetrics: {len(families)} families, {samples} samples, "
          + ", ".join(f"{len(v)} {k}" for k, v in sorted(by_type.items())))


def proxy(port, upstream, mode, log):
    import http.server

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            headers = {}
            if mode == "text":
                headers = {"Accept": "text/plain;version=0.0.4", "Accept-Encoding": "identity"}
            else:
                for name in ("Accept", "Accept-Encoding"):
                    if self.headers.get(name):
                        headers[name] = self.headers[name]
            request = urllib.request.Request(upstream + self.path, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=5) as r:
                    status, body, answer = r.status, r.read(), r.headers
            except urllib.error.HTTPError as e:
                status, body, answer = e.code, e.read(), e.headers
            with open(log, "a") as f:
                f.write(json.dumps({
                    "accept": self.headers.get("Accept", ""),
                    "accept_encoding": self.headers.get("Accept-Encoding", ""),
                    "status": status,
                    "content_type": answer.get("Content-Type", ""),
                    "content_encoding": answer.get("Content-Encoding", "identity"),
                    "bytes": len(body)}) + "\n")
            self.send_response(status)
            for name in ("Content-Type", "Content-Encoding", "Vary"):
                if answer.get(name):
                    self.send_header(name, answer[name])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()


def proxied(log, content_type, encoding):
    seen = []
    try:
        seen = [json.loads(line) for line in open(log)]
    except FileNotFoundError:
        pass
    if seen:
        last = seen[-1]
        print(f"    {len(seen)} scrapes; last: Accept {last['accept']!r}, Accept-Encoding "
              f"{last['accept_encoding']!r} -> {last['status']} {last['content_type']!r}, "
              f"{last['content_encoding']}, {last['bytes']} bytes")
    ok = any(s["status"] == 200 and s["content_type"].startswith(content_type)
             and s["content_encoding"] == encoding for s in seen)
    sys.exit(0 if ok else 1)


def main():
    command, args = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("", [])
    if command == "openmetrics":
        check_openmetrics(args[0])
    elif command == "proxy":
        proxy(*args)
    elif command == "proxied":
        proxied(*args)
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
