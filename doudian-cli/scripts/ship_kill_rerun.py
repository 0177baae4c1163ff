#!/usr/bin/env python3
"""Measures what `doudian ship` reruns cost after kill -9s (README, Benchmarks).

Starts `MOCK_BIN mock --orders 2000 --qps order.logisticsAdd=100`, writes a CSV of every
order awaiting shipment, runs `SHIP_BIN ship --csv FILE --qps 100 --json` and kills it
with SIGKILL after SECS seconds, KILLS times, then runs it once more to completion and
prints the gateway's order.logisticsAdd and order.orderDetail counts (GET /_mock/stats).
Pass an older build as SHIP_BIN to compare.

usage: ship_kill_rerun.py SHIP_BIN MOCK_BIN KILLS SECS
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

ship_bin, mock_bin, kills, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
mock = subprocess.Popen([mock_bin, "mock", "--orders", "2000", "--qps", "order.logisticsAdd=100"],
                        stdout=subprocess.PIPE, text=True)
env = {"PATH": os.environ.get("PATH", ""), "NO_PROXY": "127.0.0.1"}
while not all(k in env for k in ("DOUDIAN_BASE_URL", "DOUDIAN_APP_KEY", "DOUDIAN_APP_SECRET", "DOUDIAN_SHOP_ID")):
    key, _, value = mock.stdout.readline().strip().partition("=")
    if key.startswith("DOUDIAN_"):
        env[key] = value


def stats():
    return json.load(urllib.request.urlopen(env["DOUDIAN_BASE_URL"] + "/_mock/stats", timeout=10))


def awaiting_shipment():
    """Every order with order_status 2, page by page (listing is not a ship call)."""
    ids, page = [], 0
    while True:
        reply = subprocess.run([ship_bin, "call", "order.searchList", json.dumps({"page": page, "size": 100})],
                               env=env, capture_output=True, text=True, check=True).stdout
        orders = json.loads(reply)["shop_order_list"]
        ids += [o["order_id"] for o in orders if o["order_status"] == 2]
        if len(orders) < 100:
            return ids
        page += 1


ids = awaiting_shipment()
csv = os.path.join(tempfile.mkdtemp(prefix="ship-kill-rerun-"), "orders.csv")
with open(csv, "w") as f:
    f.write("order_id,company_code,tracking_no\n")
    f.writelines(f"{i},zhongtong,ZT{i[-8:]}\n" for i in ids)
ship = [ship_bin, "ship", "--csv", csv, "--qps", "100", "--json"]
for run in range(kills):
    child = subprocess.Popen(ship, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(secs)
    if child.poll() is not None:
        print(f"run {run + 1} ended before its kill")
        break
    child.kill()
    child.wait()
last = subprocess.run(ship, env=env, capture_output=True, text=True)
counts = stats()
print(f"{len(ids)} orders, {kills} kills after {secs} s each; last run: {json.dumps(json.loads(last.stdout))}")
print(f"order.logisticsAdd {counts['calls'].get('order.logisticsAdd')} (codes {counts['codes'].get('order.logisticsAdd')}), "
      f"order.orderDetail {counts['calls'].get('order.orderDetail', 0)}")
mock.terminate()
mock.wait()
