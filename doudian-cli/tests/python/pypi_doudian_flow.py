"""Drives `doudian mock` through the third-party PyPI client `doudian` 0.6, unmodified.

Environment: DOUDIAN_BASE_URL, DOUDIAN_APP_KEY, DOUDIAN_APP_SECRET, DOUDIAN_SHOP_ID.
Run with TZ=Asia/Shanghai: the client sends local time as `yyyy-MM-dd HH:MM:SS`, which the
platform reads as China time. Prints one JSON object with what each step returned and
exits non-zero when a step fails.
"""
import json
import os
import sys

from doudian import AppType, DouDian

base_url = os.environ["DOUDIAN_BASE_URL"]
summary = {}

# The client has no base-URL setting and creates a token in its constructor: point that
# first attempt at a closed local port (it fails at once), then at the mock.
client = DouDian(
    os.environ["DOUDIAN_APP_KEY"],
    os.environ["DOUDIAN_APP_SECRET"],
    app_type=AppType.SELF,
    shop_id=os.environ["DOUDIAN_SHOP_ID"],
    proxy={"http": "http://127.0.0.1:9", "https": "http://127.0.0.1:9"},
)
client._proxy = None
client._gate_way = base_url

summary["token_created"] = client.init_token()
first_token = (client._token or {}).get("access_token")

brands = client.request("/shop/brandList", {})
summary["brands"] = len((brands or {}).get("data") or [])
summary["brand_list_err_no"] = (brands or {}).get("err_no")

orders, page = [], 0
while True:
    reply = client.request("/order/searchList", {"page": page, "size": 10})
    if not reply or reply.get("err_no") != 0:
        summary["search_error"] = reply
        break
    data = reply["data"]
    orders.extend(o["order_id"] for o in data["shop_order_list"])
    page += 1
    if len(orders) >= data["total"] or not data["shop_order_list"]:
        summary["total"] = data["total"]
        break
summary["orders"] = len(orders)
summary["distinct_orders"] = len(set(orders))
summary["pages"] = page

# The client refreshes before a call when its token has less than 50 minutes left; the
# mock hands out 30-minute tokens, so the calls above refreshed it.
summary["token_refreshed"] = (client._token or {}).get("access_token") != first_token

print(json.dumps(summary))
ok = (
    summary["token_created"]
    and summary["brands"] > 0
    and summary["brand_list_err_no"] == 0
    and summary["orders"] == summary.get("total")
    and summary["distinct_orders"] == summary["orders"]
    and summary["token_refreshed"]
)
sys.exit(0 if ok else 1)
