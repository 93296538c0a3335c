"""Interop of authentication and TLS with real clients, on loopback.

A pier-registry with a `gen-cert` certificate and token authentication, and one with an
htpasswd file and basic authentication: podman logs in and pushes over TLS trusting only
the generated CA (no --tls-verify=false), skopeo uses --creds in both modes, containerd
pulls a public repository anonymously, and the refusals real clients meet (anonymous
pull of a private repository, push into another user's namespace, a wrong password)
fail as they should.

    PIER_REGISTRY=build/.../pier-registry python3 -m unittest test_auth_interop -v
"""
import base64
import crypt
import json
import os
import shutil
import signal
import ssl
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import oci_images
from test_interop import Process, containerd, free_port, podman_with_image, run, wait_until

BINARY = os.environ.get("PIER_REGISTRY", "")


def pier(*args, stdin=None, check=True):
    return run(BINARY, *args, input=stdin, check=check)


def https_json(url, ca, user=None, password=None, method="GET", body=None):
    """(status, parsed JSON or None, headers) of a request trusting only `ca`."""
    context = ssl.create_default_context(cafile=ca)
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if user is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, context=context, timeout=30) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None), r.headers
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, (json.loads(raw) if raw else None), e.headers


class TokenOverTlsTest(unittest.TestCase):
    """`serve --tls-cert --tls-key --auth token` with users made by `user add`."""

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="pier-auth-interop-")
        certs = os.path.join(cls.workdir, "certs")
        pier("gen-cert", "--host", "localhost", "--ip", "127.0.0.1", "--out", certs)
        cls.ca = os.path.join(certs, "ca.crt")
        # Clients find the CA in a directory of *.crt files (podman --cert-dir, skopeo
        # --*-cert-dir): that directory holds the CA alone, as certs.d/HOST:PORT would.
        cls.cert_dir = os.path.join(cls.workdir, "trust")
        os.makedirs(cls.cert_dir)
        shutil.copy(cls.ca, os.path.join(cls.cert_dir, "ca.crt"))
        data = os.path.join(cls.workdir, "data")
        pier("user", "add", "alice", "--password-stdin", "--data", data, stdin="alice-secret\n")
        pier("user", "add", "bob", "--password-stdin", "--data", data, stdin="bob-secret-1\n")
        port = free_port()
        cls.host = f"127.0.0.1:{port}"
        cmd = [BINARY, "serve", "--listen", cls.host, "--data", data, "--log-level", "warn",
               "--tls-cert", os.path.join(certs, "server.crt"),
               "--tls-key", os.path.join(certs, "server.key"), "--auth", "token"]
        cls.server = Process(cmd, os.path.join(cls.workdir, "pier.log"), None,
                             ready=lambda: cls.ping())

    @classmethod
    def ping(cls):
        status, _, _ = https_json(f"https://{cls.host}/v2/", cls.ca)
        return status == 401

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def tmp(self, name):
        path = os.path.join(self.workdir, self.id().split(".")[-1], name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return path

    def skopeo_push(self, layout, ref, creds, check=True):
        args = ["skopeo", "--insecure-policy", "copy", "--preserve-digests",
                "--dest-cert-dir", self.cert_dir, f"oci:{layout}:v1", f"docker://{ref}"]
        if creds:
            args[4:4] = ["--dest-creds", creds]
        return run(*args, check=check)

    def skopeo_inspect(self, ref, creds=None, check=True):
        args = ["skopeo", "inspect", "--raw", "--cert-dir", self.cert_dir, f"docker://{ref}"]
        if creds:
            args[3:3] = ["--creds", creds]
        else:
            args[3:3] = ["--no-creds"]
        return run(*args, check=check)

    def test_challenge_names_the_token_service(self):
        status, body, headers = https_json(f"https://{self.host}/v2/", self.ca)
        self.assertEqual(status, 401)
        self.assertEqual(body["errors"][0]["code"], "UNAUTHORIZED")
        challenge = headers["WWW-Authenticate"]
        self.assertTrue(challenge.startswith("Bearer "), challenge)
        self.assertIn(f'realm="https://{self.host}/auth/token"', challenge)
        # /_ping stays open.
        status, _, _ = https_json(f"https://{self.host}/_ping", self.ca)
        self.assertNotIn(status, (401, 403))

    def test_skopeo_creds_push_pull_and_refusals(self):
        src = self.tmp("src")
        desc = oci_images.make_image(src, "v1")
        self.skopeo_push(src, f"{self.host}/alice/skopeo:v1", "alice:alice-secret")
        raw = self.skopeo_inspect(f"{self.host}/alice/skopeo:v1", "alice:alice-secret").stdout
        with open(os.path.join(src, "blobs", "sha256", desc["digest"].split(":")[1]), "rb") as f:
            self.assertEqual(raw.encode(), f.read())
        # Private by default: neither anonymous callers nor bob may pull it.
        self.assertNotEqual(self.skopeo_inspect(f"{self.host}/alice/skopeo:v1",
                                                check=False).returncode, 0)
        self.assertNotEqual(self.skopeo_inspect(f"{self.host}/alice/skopeo:v1",
                                                "bob:bob-secret-1", check=False).returncode, 0)
        # bob may not push into alice's namespace; a wrong password is refused.
        self.assertNotEqual(self.skopeo_push(src, f"{self.host}/alice/bobs:v1",
                                             "bob:bob-secret-1", check=False).returncode, 0)
        self.assertNotEqual(self.skopeo_push(src, f"{self.host}/alice/wrong:v1",
                                             "alice:not-her-password", check=False).returncode, 0)
        self.skopeo_push(src, f"{self.host}/bob/own:v1", "bob:bob-secret-1")

    def test_podman_login_push_pull_over_tls(self):
        podman, image_id = podman_with_image(self, self.tmp("podman-root"))
        auth = self.tmp("auth.json")
        run(*podman, "login", "--authfile", auth, "--cert-dir", self.cert_dir,
            "--username", "alice", "--password-stdin", self.host, input="alice-secret\n")
        ref = f"{self.host}/alice/podman:v1"
        run(*podman, "tag", image_id, ref)
        run(*podman, "push", "--authfile", auth, "--cert-dir", self.cert_dir, ref)
        run(*podman, "rmi", "-a", "-f")
        run(*podman, "pull", "--authfile", auth, "--cert-dir", self.cert_dir, ref)
        self.assertIn(image_id, run(*podman, "images", "-q", "--no-trunc").stdout)
        # A wrong password does not log in.
        bad = run(*podman, "login", "--authfile", self.tmp("bad.json"), "--cert-dir",
                  self.cert_dir, "--username", "alice", "--password-stdin", self.host,
                  input="wrong-password\n", check=False)
        self.assertNotEqual(bad.returncode, 0)

    def test_containerd_pulls_a_public_repository_anonymously(self):
        src = self.tmp("src")
        desc = oci_images.make_image(src, "v1")
        self.skopeo_push(src, f"{self.host}/alice/public:v1", "alice:alice-secret")
        status, body, _ = https_json(f"https://{self.host}/api/v1/repositories/alice/public",
                                     self.ca, "alice", "alice-secret", "PUT",
                                     {"visibility": "public"})
        self.assertEqual(status, 200, body)
        with containerd() as sock:
            # ctr would speak plain HTTP to a loopback host by default: a hosts.toml says
            # HTTPS, with the generated CA.
            hosts = self.tmp("hosts")
            os.makedirs(os.path.join(hosts, self.host))
            with open(os.path.join(hosts, self.host, "hosts.toml"), "w") as f:
                f.write(f'server = "https://{self.host}"\n'
                        f'[host."https://{self.host}"]\n  ca = "{self.ca}"\n')
            pull = ["ctr", "--address", sock, "images", "pull", "--hosts-dir", hosts]
            run(*pull, f"{self.host}/alice/public:v1")
            listed = run("ctr", "--address", sock, "images", "ls").stdout
            self.assertIn(desc["digest"], listed)
            # The private one stays out of reach.
            self.skopeo_push(src, f"{self.host}/alice/hidden:v1", "alice:alice-secret")
            hidden = run(*pull, f"{self.host}/alice/hidden:v1", check=False)
            self.assertNotEqual(hidden.returncode, 0)
            self.assertIn("insufficient_scope", hidden.stderr)


class BasicHtpasswdTest(unittest.TestCase):
    """`serve --htpasswd FILE` (basic authentication, plain HTTP) with skopeo --creds."""

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="pier-basic-interop-")
        htpasswd = os.path.join(cls.workdir, "htpasswd")
        with open(htpasswd, "w") as f:
            # What `htpasswd -B` writes: bcrypt.
            f.write("carol:" + crypt.crypt("carol-secret", crypt.mksalt(crypt.METHOD_BLOWFISH))
                    + "\n")
        port = free_port()
        cls.host = f"127.0.0.1:{port}"
        cmd = [BINARY, "serve", "--listen", cls.host, "--data", os.path.join(cls.workdir, "data"),
               "--log-level", "warn", "--htpasswd", htpasswd]
        cls.server = Process(cmd, os.path.join(cls.workdir, "pier.log"), f"http://{cls.host}/_ping")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def test_skopeo_creds(self):
        src = os.path.join(self.workdir, "src")
        oci_images.make_image(src, "v1")
        copy = ["skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false"]
        run(*copy, "--dest-creds", "carol:carol-secret", f"oci:{src}:v1",
            f"docker://{self.host}/team/app:v1")
        ok = run("skopeo", "inspect", "--raw", "--tls-verify=false", "--creds",
                 "carol:carol-secret", f"docker://{self.host}/team/app:v1")
        self.assertIn("layers", ok.stdout)
        wrong = run(*copy, "--dest-creds", "carol:wrong", f"oci:{src}:v1",
                    f"docker://{self.host}/team/app:v2", check=False)
        self.assertNotEqual(wrong.returncode, 0)
        anonymous = run("skopeo", "inspect", "--raw", "--tls-verify=false", "--no-creds",
                        f"docker://{self.host}/team/app:v1", check=False)
        self.assertNotEqual(anonymous.returncode, 0)

    def status_as(self, user, password):
        """The status of GET /v2/ with these Basic credentials."""
        req = urllib.request.Request(f"http://{self.host}/v2/")
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        req.add_header("Authorization", "Basic " + token)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def test_sighup_reloads_the_htpasswd_file(self):
        """SIGHUP re-reads the file: a user added is let in, one removed is not; a file that
        does not parse is refused in the log and the users loaded before stay."""
        htpasswd = os.path.join(self.workdir, "htpasswd")
        with open(htpasswd) as f:
            before = f.read()
        self.assertEqual(self.status_as("erin", "erin-secret"), 401)
        bcrypt = crypt.mksalt(crypt.METHOD_BLOWFISH)
        with open(htpasswd, "w") as f:
            f.write(before + "erin:" + crypt.crypt("erin-secret", bcrypt) + "\n")
        self.server.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: self.status_as("erin", "erin-secret") == 200, "erin let in after SIGHUP")
        self.assertEqual(self.status_as("carol", "carol-secret"), 200)

        with open(htpasswd, "w") as f:
            f.write("dave:$apr1$abcdefgh$0123456789abcdefghijkl\n")  # MD5: refused
        self.server.proc.send_signal(signal.SIGHUP)
        log = os.path.join(self.workdir, "pier.log")
        wait_until(lambda: "htpasswd reload failed" in open(log).read(), "the failed reload logged")
        self.assertEqual(self.status_as("erin", "erin-secret"), 200)
        self.assertIsNone(self.server.proc.poll(), "the server died of a bad htpasswd file")

        with open(htpasswd, "w") as f:
            f.write(before)  # erin removed again; the other tests find the file they expect
        self.server.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: self.status_as("erin", "erin-secret") == 401, "erin refused after SIGHUP")
        self.assertEqual(self.status_as("carol", "carol-secret"), 200)

    def test_md5_htpasswd_is_refused_at_start_up(self):
        bad = os.path.join(self.workdir, "md5.htpasswd")
        with open(bad, "w") as f:
            f.write("dave:$apr1$abcdefgh$0123456789abcdefghijkl\n")
        p = run(BINARY, "serve", "--listen", "127.0.0.1:0", "--data",
                os.path.join(self.workdir, "data-md5"), "--htpasswd", bad, check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("bcrypt", p.stderr)


if __name__ == "__main__":
    unittest.main()
