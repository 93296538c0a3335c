"""Durability: SIGKILL pier-registry during pushes, and during garbage collection, restart,
and check that every tag that exists resolves to a complete image whose every blob has its
digest, that `pier-registry fsck` finds metadata and blobs agree after each kill, and that
after an offline `pier-registry gc` it finds nothing at all (the orphans a crash leaves are
the collector's to remove).

DESIGN.md's rules under test: a blob is durable before metadata points at it, a manifest
is accepted only when everything it references is present, and a tag moves atomically.
So whatever moment the kill lands at, what the registry lists after a restart is whole.

    PIER_REGISTRY=build/.../pier-registry python3 -m unittest crash_test -v
"""
import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

CYCLES = int(os.environ.get("PIER_CRASH_CYCLES", "6"))
WORKERS = 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Client:
    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method, path, body=None, headers=None):
        self.conn.request(method, path, body=body, headers=headers or {})
        r = self.conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()


def push_image(client: Client, repo: str, tag: str) -> None:
    """Pushes one small image: two blobs (one monolithic, one chunked) and a manifest."""
    layers = [os.urandom(random.randint(1_000, 300_000)) for _ in range(2)]
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    # Monolithic: POST ?digest= with the whole blob.
    for blob in (config, layers[0]):
        status, _, _ = client.request("POST", f"/v2/{repo}/blobs/uploads/?digest={sha256(blob)}",
                                      blob, {"Content-Type": "application/octet-stream"})
        assert status == 201, status
    # Chunked: POST, PATCH twice, PUT ?digest=.
    status, headers, _ = client.request("POST", f"/v2/{repo}/blobs/uploads/", b"")
    assert status == 202, status
    location = headers["Location"]
    half = len(layers[1]) // 2
    for start, chunk in ((0, layers[1][:half]), (half, layers[1][half:])):
        status, headers, _ = client.request(
            "PATCH", location, chunk,
            {"Content-Type": "application/octet-stream",
             "Content-Range": f"{start}-{start + len(chunk) - 1}"})
        assert status == 202, status
        location = headers["Location"]
    sep = "&" if "?" in location else "?"
    status, _, _ = client.request("PUT", f"{location}{sep}digest={sha256(layers[1])}", b"")
    assert status == 201, status
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": sha256(b), "size": len(b)} for b in layers]}).encode()
    status, _, _ = client.request("PUT", f"/v2/{repo}/manifests/{tag}", manifest,
                                  {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert status == 201, status


def push_again(client: Client, repo: str, tag: str, attempts: int = 50) -> None:
    """`push_image` until it succeeds: with a GC grace of 0 a run may release a new blob
    before the manifest that references it comes (gc.hpp), and the client pushes again."""
    for _ in range(attempts - 1):
        try:
            return push_image(client, repo, tag)
        except AssertionError:
            pass
    push_image(client, repo, tag)


class Server:
    def __init__(self, binary: str, data: str, log_path: str, extra=()):
        self.port = free_port()
        self.log = open(log_path, "a")
        self.proc = subprocess.Popen(
            [binary, "serve", "--listen", f"127.0.0.1:{self.port}", "--data", data,
             "--log-level", "warn", *extra], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while True:
            try:
                status, _, _ = Client(self.port).request("GET", "/v2/")
                if status == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("pier-registry did not start; see " + log_path)
            time.sleep(0.02)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.close()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.log.close()


def verify_registry(test: unittest.TestCase, port: int, seen=None) -> int:
    """Every tag of every repository resolves to a manifest whose blobs are all there and
    hash to their digests. Returns the number of tags checked; adds (repo, tag) pairs to
    `seen` when given."""
    client = Client(port)
    status, _, body = client.request("GET", "/v2/_catalog?n=10000")
    test.assertEqual(status, 200)
    checked = 0
    for repo in json.loads(body)["repositories"]:
        status, _, body = client.request("GET", f"/v2/{repo}/tags/list?n=10000")
        test.assertEqual(status, 200)
        for tag in json.loads(body).get("tags") or []:
            status, headers, manifest = client.request(
                "GET", f"/v2/{repo}/manifests/{tag}",
                headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
            test.assertEqual(status, 200, f"{repo}:{tag}")
            test.assertEqual(headers.get("Docker-Content-Digest"), sha256(manifest))
            parsed = json.loads(manifest)
            for desc in [parsed["config"]] + parsed["layers"]:
                status, _, blob = client.request("GET", f"/v2/{repo}/blobs/{desc['digest']}")
                test.assertEqual(status, 200, f"{repo}:{tag} {desc['digest']}")
                test.assertEqual(sha256(blob), desc["digest"])
                test.assertEqual(len(blob), desc["size"])
            checked += 1
            if seen is not None:
                seen.add((repo, tag))
    return checked


def kill_while_running(server: Server, stop: threading.Event, threads) -> None:
    """Starts `threads`, SIGKILLs the server at a random moment, then stops and joins them."""
    for t in threads:
        t.start()
    time.sleep(random.uniform(0.3, 1.5))
    server.kill()
    stop.set()
    for t in threads:
        t.join(timeout=30)


def run_fsck(test: unittest.TestCase, binary: str, data: str) -> None:
    """`pier-registry fsck` on the stopped registry exits 0: metadata and blobs agree (a
    crash may leave orphan files, which it reports but which are no inconsistency)."""
    out = subprocess.run([binary, "fsck", "--data", data], capture_output=True, text=True,
                         timeout=300)
    test.assertEqual(out.returncode, 0, "fsck found problems:\n" + out.stdout + out.stderr)


def assert_kept(test: unittest.TestCase, port: int, expected: set, message: str) -> None:
    """verify_registry, and every (repo, tag) of `expected` is among the tags it saw."""
    seen = set()
    verify_registry(test, port, seen)
    test.assertEqual(expected - seen, set(), message)


def run_gc_then_fsck_clean(test: unittest.TestCase, binary: str, data: str) -> None:
    """On the stopped registry, one offline collection with no grace (what a crash left:
    orphan blob files, upload files and sessions) and then fsck finds nothing at all."""
    out = subprocess.run([binary, "gc", "--data", data, "--grace", "0", "--upload-ttl", "0"],
                         capture_output=True, text=True, timeout=300)
    test.assertEqual(out.returncode, 0, "gc failed:\n" + out.stdout + out.stderr)
    out = subprocess.run([binary, "fsck", "--data", data], capture_output=True, text=True,
                         timeout=300)
    test.assertEqual(out.returncode, 0, "fsck found problems:\n" + out.stdout + out.stderr)
    test.assertTrue(out.stdout.splitlines()[-1].startswith("clean: "),
                    "fsck after gc is not clean:\n" + out.stdout)


class CrashTest(unittest.TestCase):
    def test_sigkill_during_pushes(self):
        binary = os.environ["PIER_REGISTRY"]
        workdir = tempfile.mkdtemp(prefix="pier-crash-")
        self.addCleanup(shutil.rmtree, workdir, True)
        data, log = os.path.join(workdir, "data"), os.path.join(workdir, "pier.log")
        total_pushed = 0
        for cycle in range(CYCLES):
            server = Server(binary, data, log)
            before = verify_registry(self, server.port)
            self.assertGreaterEqual(before, total_pushed, "a tag acknowledged earlier is gone")
            stop = threading.Event()
            pushed = []

            def worker(n, port=server.port, cycle=cycle):
                client = Client(port)
                i = 0
                while not stop.is_set():
                    try:
                        push_image(client, f"crash/w{n}", f"c{cycle}-{i}")
                        pushed.append(1)
                    except (OSError, http.client.HTTPException, AssertionError):
                        return  # the server was killed under us
                    i += 1

            kill_while_running(server, stop, [threading.Thread(target=worker, args=(n,))
                                              for n in range(WORKERS)])
            total_pushed += len(pushed)
        server = Server(binary, data, log)
        try:
            checked = verify_registry(self, server.port)
            # Every push acknowledged with 201 survived; some killed mid-way may too.
            self.assertGreaterEqual(checked, total_pushed)
            self.assertGreater(total_pushed, 0, "no push completed: the test tested nothing")
        finally:
            server.stop()
        run_gc_then_fsck_clean(self, binary, data)


    def test_sigkill_during_gc(self):
        """GC runs on a schedule and on demand, with no grace, while images are pushed and
        tags deleted; a SIGKILL lands at a random moment. After a restart every tag
        acknowledged and not deleted is there, every tag there is complete, and fsck finds
        metadata and blobs agree; an offline gc then leaves fsck nothing to report."""
        binary = os.environ["PIER_REGISTRY"]
        workdir = tempfile.mkdtemp(prefix="pier-crash-gc-")
        self.addCleanup(shutil.rmtree, workdir, True)
        data, log = os.path.join(workdir, "data"), os.path.join(workdir, "pier.log")
        gc_args = ["--auth", "none", "--gc-grace", "0", "--gc-interval", "50ms"]
        expected = set()  # (repo, tag) acknowledged and never asked to be deleted
        lock = threading.Lock()
        for cycle in range(CYCLES):
            server = Server(binary, data, log, gc_args)
            assert_kept(self, server.port, expected, "a tag acknowledged earlier is gone")
            client = Client(server.port)
            # Garbage for the collector: images whose tags go, sharing nothing with the rest
            # but the config, which every image shares.
            for i in range(4):
                push_again(client, f"gc/r{i % 2}", f"c{cycle}-g{i}")
            for i in range(4):
                status, _, _ = client.request("DELETE", f"/v2/gc/r{i % 2}/manifests/c{cycle}-g{i}")
                self.assertEqual(status, 202)
            stop = threading.Event()

            def pusher(n, port=server.port, cycle=cycle):
                client = Client(port)
                i = 0
                while not stop.is_set():
                    repo, tag = f"gc/w{n}", f"c{cycle}-{i}"
                    i += 1
                    try:
                        push_image(client, repo, tag)
                    except AssertionError:
                        continue  # with no grace, GC may take a new blob first: push again
                    except (OSError, http.client.HTTPException):
                        return  # the server was killed under us
                    with lock:
                        expected.add((repo, tag))
                    if i % 3 == 0:  # delete every third image again: more garbage
                        with lock:
                            expected.discard((repo, tag))
                        try:
                            client.request("DELETE", f"/v2/{repo}/manifests/{tag}")
                        except (OSError, http.client.HTTPException):
                            return

            def collector(port=server.port):
                client = Client(port)
                while not stop.is_set():
                    try:
                        status, _, _ = client.request("POST", "/api/v1/gc", b"")
                    except (OSError, http.client.HTTPException):
                        return
                    assert status in (200, 202), status
                    time.sleep(0.01)

            threads = [threading.Thread(target=pusher, args=(n,)) for n in range(WORKERS)]
            threads.append(threading.Thread(target=collector))
            kill_while_running(server, stop, threads)
            run_fsck(self, binary, data)
        server = Server(binary, data, log, gc_args)
        try:
            assert_kept(self, server.port, expected, "a tag acknowledged earlier is gone")
            self.assertGreater(len(expected), 0, "no push completed: the test tested nothing")
        finally:
            server.stop()
        run_fsck(self, binary, data)
        run_gc_then_fsck_clean(self, binary, data)
        server = Server(binary, data, log, gc_args)
        try:
            assert_kept(self, server.port, expected, "the offline gc took an acknowledged tag")
        finally:
            server.stop()

    def test_upload_session_survives_sigkill(self):
        """Upload sessions are written without sync: they must still survive a crash of
        the process (the write reached the kernel), so a chunked upload resumes."""
        binary = os.environ["PIER_REGISTRY"]
        workdir = tempfile.mkdtemp(prefix="pier-crash-")
        self.addCleanup(shutil.rmtree, workdir, True)
        data, log = os.path.join(workdir, "data"), os.path.join(workdir, "pier.log")
        blob = os.urandom(200_000)
        half = len(blob) // 2
        server = Server(binary, data, log)
        client = Client(server.port)
        status, headers, _ = client.request("POST", "/v2/resume/app/blobs/uploads/", b"")
        self.assertEqual(status, 202)
        location = headers["Location"]
        status, headers, _ = client.request(
            "PATCH", location, blob[:half],
            {"Content-Type": "application/octet-stream", "Content-Range": f"0-{half - 1}"})
        self.assertEqual(status, 202)
        location = headers["Location"]
        server.kill()

        server = Server(binary, data, log)
        try:
            client = Client(server.port)
            status, headers, _ = client.request("GET", location)
            self.assertEqual(status, 204)
            self.assertEqual(headers.get("Range"), f"0-{half - 1}")
            status, headers, _ = client.request(
                "PATCH", location, blob[half:],
                {"Content-Type": "application/octet-stream",
                 "Content-Range": f"{half}-{len(blob) - 1}"})
            self.assertEqual(status, 202)
            location = headers["Location"]
            sep = "&" if "?" in location else "?"
            status, _, _ = client.request("PUT", f"{location}{sep}digest={sha256(blob)}", b"")
            self.assertEqual(status, 201)
            status, _, got = client.request("GET", f"/v2/resume/app/blobs/{sha256(blob)}")
            self.assertEqual(status, 200)
            self.assertEqual(got, blob)
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main()
