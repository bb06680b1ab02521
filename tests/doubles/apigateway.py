"""Test doubles for the Lambdas, used by the tests and by the benchmark.

moto provides DynamoDB and the WebSocket management API; this module adds what
moto lacks: connections that answer like API Gateway does when a client is gone
(410 GoneException), throttled (429 LimitExceededException), failing (500),
forbidden (403 ForbiddenException) or sent a payload over the 128 KB frame
limit (413 PayloadTooLargeException), and a record of every post, one by one.
https://docs.aws.amazon.com/apigatewayv2/latest/api/apigateway-connections-connectionid.html
"""

from __future__ import annotations

from urllib.parse import unquote

import boto3

REGION = "us-east-1"


class Connections:
    """What the WebSocket management API received, per connection, post by post."""

    def __init__(self):
        self.posts: dict[str, list[bytes]] = {}
        self.stale: set[str] = set()
        self.throttle_first: dict[str, int] = {}
        self.broken: set[str] = set()
        self.forbidden: set[str] = set()
        # Posts larger than this many bytes answer 413, as API Gateway's 128 KB frame limit does.
        self.max_payload = 128 * 1024
        self.calls = 0

    def decoded(self, connection_id: str) -> list:
        import wire

        return [wire.decode(data) for data in self.posts.get(connection_id, [])]


def management_api_double(patch) -> Connections:
    """Replace moto's post_to_connection through `patch(obj, name, value)`
    (pytest's monkeypatch.setattr, or setattr) and return the recorder."""
    from moto.apigatewaymanagementapi.models import ApiGatewayManagementApiBackend
    from moto.core.exceptions import JsonRESTError

    class Gone(JsonRESTError):
        code = 410

        def __init__(self):
            super().__init__("GoneException", "The connection is gone.")

    class Throttled(JsonRESTError):
        code = 429

        def __init__(self):
            super().__init__("LimitExceededException", "Rate exceeded.")

    class Forbidden(JsonRESTError):
        code = 403

        def __init__(self):
            super().__init__("ForbiddenException", "Forbidden.")

    class TooLarge(JsonRESTError):
        code = 413

        def __init__(self):
            super().__init__("PayloadTooLargeException", "Payload too large.")

    class ServerError(JsonRESTError):
        code = 500

        def __init__(self):
            super().__init__("InternalServerErrorException", "Internal server error.")

    state = Connections()

    def post_to_connection(self, data: bytes, connection_id: str) -> None:
        # moto hands over the id still URL-encoded ('=' as %3D); API Gateway decodes it.
        connection_id = unquote(connection_id)
        state.calls += 1
        if connection_id in state.stale:
            raise Gone()
        if connection_id in state.broken:
            raise ServerError()
        if connection_id in state.forbidden:
            raise Forbidden()
        if len(data) > state.max_payload:
            raise TooLarge()
        if state.throttle_first.get(connection_id, 0) > 0:
            state.throttle_first[connection_id] -= 1
            raise Throttled()
        state.posts.setdefault(connection_id, []).append(bytes(data))

    patch(ApiGatewayManagementApiBackend, "post_to_connection", post_to_connection)
    return state


def connections_table(name: str = "connections"):
    """The connections table, created with the key schema and GSI the foundations template declares."""
    from templates_py.config import BuildConfig
    from templates_py.stacks import foundations

    declared = foundations.build(BuildConfig().validated()).to_dict()["Resources"]["ConnectionsTable"]["Properties"]
    keep = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")
    table = boto3.resource("dynamodb", region_name=REGION).create_table(
        TableName=name, **{k: declared[k] for k in keep}
    )
    table.wait_until_exists()
    return table
