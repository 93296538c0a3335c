"""Generates OCI image layouts with random layers, for the interop tests.

Nothing is downloaded: every image is made here, with layers of random bytes, a config
whose rootfs.diff_ids match the layers, and an index.json naming each image by tag.
"""
import gzip
import hashlib
import io
import json
import os
import tarfile
import time


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Layout:
    """An OCI image layout directory (image-spec image-layout.md)."""

    def __init__(self, path: str):
        self.path = path
        os.makedirs(os.path.join(path, "blobs", "sha256"), exist_ok=True)
        with open(os.path.join(path, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)
        self.index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                      "manifests": []}
        self._save_index()

    def add_blob(self, data: bytes) -> str:
        digest = _sha256(data)
        with open(os.path.join(self.path, "blobs", "sha256", digest[7:]), "wb") as f:
            f.write(data)
        return digest

    def _save_index(self) -> None:
        with open(os.path.join(self.path, "index.json"), "w") as f:
            json.dump(self.index, f)

    def tag(self, ref: str, descriptor: dict) -> None:
        d = dict(descriptor)
        d["annotations"] = {"org.opencontainers.image.ref.name": ref}
        self.index["manifests"] = [m for m in self.index["manifests"]
                                   if m.get("annotations", {}).get(
                                       "org.opencontainers.image.ref.name") != ref]
        self.index["manifests"].append(d)
        self._save_index()


def random_layer(size: int, name: str = "payload") -> tuple[bytes, str]:
    """A gzipped tar holding one file of random bytes; returns (blob, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size = size
        info.mtime = int(time.time())
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(os.urandom(size)))
    tar_bytes = raw.getvalue()
    return gzip.compress(tar_bytes, mtime=0), _sha256(tar_bytes)


def add_image(layout: Layout, layers: list[tuple[bytes, str]], arch: str = "amd64",
              os_name: str = "linux") -> dict:
    """Adds config, layers and an image manifest; returns the manifest's descriptor."""
    config = {
        "architecture": arch, "os": os_name, "created": "2026-01-01T00:00:00Z",
        "config": {"Cmd": ["/payload"]},
        "rootfs": {"type": "layers", "diff_ids": [diff for _, diff in layers]},
        "history": [{"created": "2026-01-01T00:00:00Z", "created_by": "pier interop test"}
                    for _ in layers],
    }
    config_bytes = json.dumps(config).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": layout.add_blob(config_bytes), "size": len(config_bytes)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layout.add_blob(blob), "size": len(blob)} for blob, _ in layers],
    }
    manifest_bytes = json.dumps(manifest).encode()
    return {"mediaType": manifest["mediaType"], "digest": layout.add_blob(manifest_bytes),
            "size": len(manifest_bytes), "platform": {"architecture": arch, "os": os_name}}


def add_index(layout: Layout, manifests: list[dict]) -> dict:
    """An image index over the given manifest descriptors; returns its descriptor."""
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": manifests}
    data = json.dumps(index).encode()
    return {"mediaType": index["mediaType"], "digest": layout.add_blob(data), "size": len(data)}


def make_image(path: str, tag: str = "v1", layer_sizes=(200_000, 50_000)) -> dict:
    """A one-platform image in a new layout at `path`; returns its descriptor."""
    layout = Layout(path)
    desc = add_image(layout, [random_layer(n, f"f{i}") for i, n in enumerate(layer_sizes)])
    layout.tag(tag, desc)
    return desc


def make_two_sharing_a_layer(path: str) -> tuple[dict, dict, str]:
    """Two images, tagged "one" and "two", in one new layout, sharing their first layer;
    returns their descriptors and the shared layer's digest."""
    layout = Layout(path)
    shared = random_layer(150_000, "shared")
    one = add_image(layout, [shared, random_layer(20_000, "one")])
    two = add_image(layout, [shared, random_layer(25_000, "two")])
    layout.tag("one", one)
    layout.tag("two", two)
    return one, two, _sha256(shared[0])


def make_multiplatform(path: str, tag: str = "multi") -> dict:
    """An index of linux/amd64 and linux/arm64 images sharing one layer."""
    layout = Layout(path)
    shared = random_layer(120_000, "shared")
    amd = add_image(layout, [shared, random_layer(30_000, "amd")], "amd64")
    arm = add_image(layout, [shared, random_layer(40_000, "arm")], "arm64")
    desc = add_index(layout, [amd, arm])
    layout.tag(tag, desc)
    return desc
