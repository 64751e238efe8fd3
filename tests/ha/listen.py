"""Follows Home Assistant's event bus and prints each event of one type as a JSON
line, as it comes, until killed. Prints "ready" once subscribed. Runs with the Home
Assistant venv's Python (aiohttp).

Usage: python listen.py http://127.0.0.1:PORT TOKEN EVENT_TYPE
(EVENT_TYPE "state_changed" follows states; any other type as fired.)
"""
import asyncio
import json
import sys

import aiohttp


async def main(base: str, token: str, event_type: str) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(f"{base.replace('http', 'ws', 1)}/api/websocket") as ws:
            assert (await ws.receive_json())["type"] == "auth_required"
            await ws.send_json({"type": "auth", "access_token": token})
            assert (await ws.receive_json())["type"] == "auth_ok"
            await ws.send_json({"id": 1, "type": "subscribe_events", "event_type": event_type})
            while True:
                reply = await ws.receive_json()
                if reply.get("id") == 1 and reply.get("type") == "result":
                    break
            if not reply.get("success"):
                sys.exit(f"subscribe_events failed: {reply}")
            print("ready", flush=True)
            while True:
                message = await ws.receive_json()
                if message.get("type") == "event":
                    print(json.dumps(message["event"]), flush=True)


asyncio.run(main(sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]))
