"""Gets a long-lived access token from a fresh Home Assistant, as a person would:
onboarding creates the owner (POST /api/onboarding/users -> auth_code), the code is
exchanged at /auth/token, and the websocket command auth/long_lived_access_token
makes the long-lived token. Runs with the Home Assistant venv's Python (aiohttp).

Usage: python onboard.py http://127.0.0.1:PORT   -> prints the token on stdout
"""
import asyncio
import os
import ssl
import sys
import uuid

import aiohttp


async def main(base: str) -> None:
    client_id = f"{base}/"
    # With TLS, trust the test's CA (MONZO_TRAY_HA_CA), as the app does.
    ca = os.environ.get("MONZO_TRAY_HA_CA")
    context = ssl.create_default_context(cafile=ca) if ca else None
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as http:
        reply = await http.post(
            f"{base}/api/onboarding/users",
            json={
                "client_id": client_id,
                "name": "Test Owner",
                "username": "owner",
                "password": "monzo-tray-e2e-password",
                "language": "en",
            },
        )
        reply.raise_for_status()
        auth_code = (await reply.json())["auth_code"]
        reply = await http.post(
            f"{base}/auth/token",
            data={"grant_type": "authorization_code", "code": auth_code, "client_id": client_id},
        )
        reply.raise_for_status()
        access = (await reply.json())["access_token"]
        async with http.ws_connect(f"{base.replace('http', 'ws', 1)}/api/websocket") as ws:
            assert (await ws.receive_json())["type"] == "auth_required"
            await ws.send_json({"type": "auth", "access_token": access})
            assert (await ws.receive_json())["type"] == "auth_ok"
            await ws.send_json(
                {
                    "id": 1,
                    "type": "auth/long_lived_access_token",
                    "client_name": f"monzo-tray tests {uuid.uuid4().hex[:8]}",
                    "lifespan": 30,
                }
            )
            result = await ws.receive_json()
            assert result.get("success"), result
            print(result["result"])


asyncio.run(main(sys.argv[1].rstrip("/")))
