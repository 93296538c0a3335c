"""Interop tests: real clients from Debian against pier-registry, on loopback.

skopeo, podman (vfs storage), containerd's ctr and the reference registry (Debian's
docker-registry, CNCF Distribution 2.8) push to and pull from a pier-registry that the
tests start themselves. Images are generated here (random layers), never downloaded.

    PIER_REGISTRY=build/.../pier-registry python3 -m unittest test_interop -v

With PIER_INTEROP_TARGET=reference the same tests run against the reference registry
instead of pier (to check the tests themselves).
"""
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import oci_images

TIMEOUT = 180


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*cmd, check=True, **kw) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p


def wait_until(ready, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if ready():
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not get ready")
        time.sleep(0.05)


def wait_for_http(url: str, seconds: float = 20) -> None:
    def answers() -> bool:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    wait_until(answers, url, seconds)


def podman_with_image(test: unittest.TestCase, root: str) -> tuple[list, str]:
    """A podman command line (vfs storage in `root`) holding one generated image, and the
    image's ID; the test cleans up."""
    # podman refuses a run root longer than 50 characters.
    runroot = tempfile.mkdtemp(prefix="pier-podman-")
    test.addCleanup(shutil.rmtree, runroot, True)
    podman = ["podman", "--storage-driver", "vfs", "--root", root, "--runroot", runroot]
    # podman names an image pulled from a layout after the layout's path, which must
    # then be a valid reference: no random temp-dir names (they can hold "-_").
    src = os.path.join(tempfile.gettempdir(), f"pier-podman-src-{os.getpid()}-{time.time_ns()}")
    test.addCleanup(shutil.rmtree, src, True)
    oci_images.make_image(src, "v1")
    run(*podman, "pull", f"oci:{src}:v1")
    return podman, run(*podman, "images", "-q", "--no-trunc").stdout.split()[0]


@contextlib.contextmanager
def containerd():
    """A containerd of its own (no CRI), stopped by its PID; yields its socket's path."""
    # A unix socket's path has at most 107 bytes: the base directory is a short one.
    base = tempfile.mkdtemp(prefix="pier-ctr-")
    sock = os.path.join(base, "ctr.sock")
    with open(os.path.join(base, "config.toml"), "w") as f:
        f.write(f'version = 2\nroot = "{base}/root"\nstate = "{base}/state"\n'
                f'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
                f'[grpc]\n  address = "{sock}"\n')
    log = open(os.path.join(base, "log"), "w")
    proc = subprocess.Popen(["containerd", "--config", os.path.join(base, "config.toml")],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: os.path.exists(sock), "containerd")
        yield sock
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        log.close()
        shutil.rmtree(base, ignore_errors=True)


class Process:
    """A server the tests started; stopped by its PID."""

    def __init__(self, cmd, log_path, url, ready=None):
        """Waits until `url` answers 200, or, when given, `ready()` returns True."""
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            if ready is None:
                wait_for_http(url)
            else:
                wait_until(ready, " ".join(cmd))
        except AssertionError:
            self.stop()
            raise

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def start_reference(workdir: str) -> tuple[Process, str]:
    os.makedirs(workdir, exist_ok=True)
    port = free_port()
    config = os.path.join(workdir, "reference.yml")
    with open(config, "w") as f:
        f.write(f"""version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {workdir}/reference-data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
""")
    host = f"127.0.0.1:{port}"
    return Process(["docker-registry", "serve", config], os.path.join(workdir, "reference.log"),
                   f"http://{host}/v2/"), host


def start_pier(workdir: str) -> tuple[Process, str]:
    if os.environ.get("PIER_INTEROP_TARGET") == "reference":
        return start_reference(os.path.join(workdir))
    binary = os.environ["PIER_REGISTRY"]
    port = free_port()
    host = f"127.0.0.1:{port}"
    # GC only on demand and without grace, so that a test can see what it collects.
    cmd = [binary, "serve", "--listen", host, "--data", os.path.join(workdir, "pier-data"),
           "--log-level", "warn", "--gc-interval", "0", "--gc-grace", "0"]
    return Process(cmd, os.path.join(workdir, "pier.log"), f"http://{host}/v2/"), host


def skopeo(*args, check=True):
    return run("skopeo", "--insecure-policy", *args, check=check)


def raw_manifest(ref: str) -> bytes:
    return skopeo("inspect", "--raw", "--tls-verify=false", ref).stdout.encode()


def layout_manifest(layout: str, digest: str) -> bytes:
    with open(os.path.join(layout, "blobs", "sha256", digest.split(":")[1]), "rb") as f:
        return f.read()


class InteropTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="pier-interop-")
        cls.pier, cls.host = start_pier(os.path.join(cls.workdir))

    @classmethod
    def tearDownClass(cls):
        cls.pier.stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def tmp(self, name: str) -> str:
        path = os.path.join(self.workdir, self.id().split(".")[-1], name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return path

    def push_layout(self, layout: str, tag: str, repo: str, *extra) -> None:
        skopeo("copy", "--preserve-digests", "--dest-tls-verify=false", *extra,
               f"oci:{layout}:{tag}", f"docker://{self.host}/{repo}:{tag}")

    def test_skopeo_oci_layout_to_pier_and_back(self):
        src = self.tmp("src")
        desc = oci_images.make_image(src, "v1")
        self.push_layout(src, "v1", "interop/skopeo")
        # The registry serves the exact bytes it was given.
        self.assertEqual(raw_manifest(f"docker://{self.host}/interop/skopeo:v1"),
                         layout_manifest(src, desc["digest"]))
        dst = self.tmp("dst")
        skopeo("copy", "--preserve-digests", "--src-tls-verify=false",
               f"docker://{self.host}/interop/skopeo:v1", f"oci:{dst}:v1")
        with open(os.path.join(dst, "index.json")) as f:
            index = json.load(f)
        self.assertEqual(index["manifests"][0]["digest"], desc["digest"])
        # Every blob came back intact (the layout's file names are their digests).
        for name in os.listdir(os.path.join(dst, "blobs", "sha256")):
            with open(os.path.join(dst, "blobs", "sha256", name), "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(), name)

    def test_skopeo_multi_platform_index_with_all(self):
        src = self.tmp("src")
        desc = oci_images.make_multiplatform(src, "multi")
        self.push_layout(src, "multi", "interop/multi", "--all")
        index = raw_manifest(f"docker://{self.host}/interop/multi:multi")
        self.assertEqual(index, layout_manifest(src, desc["digest"]))
        for child in json.loads(index)["manifests"]:
            self.assertEqual(raw_manifest(f"docker://{self.host}/interop/multi@{child['digest']}"),
                             layout_manifest(src, child["digest"]))
        dst = self.tmp("dst")
        skopeo("copy", "--all", "--preserve-digests", "--src-tls-verify=false",
               f"docker://{self.host}/interop/multi:multi", f"oci:{dst}:multi")

    def test_skopeo_list_tags_and_delete(self):
        for tag in ("b", "a", "c"):
            src = self.tmp(f"src-{tag}")
            oci_images.make_image(src, tag, (10_000,))
            self.push_layout(src, tag, "interop/tags")
        tags = json.loads(skopeo("list-tags", "--tls-verify=false",
                                 f"docker://{self.host}/interop/tags").stdout)["Tags"]
        self.assertEqual(sorted(tags), ["a", "b", "c"])
        skopeo("delete", "--tls-verify=false", f"docker://{self.host}/interop/tags:b")
        tags = json.loads(skopeo("list-tags", "--tls-verify=false",
                                 f"docker://{self.host}/interop/tags").stdout)["Tags"]
        self.assertEqual(sorted(tags), ["a", "c"])
        gone = skopeo("inspect", "--raw", "--tls-verify=false",
                      f"docker://{self.host}/interop/tags:b", check=False)
        self.assertNotEqual(gone.returncode, 0)

    def test_podman_push_and_pull(self):
        podman, image_id = podman_with_image(self, self.tmp("podman-root"))
        ref = f"{self.host}/interop/podman:v1"
        run(*podman, "tag", image_id, ref)
        run(*podman, "push", "--tls-verify=false", ref)
        run(*podman, "rmi", "-a", "-f")
        run(*podman, "pull", "--tls-verify=false", ref)
        self.assertIn(image_id, run(*podman, "images", "-q", "--no-trunc").stdout)

    def test_containerd_ctr_pull(self):
        src = self.tmp("src")
        desc = oci_images.make_image(src, "v1")
        self.push_layout(src, "v1", "interop/ctr")
        with containerd() as sock:
            ref = f"{self.host}/interop/ctr:v1"
            run("ctr", "--address", sock, "images", "pull", "--plain-http", ref)
            listed = run("ctr", "--address", sock, "images", "ls").stdout
            self.assertIn(ref, listed)
            self.assertIn(desc["digest"], listed)

    @unittest.skipIf(os.environ.get("PIER_INTEROP_TARGET") == "reference",
                     "online GC is pier's (/api/v1/gc)")
    def test_delete_one_of_two_images_sharing_a_layer_then_gc(self):
        src = self.tmp("src")
        one, two, shared = oci_images.make_two_sharing_a_layer(src)
        for tag in ("one", "two"):
            self.push_layout(src, tag, "interop/gc")
        with open(os.path.join(src, "blobs", "sha256", one["digest"].split(":")[1]), "rb") as f:
            only_one = [d["digest"] for d in json.load(f)["layers"] if d["digest"] != shared]
        skopeo("delete", "--tls-verify=false", f"docker://{self.host}/interop/gc:one")
        # Blobs are stamped in whole seconds: let the pushes' second pass before collecting.
        time.sleep(1.1)
        req = urllib.request.Request(f"http://{self.host}/api/v1/gc", method="POST")
        with urllib.request.urlopen(req, timeout=30) as r:
            self.assertEqual(r.status, 202)

        def finished():
            with urllib.request.urlopen(f"http://{self.host}/api/v1/gc", timeout=30) as r:
                status = json.load(r)
            return not status["running"] and status["last"] is not None
        wait_until(finished, "the GC run")

        def blob_status(digest):
            req = urllib.request.Request(f"http://{self.host}/v2/interop/gc/blobs/{digest}",
                                         method="HEAD")
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    return r.status
            except urllib.error.HTTPError as e:
                return e.code
        self.assertEqual(blob_status(shared), 200)  # "two" still uses it
        for digest in only_one:
            self.assertEqual(blob_status(digest), 404)  # freed with "one"
        dst = self.tmp("dst")
        skopeo("copy", "--preserve-digests", "--src-tls-verify=false",
               f"docker://{self.host}/interop/gc:two", f"oci:{dst}:two")
        for name in os.listdir(os.path.join(dst, "blobs", "sha256")):
            with open(os.path.join(dst, "blobs", "sha256", name), "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(), name)
        self.assertIn(shared.split(":")[1], os.listdir(os.path.join(dst, "blobs", "sha256")))

    def test_reference_registry_round_trip(self):
        reference, ref_host = start_reference(self.tmp("reference"))
        try:
            src = self.tmp("src")
            oci_images.make_image(src, "v1")
            self.push_layout(src, "v1", "interop/roundtrip")
            pier_ref = f"docker://{self.host}/interop/roundtrip:v1"
            ref_ref = f"docker://{ref_host}/interop/roundtrip:v1"
            skopeo("copy", "--preserve-digests", "--src-tls-verify=false",
                   "--dest-tls-verify=false", pier_ref, ref_ref)
            self.assertEqual(raw_manifest(pier_ref), raw_manifest(ref_ref))
            # And back: an image that exists only in the reference registry.
            src2 = self.tmp("src2")
            oci_images.make_multiplatform(src2, "multi")
            skopeo("copy", "--all", "--preserve-digests", "--dest-tls-verify=false",
                   f"oci:{src2}:multi", f"docker://{ref_host}/interop/back:multi")
            skopeo("copy", "--all", "--preserve-digests", "--src-tls-verify=false",
                   "--dest-tls-verify=false", f"docker://{ref_host}/interop/back:multi",
                   f"docker://{self.host}/interop/back:multi")
            self.assertEqual(raw_manifest(f"docker://{ref_host}/interop/back:multi"),
                             raw_manifest(f"docker://{self.host}/interop/back:multi"))
        finally:
            reference.stop()


if __name__ == "__main__":
    unittest.main()
