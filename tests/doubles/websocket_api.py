"""API Gateway's WebSocket API in front of the real connection handler, for the
smoke test's WebSocket check.

A local WebSocket server (the `websockets` library) does what API Gateway does
for the full stack's API: it gives each connection an id, sends `$connect`,
`$default` (every text message) and `$disconnect` to the handler as API
Gateway's Lambda proxy events, refuses a frame over 32 KB as API Gateway does
(close code 1009), and delivers what the handler posts to a connection
(`PostToConnection`) as a text frame to that client; a post to a connection
that has gone is GoneException. `silent` makes it accept subscriptions and
answer nothing, as a broken integration does.
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-route-keys-connect-disconnect.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html (WebSocket frame size 32 KB)
"""

from __future__ import annotations

import base64
import secrets
import threading
from typing import Any

FRAME_LIMIT = 32 * 1024
STAGE = "live"
API_ID = "a1b2c3d4e5"


class Gone(Exception):
    """PostToConnection to a connection that no longer exists (HTTP 410)."""


class WebSocketApiDouble:
    def __init__(self, table: Any, max_symbols: int = 50):
        self.table = table
        self.max_symbols = max_symbols
        self.silent = False
        self.routes: list[tuple[str, str]] = []
        self._open: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._disconnected = threading.Condition()
        self._server: Any = None

    def start(self) -> str:
        from websockets.sync.server import serve

        self._server = serve(self._serve, "127.0.0.1", 0, max_size=None)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        port = self._server.socket.getsockname()[1]
        return f"ws://127.0.0.1:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()

    # --- what API Gateway does -------------------------------------------
    def _serve(self, websocket: Any) -> None:
        connection_id = base64.b64encode(secrets.token_bytes(10)).decode()
        if self._route("$connect", connection_id, None).get("statusCode") != 200:
            websocket.close(1008, "Forbidden")
            return
        with self._lock:
            self._open[connection_id] = websocket
        try:
            for message in websocket:
                if isinstance(message, bytes) or len(message.encode("utf-8")) > FRAME_LIMIT:
                    websocket.close(1009, "Message too big")
                    break
                if not self.silent:
                    self._route("$default", connection_id, message)
        finally:
            with self._lock:
                self._open.pop(connection_id, None)
            self._route("$disconnect", connection_id, None)
            with self._disconnected:
                self._disconnected.notify_all()

    def wait_for_disconnects(self, count: int = 1, timeout: float = 10) -> list[tuple[str, str]]:
        """The routes seen, once `count` connections have gone through $disconnect:
        the server handles a client's close on its own thread, after the client returns."""
        with self._disconnected:
            self._disconnected.wait_for(
                lambda: sum(1 for route, _ in self.routes if route == "$disconnect") >= count, timeout
            )
        return list(self.routes)

    def _route(self, route: str, connection_id: str, body: str | None) -> dict:
        import connection_handler

        self.routes.append((route, connection_id))
        event = {
            "requestContext": {
                "routeKey": route,
                "eventType": {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route, "MESSAGE"),
                "connectionId": connection_id,
                "domainName": f"{API_ID}.execute-api.us-east-1.amazonaws.com",
                "stage": STAGE,
                "apiId": API_ID,
            },
            "isBase64Encoded": False,
        }
        if body is not None:
            event["body"] = body
        return connection_handler.handle(event, self.table, self._post, self.max_symbols)

    def _post(self, connection_id: str, message: dict) -> None:
        import wire

        with self._lock:
            websocket = self._open.get(connection_id)
        if websocket is None:
            raise Gone(connection_id)
        websocket.send(wire.encode(message).decode("ascii"))
