#!/usr/bin/env python3
"""Regenerate testdata/root: a fake / captured from this machine.

Starts a private nginx (2 workers; 127.0.0.1:PORT, [::1]:PORT and a unix
socket) and a PHP-FPM master (pool `lab`, socket root:root 0660,
pm.max_children 1, request_terminate_timeout 1s) in a temporary
directory, makes a few loopback requests (HTTP to nginx, two slow
FastCGI requests to PHP-FPM so that its log warns), copies the /proc
files the crate reads for those processes (fd links recreated as
symlinks), the socket tables filtered to them, and a few system files,
then stops both by pid. Needs root, nginx and php-fpm (Debian packages).

    sudo python3 crates/host/testdata/capture.py

The result is described in testdata/root/capture.env for the tests.
"""
import glob, os, shutil, signal, socket, subprocess, sys, tempfile, threading, time, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "root")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def put(rel, data):
    dst = os.path.join(ROOT, rel.lstrip("/"))
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with open(dst, "wb") as f:
        f.write(data)


def copy(path, rel=None):
    with open(path, "rb") as f:
        put(rel or path, f.read())


def link(rel, target):
    dst = os.path.join(ROOT, rel.lstrip("/"))
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    os.symlink(target, dst)


def fastcgi_get(sock_path, script):
    """One FastCGI GET over a unix socket; returns what came back."""
    def record(kind, body):
        return bytes([1, kind, 0, 1, len(body) >> 8, len(body) & 255, 0, 0]) + body
    params = b""
    for k, v in (("SCRIPT_FILENAME", script), ("REQUEST_METHOD", "GET"),
                 ("SCRIPT_NAME", "/slow.php"), ("REQUEST_URI", "/slow.php")):
        k, v = k.encode(), v.encode()
        params += bytes([len(k), len(v)]) + k + v
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    s.sendall(record(1, bytes([0, 1, 0, 0, 0, 0, 0, 0])) + record(4, params) + record(4, b"")
              + record(5, b""))
    out = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break  # the worker was killed by request_terminate_timeout
        if not chunk:
            break
        out += chunk
    s.close()
    return out


def main():
    if os.geteuid() != 0:
        sys.exit("run as root")
    # Everything but the hand-written dev/kmsg is regenerated.
    for entry in os.listdir(ROOT) if os.path.isdir(ROOT) else []:
        if entry != "dev":
            path = os.path.join(ROOT, entry)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    work = tempfile.mkdtemp(prefix="bgw-capture-")
    os.chmod(work, 0o755)
    for d in ("logs", "tmp"):
        os.makedirs(os.path.join(work, d))
        os.chmod(os.path.join(work, d), 0o777)
    port = free_port()
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""daemon off;
worker_processes 2;
pid {work}/nginx.pid;
error_log {work}/logs/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {work}/tmp/body;
    proxy_temp_path {work}/tmp/proxy;
    fastcgi_temp_path {work}/tmp/fastcgi;
    uwsgi_temp_path {work}/tmp/uwsgi;
    scgi_temp_path {work}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port};
        listen [::1]:{port};
        listen unix:{work}/nginx.sock;
        location / {{ return 204; }}
    }}
}}
""")
    fpm_conf = os.path.join(work, "php-fpm.conf")
    with open(fpm_conf, "w") as f:
        f.write(f"""[global]
pid = {work}/fpm.pid
error_log = {work}/fpm.log

[lab]
user = nobody
group = nogroup
listen = {work}/lab-fpm.sock
listen.owner = root
listen.group = root
listen.mode = 0660
listen.backlog = 7
pm = dynamic
pm.max_children = 1
pm.start_servers = 1
pm.min_spare_servers = 1
pm.max_spare_servers = 1
request_terminate_timeout = 1s
""")
    with open(os.path.join(work, "slow.php"), "w") as f:
        f.write("<?php sleep(3); echo 'done';\n")
    quiet = dict(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    nginx = subprocess.Popen(["/usr/sbin/nginx", "-p", work, "-c", conf, "-e", f"{work}/logs/error.log"], **quiet)
    fpm_bin = sorted(glob.glob("/usr/sbin/php-fpm*"))[0]
    fpm = subprocess.Popen([fpm_bin, "-y", fpm_conf, "-p", work, "-F"], **quiet)
    try:
        for _ in range(200):
            if os.path.exists(f"{work}/lab-fpm.sock") and os.path.exists(f"{work}/nginx.sock"):
                break
            time.sleep(0.05)
        time.sleep(0.3)
        for _ in range(3):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/").read()
        # Two slow FastCGI requests at once: PHP-FPM logs that the pool hit
        # pm.max_children and that the request ran past its timeout.
        threads = [threading.Thread(target=fastcgi_get, args=(f"{work}/lab-fpm.sock", f"{work}/slow.php"))
                   for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        time.sleep(1.5)
        # Outgoing connections from this side: two closed by us first (our
        # TIME_WAIT, ephemeral local ports) and one kept open.
        held = []
        for i in range(3):
            c = socket.create_connection(("127.0.0.1", port))
            c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            c.recv(4096)
            held.append(c)
        held[0].close()
        held[1].close()
        time.sleep(0.2)
        pids = [nginx.pid, fpm.pid]
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    with open(f"/proc/{p}/stat") as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                except OSError:
                    continue
                if ppid in (nginx.pid, fpm.pid):
                    pids.append(int(p))
        inodes = set()
        for pid in pids:
            d = f"/proc/{pid}"
            for name in ("stat", "status", "cmdline", "limits"):
                copy(f"{d}/{name}")
            link(f"{d}/exe", os.readlink(f"{d}/exe"))
            for fd in os.listdir(f"{d}/fd"):
                t = os.readlink(f"{d}/fd/{fd}")
                if t.startswith("socket:["):
                    inodes.add(t[8:-1])
                link(f"{d}/fd/{fd}", t)
        # Socket tables: the header, the captured processes' sockets, and
        # connections to the nginx port.
        hexport = f"{port:04X}"
        for name in ("tcp", "tcp6", "unix"):
            with open(f"/proc/net/{name}") as f:
                lines = f.readlines()
            keep = [lines[0]]
            for l in lines[1:]:
                w = l.split()
                inode = w[6] if name == "unix" else w[9]
                if inode in inodes or (name != "unix" and (w[1].endswith(hexport) or w[2].endswith(hexport))):
                    keep.append(l)
            put(f"/proc/net/{name}", "".join(keep).encode())
        for f in ("/proc/net/netstat", "/proc/net/sockstat", "/proc/stat", "/proc/meminfo",
                  "/proc/sys/fs/file-nr", "/proc/sys/net/ipv4/ip_local_port_range",
                  "/proc/sys/net/core/somaxconn", "/proc/sys/net/ipv4/tcp_tw_reuse",
                  conf, fpm_conf, f"{work}/fpm.log"):
            copy(f)
        # Only the accounts the tests need.
        for f in ("/etc/passwd", "/etc/group"):
            with open(f) as fh:
                keep = [l for l in fh if l.split(":")[0] in ("root", "daemon", "www-data", "nobody", "nogroup")]
            put(f, "".join(keep).encode())
        for f in glob.glob("/proc/pressure/*"):
            copy(f)
        out = subprocess.run(["/usr/sbin/nginx", "-V"], capture_output=True, text=True)
        with open(os.path.join(HERE, "nginx-V.txt"), "w") as f:
            f.write(out.stderr)
        with open(os.path.join(ROOT, "capture.env"), "w") as f:
            f.write(f"NGINX_MASTER={nginx.pid}\nFPM_MASTER={fpm.pid}\nPORT={port}\nPREFIX={work}\n"
                    f"NGINX_CONF={conf}\nFPM_CONF={fpm_conf}\n")
    finally:
        nginx.send_signal(signal.SIGQUIT)
        fpm.send_signal(signal.SIGQUIT)
        nginx.wait(10)
        fpm.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
