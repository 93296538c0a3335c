#!/usr/bin/env python3
# The real pier-registry under floods (issue 10), with `ulimit -n 256`: thousands of upload
# POSTs on one keep-alive connection (each session used to hold a file descriptor until it
# ended: "500 Too many open files", then every push failed), sessions from many addresses
# into one repository, and hundreds of idle connections from one address. Each flood must
# get its limit's answer (429 TOOMANYREQUESTS with Retry-After, 503 for connections), never
# a 500, while a blob GET and a complete push from another address still work, and the
# server's descriptors stay few.
# Usage: limits_test.py PATH/TO/pier-registry
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

BIN = sys.argv[1]
PER_CLIENT = 100  # the defaults under test
PER_REPOSITORY = 1000
CONNECTIONS_PER_CLIENT = 50


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    if os.path.exists(LOG):
        with open(LOG, encoding="utf-8", errors="replace") as f:
            tail = f.read()[-4000:]
        print("--- server log (end):\n" + tail, file=sys.stderr)
    sys.exit(1)


class Connection:
    """One keep-alive HTTP/1.1 connection from a chosen loopback address."""

    def __init__(self, port, source="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.bind((source, 0))
        self.sock.connect(("127.0.0.1", port))
        self.buf = b""

    def close(self):
        self.sock.close()

    def send(self, method, target, body=b"", headers=None):
        head = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for name, value in (headers or {}).items():
            head += f"{name}: {value}\r\n"
        head += f"Content-Length: {len(body)}\r\n\r\n"
        self.sock.sendall(head.encode() + body)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed by the server")
        self.buf += chunk

    def response(self, head_request=False):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = 0 if head_request else int(headers.get("content-length", "0"))
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return status, headers, body

    def request(self, method, target, body=b"", headers=None):
        self.send(method, target, body, headers)
        return self.response(method == "HEAD")

    def closed_by_server(self):
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, socket.timeout):
            return False


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_blob(c, repo, data):
    """A complete chunked push: POST, PATCH, PUT."""
    status, headers, body = c.request("POST", f"/v2/{repo}/blobs/uploads/")
    if status != 202:
        fail(f"push POST: {status} {body[:300]!r}")
    location = headers["location"]
    status, headers, body = c.request(
        "PATCH", location, data, {"Content-Type": "application/octet-stream"})
    if status != 202:
        fail(f"push PATCH: {status} {body[:300]!r}")
    status, _, body = c.request("PUT", headers["location"] + "?digest=" + digest(data))
    if status != 201:
        fail(f"push PUT: {status} {body[:300]!r}")


def push_image(c, repo, tag, seed):
    layer = os.urandom(50000) + seed.encode()
    config = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode()
    push_blob(c, repo, layer)
    push_blob(c, repo, config)
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": digest(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": digest(layer), "size": len(layer)}],
    }).encode()
    status, _, body = c.request("PUT", f"/v2/{repo}/manifests/{tag}", manifest,
                                {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    if status != 201:
        fail(f"manifest PUT: {status} {body[:300]!r}")
    return layer


def expect_refused(status, headers, body, status_wanted, what):
    if status != status_wanted:
        fail(f"{what}: status {status}, want {status_wanted}: {body[:300]!r}")
    if "retry-after" not in headers:
        fail(f"{what}: no Retry-After")
    codes = [e["code"] for e in json.loads(body)["errors"]]
    if codes != ["TOOMANYREQUESTS"]:
        fail(f"{what}: error codes {codes}")


def connect_many(port, sources):
    """A connection with a GET /v2/ from each source: those served (kept open), and how
    many were refused with 503 and closed."""
    served = []
    refused = 0
    for i, source in enumerate(sources):
        c = Connection(port, source)
        try:
            status, _, _ = c.request("GET", "/v2/")
        except ConnectionError:
            fail(f"connection {i} from {source} was closed without an answer")
        if status == 200:
            served.append(c)
            continue
        if status != 503 or not c.closed_by_server():
            fail(f"connection {i} from {source} got {status}")
        refused += 1
        c.close()
    return served, refused


def open_descriptors(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def main():
    data = os.path.join(TMP, "data")
    with open(LOG, "w") as log:
        server = subprocess.Popen(
            ["bash", "-c", 'ulimit -n 256 && exec "$0" "$@"', BIN, "serve", "--listen",
             "127.0.0.1:0", "--data", data, "--auth", "none", "--threads", "2",
             "--max-connections-per-client", str(CONNECTIONS_PER_CLIENT)],
            stderr=log)
    try:
        run(server)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def run(server):
    port = None
    for _ in range(400):
        with open(LOG, encoding="utf-8") as f:
            m = re.search(r'msg="pier-registry started".* listen=127\.0\.0\.1:(\d+) ', f.read())
        if m:
            port = int(m.group(1))
            break
        if server.poll() is not None:
            fail("the server exited during start-up")
        time.sleep(0.05)
    if port is None:
        fail("no start-up line")

    pusher = Connection(port, "127.0.0.1")
    layer = push_image(pusher, "lib/app", "v1", "before")
    pusher.close()
    base_fds = open_descriptors(server.pid)

    # 1. Upload POSTs on one keep-alive connection, far beyond the per-client limit.
    flood = Connection(port, "127.0.0.2")
    statuses = {}
    locations = []
    for _ in range(3000):
        status, headers, body = flood.request("POST", "/v2/flood/app/blobs/uploads/")
        statuses[status] = statuses.get(status, 0) + 1
        if status == 202:
            locations.append(headers["location"])
        elif statuses[status] == 1:
            expect_refused(status, headers, body, 429, "POST beyond the per-client limit")
    if statuses != {202: PER_CLIENT, 429: 3000 - PER_CLIENT}:
        fail(f"flood statuses {statuses}")
    fds = open_descriptors(server.pid)
    if fds > base_fds + 20:
        fail(f"{fds} descriptors open after the flood, {base_fds} before")

    # A cancelled session frees its slot.
    status, _, _ = flood.request("DELETE", locations.pop())
    if status != 204:
        fail(f"DELETE of a session: {status}")
    status, _, body = flood.request("POST", "/v2/flood/app/blobs/uploads/")
    if status != 202:
        fail(f"POST after a cancel: {status} {body[:300]!r}")

    # 2. Sessions from many addresses into one repository: its limit holds.
    sources = [f"127.0.1.{i}" for i in range(1, PER_REPOSITORY // PER_CLIENT + 2)]
    refused = 0
    for source in sources:
        c = Connection(port, source)
        for _ in range(PER_CLIENT):
            status, headers, body = c.request("POST", "/v2/crowded/app/blobs/uploads/")
            if status == 429:
                if refused == 0:
                    expect_refused(status, headers, body, 429, "POST beyond the repository limit")
                    if b"this repository" not in body:
                        fail(f"repository refusal says {body[:300]!r}")
                refused += 1
            elif status != 202:
                fail(f"POST into a crowded repository: {status} {body[:300]!r}")
        c.close()
    if refused != PER_CLIENT:
        fail(f"{refused} POSTs refused by the repository limit, want {PER_CLIENT}")

    # 3. Idle connections from one address beyond its limit: refused with 503, one warning.
    idle, refused = connect_many(port, ["127.0.0.3"] * (CONNECTIONS_PER_CLIENT * 3))
    if len(idle) != CONNECTIONS_PER_CLIENT or refused != CONNECTIONS_PER_CLIENT * 2:
        fail(f"{len(idle)} connections served, {refused} refused")

    # Through all of it, pulls and pushes from elsewhere work.
    other = Connection(port, "127.0.0.4")
    status, _, body = other.request("GET", "/v2/lib/app/blobs/" + digest(layer))
    if status != 200 or body != layer:
        fail(f"blob GET during the floods: {status}")
    push_image(other, "lib/app", "v2", "during")
    status, _, _ = other.request("GET", "/v2/lib/app/manifests/v2")
    if status != 200:
        fail(f"manifest GET after the push: {status}")
    other.close()
    for c in idle:
        c.close()
    flood.close()

    # 4. Connections from many addresses up to the descriptor limit (256): those beyond the
    # reserve kept for requests get 503 and are closed, where accept used to fail in a loop.
    crowd, refused = connect_many(port, [f"127.0.2.{i // 40 + 1}" for i in range(300)])
    if refused == 0 or len(crowd) > 256 - 32:
        fail(f"{len(crowd)} connections served near the descriptor limit, {refused} refused")
    # The server closes them (so their descriptors are free when the client sees the
    # close); then everyone is served again.
    for c in crowd:
        status, _, _ = c.request("GET", "/v2/", headers={"Connection": "close"})
        if status != 200 or not c.closed_by_server():
            fail("a connection of the crowd was not closed by the server")
        c.close()
    c = Connection(port, "127.0.0.5")
    status, _, body = c.request("GET", "/v2/lib/app/blobs/" + digest(layer))
    c.close()
    if status != 200 or body != layer:
        fail(f"blob GET after the crowd left: {status}")

    with open(LOG, encoding="utf-8") as f:
        log = f.read()
    warnings = len(re.findall(r"client 127\.0\.0\.3 reached", log))
    if warnings != 1:
        fail(f"{warnings} warnings for the connection limit, want 1")
    if re.search(r"status=500", log):
        fail("a request got 500")
    if "Too many open files" in log:
        fail("the server ran out of descriptors")
    if len(re.findall(r"of RLIMIT_NOFILE 256 reached", log)) != 1:
        fail("not one warning for the descriptor reserve")

    server.send_signal(signal.SIGTERM)
    if server.wait(timeout=30) != 0:
        fail("exit status after SIGTERM")
    print("limits_test: ok")


TMP = tempfile.mkdtemp(prefix="pier-limits-test-")
LOG = os.path.join(TMP, "log")
try:
    main()
finally:
    shutil.rmtree(TMP, ignore_errors=True)
