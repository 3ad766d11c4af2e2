"""Test backend for wsproxy.nginx: health check, WebSocket echo and a Socket.IO server.

Runs inside the platform images on 127.0.0.1:3000 (systemd unit wsproxy-backend.service).
Settings come from the environment so scenarios can break it on purpose:
  WSPROXY_BACKEND_HOST / WSPROXY_BACKEND_PORT  where to listen
  WSPROXY_BACKEND_REQUIRE_ORIGIN               if set, /socket answers 403 to any other Origin
"""
import json
import os

import socketio
from aiohttp import WSMsgType, web


def _compact_json(data):
    # Same body as GUIDE.md shows for the health check: {"status":"ok"}
    return json.dumps(data, separators=(",", ":"))


def build_app(require_origin=None):
    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")

    @sio.event
    async def message(sid, data):
        await sio.emit("message", data, to=sid)

    app = web.Application()
    sio.attach(app, socketio_path="socket.io")

    async def health(_request):
        return web.json_response({"status": "ok"}, dumps=_compact_json)

    async def echo(request):
        if require_origin and request.headers.get("Origin") != require_origin:
            return web.Response(status=403, text="origin not allowed\n")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await ws.send_str(msg.data)
            elif msg.type == WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
        return ws

    app.router.add_get("/health", health)
    app.router.add_get("/socket", echo)
    return app


def main():
    web.run_app(
        build_app(os.environ.get("WSPROXY_BACKEND_REQUIRE_ORIGIN") or None),
        host=os.environ.get("WSPROXY_BACKEND_HOST", "127.0.0.1"),
        port=int(os.environ.get("WSPROXY_BACKEND_PORT", "3000")),
        print=None,
    )


if __name__ == "__main__":
    main()
