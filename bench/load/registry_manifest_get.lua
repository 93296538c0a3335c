-- wrk script of bench/load/registry.sh: manifest GET with the Accept header docker,
-- containerd and skopeo send (OCI and Docker manifests and indexes).
wrk.method = "GET"
wrk.headers["Accept"] = "application/vnd.oci.image.manifest.v1+json, "
  .. "application/vnd.oci.image.index.v1+json, "
  .. "application/vnd.docker.distribution.manifest.v2+json, "
  .. "application/vnd.docker.distribution.manifest.list.v2+json"
