# shellcheck shell=bash
# What the load scripts share; sourced, not run.

# stop PID: SIGTERM to a process this script started, then wait for it (nothing when empty).
stop() {
  if [[ -n ${1:-} ]]; then
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}

# wait_for_port PORT: until something accepts connections on 127.0.0.1:PORT (10 s at most).
wait_for_port() {
  for _ in $(seq 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "nothing listens on $1" >&2
  return 1
}

# write_reference_config FILE ROOT PORT: the reference registry's (Distribution 2.8)
# configuration: storage under ROOT with deletes enabled, listening on 127.0.0.1:PORT,
# quiet logs.
write_reference_config() {
  cat >"$1" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $2
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:$3
  secret: pier-bench
EOF
}

# write_nginx_config FILE ROOT PORT WORKERS: nginx serving the files of ROOT on
# 127.0.0.1:PORT with sendfile and WORKERS worker processes, its pid, logs and temporary
# files in ROOT, no access log. ROOT and its files must be readable by nginx's workers
# (another user when run as root).
write_nginx_config() {
  cat >"$1" <<EOF
worker_processes $4;
pid $2/nginx.pid;
error_log $2/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path $2/body;
  proxy_temp_path $2/proxy;
  fastcgi_temp_path $2/fastcgi;
  uwsgi_temp_path $2/uwsgi;
  scgi_temp_path $2/scgi;
  server {
    listen 127.0.0.1:$3 reuseport;
    root $2;
  }
}
EOF
}
