"""A real MCP client against `doudian mcp`: PyPI `mcp` (pinned in .ci/run and in
doudian-cli/tests/mcp.rs) launches the server over stdio, twice: without --allow-writes
(tools, search, describe, calls, refusals), then with it (the write goes through).

Run by doudian-cli/tests/mcp.rs: DOUDIAN_BIN is the `doudian` binary, the other DOUDIAN_*
variables (and RUST_LOG, NO_PROXY) are handed to the server; argv: ORDER_ID REMARK.
Prints one JSON object with every answer; the Rust test asserts on it. The server's
stderr (its logs) goes to this process's stderr.
"""

import asyncio
import contextlib
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError


@contextlib.asynccontextmanager
async def server(*flags):
    params = StdioServerParameters(command=os.environ["DOUDIAN_BIN"], args=["mcp", *flags], env=dict(os.environ))
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            yield session


async def call(session, tool, arguments):
    result = await session.call_tool(tool, arguments)
    return {
        "is_error": result.is_error,
        "structured": result.structured_content,
        "text": [block.text for block in result.content if block.type == "text"],
        "meta": result.meta,
    }


async def main():
    order_id, remark = sys.argv[1], sys.argv[2]
    remark_params = {"order_id": order_id, "remark": remark}
    out = {}
    async with server("--tool", "order.searchList", "--tool", "order.addOrderRemark") as s:
        tools = (await s.list_tools()).tools
        out["tools"] = [
            {
                "name": t.name,
                "input_schema": t.input_schema,
                "read_only_hint": t.annotations.read_only_hint if t.annotations else None,
            }
            for t in tools
        ]
        out["search_order"] = await call(s, "search_methods", {"query": "order", "limit": 200})
        out["search_zh"] = await call(s, "search_methods", {"query": "订单", "limit": 200})
        out["search_case"] = await call(s, "search_methods", {"query": "ORDER.SEARCHLIST"})
        out["describe"] = await call(s, "describe_method", {"name": "order.searchList"})
        out["call"] = await call(s, "call_method", {"name": "order.searchList", "params": {"page": 0, "size": 100}})
        out["tool_call"] = await call(s, "order_searchList", {"page": 0, "size": 100})
        out["not_object"] = await call(s, "call_method", {"name": "order.searchList", "params": [0, 100]})
        out["misspelt"] = await call(s, "call_method", {"name": "order.searchList", "parameters": {"page": 0}})
        out["unknown_method"] = await call(s, "call_method", {"name": "order.noSuchMethod", "params": {}})
        out["api_error"] = await call(s, "call_method", {"name": "order.orderDetail", "params": {"shop_order_id": "404"}})
        out["write_refused"] = await call(s, "call_method", {"name": "order.addOrderRemark", "params": remark_params})
        out["write_tool_refused"] = await call(s, "order_addOrderRemark", remark_params)
        out["token_refused"] = await call(s, "call_method", {"name": "token.create", "params": {}})
        try:
            await s.call_tool("no_such_tool", {})
            out["unknown_tool"] = None
        except MCPError as e:
            out["unknown_tool"] = {"code": e.error.code, "message": e.error.message}
    async with server("--allow-writes") as s:
        out["write"] = await call(s, "call_method", {"name": "order.addOrderRemark", "params": remark_params})
    print(json.dumps(out, ensure_ascii=False))


asyncio.run(main())
