#!/usr/bin/env python3
"""Data for scripts/bench-diagnose: a host with 50 upstreams on loopback,
half of them broken in planted ways, and an error log that blames them.

    bench-diagnose-data.py setup WORK LOGDIR    -> WORK/plan.json, WORK/nginx.conf,
                                                   WORK/nginx-blackhole.conf,
                                                   WORK/backends.txt (ADDR MODE per line)
    bench-diagnose-data.py log PLAN SRC OUT     -> OUT (SRC rewritten for PLAN)

`setup` picks free loopback ports (bound together, then released, so they
are distinct) and writes the plan: every upstream's name, address, protocol,
planted fault and the root cause a correct diagnosis names.

`log` rewrites an error log made by ../shared/bench/gen_error_log.py so that
it describes this host: timestamps are spread evenly over the 58 minutes
before END (all inside `diagnose`'s default window, the hour before the
newest entry), every upstream failure line is reassigned, deterministically,
to one planted broken upstream with the message nginx 1.22 writes for that
fault, client aborts are moved to healthy upstreams, the `[emerg]` reload
failures are left out (they would plant a config problem this benchmark does
not set up), and every other line is kept byte for byte. The result's
ground truth is OUT.truth.json (failure lines per upstream).
"""

import json
import os
import random
import re
import socket
import sys
import time

END = "2026-11-21 12:00:00"  # newest entry (local time, as nginx writes it)
SPAN_SECS = 58 * 60

# (fault, count, lab-backend mode or None, protocol, expected causes)
# The expected causes are the SPEC codes a correct diagnosis may name.
FAULTS = [
    ("ok", 22, "ok", "http", []),
    ("ok-unix", 3, "ok", "http", []),
    ("refused", 5, None, "http", ["upstream-down"]),
    ("socket-missing", 4, None, "http", ["socket-missing"]),
    ("socket-permission", 2, "ok", "http", ["socket-permission"]),
    ("slow", 3, "slow:400", "http", ["upstream-timeout"]),
    ("fastcgi-to-http", 3, "ok", "fastcgi", ["protocol-mismatch"]),
    ("garbage", 2, "garbage", "http", ["protocol-mismatch", "invalid-response"]),
    ("invalid-header", 2, "invalid-header", "http", ["protocol-mismatch", "invalid-response"]),
    ("marked-down", 2, "ok", "http", ["servers-marked-down"]),
    ("reset", 1, "reset", "http", ["backend-crash", "keepalive-race"]),
    ("close", 1, "close", "http", ["backend-crash", "keepalive-race"]),
]
BLACKHOLE = ("blackhole", 1, "blackhole", "http", ["connect-timeout"])
SLOW_READ_TIMEOUT = "250ms"  # proxy_read_timeout for the slow ones (backend answers in 400 ms)


def free_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def setup(work, logdir):
    run = os.path.join(work, "run")
    os.makedirs(run, exist_ok=True)
    # the worker (user nobody) must be able to reach the sockets' directory
    os.chmod(work, 0o755)
    os.chmod(run, 0o755)
    specs = [f for f in FAULTS for _ in range(f[1])] + [BLACKHOLE]
    ports = iter(free_ports(len(specs)))
    plan = []
    for i, (fault, _, mode, proto, expect) in enumerate(specs, 1):
        name = "svc%02d" % i
        if fault in ("ok-unix", "socket-missing", "socket-permission"):
            addr = "unix:%s/%s.sock" % (run, name)
        else:
            addr = "127.0.0.1:%d" % next(ports)
        plan.append({"name": name, "fault": fault, "mode": mode, "protocol": proto,
                     "address": addr, "expect": expect, "server": "s%d.example.test" % (i % 5),
                     "broken": bool(expect)})
    with open(os.path.join(work, "plan.json"), "w") as f:
        json.dump(plan, f, indent=1)
    with open(os.path.join(work, "backends.txt"), "w") as f:
        for u in plan:
            if u["mode"]:
                f.write("%s %s %s\n" % (u["name"], u["address"], u["mode"]))
    error_log = os.path.join(logdir, "error.log")
    write_conf(os.path.join(work, "nginx.conf"), work, error_log, plan[:-1])
    write_conf(os.path.join(work, "nginx-blackhole.conf"), work, error_log, plan)


def write_conf(path, work, error_log, plan):
    out = ["user nobody nogroup;", "worker_processes 1;", "pid %s/nginx.pid;" % work,
           "error_log %s info;" % error_log, "events { worker_connections 1024; }", "http {",
           "    access_log off;"]
    for u in plan:
        down = " down" if u["fault"] == "marked-down" else ""
        out.append("    upstream %s { server %s%s; }" % (u["name"], u["address"], down))
    for s in sorted({u["server"] for u in plan}):
        out += ["    server {", "        listen 127.0.0.1:8080;", "        server_name %s;" % s]
        for u in plan:
            if u["server"] != s:
                continue
            out.append("        location /%s/ {" % u["name"])
            if u["protocol"] == "fastcgi":
                out += ["            fastcgi_pass %s;" % u["name"],
                        "            fastcgi_param SCRIPT_FILENAME /var/www/app/index.php;"]
            else:
                out.append("            proxy_pass http://%s;" % u["name"])
            if u["fault"] == "slow":
                out.append("            proxy_read_timeout %s;" % SLOW_READ_TIMEOUT)
            out.append("        }")
        out.append("    }")
    out.append("}")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


# nginx 1.22 messages per planted fault: (level, message; %s = peer)
MESSAGES = {
    "refused": ("error", "connect() failed (111: Connection refused) while connecting to upstream"),
    "socket-missing": ("crit", "connect() to %s failed (2: No such file or directory) while connecting to upstream"),
    "socket-permission": ("crit", "connect() to %s failed (13: Permission denied) while connecting to upstream"),
    "slow": ("error", "upstream timed out (110: Connection timed out) while reading response header from upstream"),
    "fastcgi-to-http": ("error", "upstream sent unsupported FastCGI protocol version: 72 while reading response header from upstream"),
    "garbage": ("error", "upstream sent no valid HTTP/1.0 header while reading response header from upstream"),
    "invalid-header": ("error", "upstream sent invalid header: \"X-Bad\\x01...\" while reading response header from upstream"),
    "marked-down": ("error", "no live upstreams while connecting to upstream"),
    "reset": ("error", "recv() failed (104: Connection reset by peer) while reading response header from upstream"),
    "close": ("error", "upstream prematurely closed connection while reading response header from upstream"),
}
HEAD = re.compile(rb"^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[(\w+)\] (\d+#\d+: \*\d+ )")
CLIENT = re.compile(rb", client: ([^,]*), server: [^,]*, request: \"((?:[^\"\\]|\\.)*)\"")
# the closing quote is missing when nginx cut the line inside the URI
UPSTREAM = re.compile(rb", upstream: \"[a-z]+://[^\"\n]*\"?")


def upstream_field(u, uri):
    scheme = "fastcgi" if u["protocol"] == "fastcgi" else "http"
    name = u["name"] if u["fault"] == "marked-down" else u["address"]
    if scheme == "fastcgi":
        return "%s://%s" % (scheme, name)
    return "%s://%s%s%s" % (scheme, name, ":" if name.startswith("unix:") else "", uri)


def log(plan_path, src, out):
    plan = json.load(open(plan_path))
    broken = [u for u in plan if u["broken"] and u["fault"] in MESSAGES]
    healthy = [u for u in plan if u["fault"] == "ok"]
    rng = random.Random(7)
    total = json.load(open(src + ".truth.json"))["lines"]
    end = time.mktime(time.strptime(END, "%Y-%m-%d %H:%M:%S"))
    start = end - SPAN_SECS
    truth = {u["name"]: 0 for u in broken}
    lines = kept = 0
    last_sec, last_ts = None, b""
    with open(src, "rb") as f, open(out, "wb") as w:
        for i, line in enumerate(f):
            sec = int(start + SPAN_SECS * i / max(total - 1, 1))
            if sec != last_sec:
                last_sec = sec
                last_ts = time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(sec)).encode()
            m = HEAD.match(line)
            if not m:  # nginx cuts lines at 2048 bytes: keep any odd line as it is
                w.write(line)
                lines += 1
                continue
            level = m.group(2)
            if level == b"emerg":
                continue
            up = UPSTREAM.search(line) if b", upstream: \"" in line else None
            if up is None and b"could not be resolved" not in line:
                w.write(last_ts + line[19:])
                lines += 1
                kept += 1
                continue
            c = CLIENT.search(line)
            client, request = (c.group(1), c.group(2)) if c else (b"203.0.113.9", b"GET / HTTP/1.1")
            parts = request.split(b" ")
            uri = parts[1].decode("latin-1") if len(parts) >= 3 else "/"
            if level == b"info" and up is not None:
                # a client abort while a healthy backend was still working
                u = rng.choice(healthy)
                field = ', upstream: "%s"' % upstream_field(u, "/%s%s" % (u["name"], uri))
                w.write(last_ts + line[19:up.start()] + field.encode("latin-1") + line[up.end():])
                lines += 1
                continue
            u = rng.choice(broken)
            truth[u["name"]] += 1
            lvl, msg = MESSAGES[u["fault"]]
            if "%s" in msg:
                msg = msg % u["address"]
            path = "/%s%s" % (u["name"], uri)
            text = "%s [%s] %s%s, client: %s, server: %s, request: \"%s %s %s\", upstream: \"%s\", host: \"%s\"\n" % (
                last_ts.decode(), lvl, m.group(3).decode(), msg, client.decode("latin-1"), u["server"],
                parts[0].decode("latin-1") if parts else "GET", path,
                parts[-1].decode("latin-1") if len(parts) >= 3 else "HTTP/1.1",
                upstream_field(u, path), u["server"])
            w.write(text.encode("latin-1"))
            lines += 1
    with open(out + ".truth.json", "w") as f:
        json.dump({"lines": lines, "upstream_failures": sum(truth.values()),
                   "by_upstream": truth, "first": time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(start)),
                   "last": END.replace("-", "/")}, f, indent=1)
    print("%s: %d lines (%d kept verbatim), %d upstream failures over %d broken upstreams"
          % (out, lines, kept, sum(truth.values()), len(truth)), file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "setup":
        setup(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "log":
        log(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
