#!/usr/bin/env python3
"""Measures what a flood of pushes costs a listener whose handler is stuck (issue 18).

Starts `DOUDIAN_BIN push listen` (with `--journal` in a temporary directory when MODE is
`journal`) and never reads its stdout, so once the pipe is full its handler blocks. Posts
50,000 signed pushes of one order record each from 32 connections, then prints how the
pushes were answered (200: taken, 503: not taken, to be sent again) and the listener's
peak RSS (VmHWM) before and after.

In `direct` mode each push waits for the handler's 1.5 s deadline; give more connections
than the endpoint's 256 pushes in progress (say 400) to see the ones beyond answered 503 at
once.

usage: push_flood.py DOUDIAN_BIN journal|direct [CONNECTIONS]
"""
import hashlib
import http.client
import subprocess
import sys
import tempfile
import threading
import time

KEY, SECRET, PUSHES = "7012345678901234567", "s", 50_000
binary, mode = sys.argv[1], sys.argv[2]
CONNECTIONS = int(sys.argv[3]) if len(sys.argv) > 3 else 32
args = [binary, "push", "listen", "--port", "0", "--app-key", KEY, "--app-secret", SECRET]
if mode == "journal":
    args += ["--journal", tempfile.mkdtemp()]
listener = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
port = int(listener.stderr.readline().decode().split("http://127.0.0.1:")[1].split("/")[0])
# Drain the logs: a full stderr pipe would block the listener's logging, not its handler.
threading.Thread(target=lambda: [None for _ in listener.stderr], daemon=True).start()


def peak_rss_mib():
    for line in open(f"/proc/{listener.pid}/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) // 1024


answers, lock = {}, threading.Lock()


def post(numbers):
    connection = http.client.HTTPConnection("127.0.0.1", port)
    for n in numbers:
        data = ('{"order_id":"%d","shop_id":1,"p_id":"%d","s_ids":["%d"],"order_status":2,'
                '"order_type":0,"pay_amount":1000,"update_time":1700000000}') % (n, n, n)
        body = ('[{"tag":"101","msg_id":"m%d","data":"%s"}]' % (n, data.replace('"', '\\"'))).encode()
        sign = hashlib.md5(KEY.encode() + body + SECRET.encode()).hexdigest()
        connection.request("POST", "/", body, {"app-id": KEY, "event-sign": sign})
        reply = connection.getresponse()
        reply.read()
        with lock:
            answers[reply.status] = answers.get(reply.status, 0) + 1


before = peak_rss_mib()
started = time.time()
threads = [threading.Thread(target=post, args=(range(i, PUSHES, CONNECTIONS),)) for i in range(CONNECTIONS)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(f"{mode}: {PUSHES} pushes in {time.time() - started:.1f} s, answers {answers}, "
      f"peak RSS {before} MiB at start -> {peak_rss_mib()} MiB")
listener.kill()
