"""Benchmark of the results pusher against moto (`make bench-lambdas`, `python -m tests.bench.lambdas`).

A synthetic batch of 1,000 records over 50 symbols, 500 connections subscribed
to 5 symbols each (fixed seed). Reports DynamoDB queries, PostToConnection
calls and wall time per batch, beside the earlier design (one query per record),
and checks the targets: queries <= distinct symbols, posts <= the sum over
connections of ceil(messages / 7).
"""

from __future__ import annotations

import base64
import json
import math
import os
import random
import statistics
import sys
import time

from tests.doubles.lambda_paths import add_lambda_paths

add_lambda_paths()

RECORDS, SYMBOLS, CONNECTIONS, PER_CONNECTION, RUNS = 1000, 50, 500, 5, 3


def synthetic_batch(rng: random.Random, symbols: list[str]) -> dict:
    records = []
    for i in range(RECORDS):
        symbol = symbols[rng.randrange(len(symbols))]
        message = {
            "measure_id": f"{symbol}-{i}",
            "measurement": "windowed-stock-quotation-volumes",
            "symbol": symbol,
            "sum_bid_volume": rng.random() * 1000,
        }
        records.append(
            {
                "kinesis": {
                    "sequenceNumber": str(10**20 + i),
                    "data": base64.b64encode(json.dumps(message).encode()).decode(),
                    "partitionKey": symbol,
                }
            }
        )
    return {"Records": records}


def main() -> int:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(name, value)
    import results_pusher
    from moto import mock_aws

    from tests.doubles import apigateway as doubles

    rng = random.Random(20261129)
    symbols = [f"SYM{i:02d}" for i in range(SYMBOLS)]
    batch = synthetic_batch(rng, symbols)
    subscriptions = {f"conn-{c:03d}": rng.sample(symbols, PER_CONNECTION) for c in range(CONNECTIONS)}

    with mock_aws():
        doubles.management_api_double(setattr)
        table = doubles.connections_table()
        with table.batch_writer() as writer:
            for connection_id, chosen in subscriptions.items():
                for symbol in chosen:
                    writer.put_item(Item={"connectionId": connection_id, "symbol": symbol})
        os.environ["WEBSOCKET_ENDPOINT"] = "https://abc123defg.execute-api.us-east-1.amazonaws.com/prod"
        post = results_pusher.post_with_api(results_pusher._management_api())
        times, counters = [], None
        for _ in range(RUNS):
            start = time.perf_counter()
            response, counters = results_pusher.push(batch, table, post)
            times.append(time.perf_counter() - start)
            assert response == {"batchItemFailures": []}

    per_symbol: dict[str, int] = {}
    for record in batch["Records"]:
        symbol = json.loads(base64.b64decode(record["kinesis"]["data"]))["symbol"]
        per_symbol[symbol] = per_symbol.get(symbol, 0) + 1
    distinct = len(per_symbol)
    post_bound = sum(math.ceil(sum(per_symbol.get(s, 0) for s in chosen) / 7) for chosen in subscriptions.values())
    messages = sum(sum(per_symbol.get(s, 0) for s in chosen) for chosen in subscriptions.values())
    print(
        f"batch: {RECORDS} records, {distinct} distinct symbols, {CONNECTIONS} connections x {PER_CONNECTION} "
        f"symbols, {messages} messages to deliver"
    )
    print(
        f"DynamoDB queries per batch: {counters.queries} (target <= {distinct}; earlier design: {RECORDS}, one per "
        "record)"
    )
    print(
        f"PostToConnection calls per batch: {counters.posts} (target <= {post_bound}; one post per message would be "
        f"{messages})"
    )
    print(
        f"wall time per batch against moto: median {statistics.median(times):.2f} s over {RUNS} runs "
        f"({', '.join(f'{t:.2f}' for t in times)})"
    )
    ok = counters.queries <= distinct and counters.posts <= post_bound
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
