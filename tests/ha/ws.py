"""Runs one command on Home Assistant's websocket API and prints its result as JSON,
e.g. {"type": "config/device_registry/list"}. Runs with the Home Assistant venv's
Python (aiohttp).

Usage: python ws.py http://127.0.0.1:PORT TOKEN '{"type": "..."}'
"""
import asyncio
import json
import sys

import aiohttp


async def main(base: str, token: str, command: dict) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(f"{base.replace('http', 'ws', 1)}/api/websocket") as ws:
            assert (await ws.receive_json())["type"] == "auth_required"
            await ws.send_json({"type": "auth", "access_token": token})
            assert (await ws.receive_json())["type"] == "auth_ok"
            await ws.send_json({"id": 1, **command})
            while True:
                reply = await ws.receive_json()
                if reply.get("id") == 1 and reply.get("type") == "result":
                    break
            if not reply.get("success"):
                sys.exit(f"{command['type']} failed: {reply}")
            print(json.dumps(reply["result"]))


asyncio.run(main(sys.argv[1].rstrip("/"), sys.argv[2], json.loads(sys.argv[3])))
