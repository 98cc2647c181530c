"""A tiny keep-alive HTTP/1.1 client for timing scrapes (Content-Length and chunked bodies).
Prometheus keeps its scrape connections alive, so does this; no Accept-Encoding is sent, so both
exporters answer uncompressed text."""
import socket
import time


class Scraper:
    def __init__(self, host, port, path="/metrics", timeout=60.0):
        self.host, self.port, self.path, self.timeout = host, port, path, timeout
        self.sock = None
        self.buf = b""
        self.request = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                        "User-Agent: pgpulse-bench\r\nAccept: text/plain\r\n\r\n").encode()

    def _connect(self):
        self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None

    def _fill(self):
        chunk = self.sock.recv(262144)
        if not chunk:
            raise ConnectionError("connection closed by server")
        self.buf += chunk

    def _read_until(self, marker):
        while True:
            i = self.buf.find(marker)
            if i >= 0:
                out, self.buf = self.buf[:i], self.buf[i + len(marker):]
                return out
            self._fill()

    def _read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def get(self):
        """Returns (seconds from sending the request to the last body byte, status, body)."""
        for attempt in (0, 1):
            if self.sock is None:
                self._connect()
            try:
                start = time.perf_counter()
                self.sock.sendall(self.request)
                head = self._read_until(b"\r\n\r\n").decode("latin-1").split("\r\n")
                break
            except (ConnectionError, BrokenPipeError):
                self.close()  # the server closed an idle keep-alive connection: reconnect once
                if attempt:
                    raise
        status = int(head[0].split()[1])
        headers = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self._read_until(b"\r\n").split(b";")[0], 16)
                if size == 0:
                    self._read_until(b"\r\n")
                    break
                parts.append(self._read_exact(size))
                self._read_exact(2)
            body = b"".join(parts)
        else:
            body = self._read_exact(int(headers.get("content-length", "0")))
        elapsed = time.perf_counter() - start
        if headers.get("connection", "").lower() == "close":
            self.close()
        return elapsed, status, body


def count_series(body):
    return sum(1 for line in body.split(b"\n") if line and not line.startswith(b"#"))


def parse_metrics(body):
    """{(name, frozenset(labels.items())): value} for the simple text exposition both exporters
    write (no escaped quotes or commas inside label values are expected in the self-metrics read
    back)."""
    out = {}
    for line in body.decode(errors="replace").split("\n"):
        if not line or line.startswith("#"):
            continue
        try:
            series, value = line.rsplit(" ", 1)
            if "{" in series:
                name, rest = series.split("{", 1)
                labels = {}
                for pair in rest.rstrip("}").split('",'):
                    if "=" in pair:
                        k, v = pair.split("=", 1)
                        labels[k.strip()] = v.strip().strip('"')
            else:
                name, labels = series, {}
            out[(name, frozenset(labels.items()))] = float(value)
        except ValueError:
            continue
    return out
