"""`ensure` on its own, with a recording Secrets Manager and Lambda: what it asks
the agent, what it stores, what it logs and answers, and every refusal in
words. (test_token_provider.py runs the whole custom resource against moto and
the InfluxDB double.)"""

from __future__ import annotations

import io
import json
import logging

import pytest
import token_provider

ARNS = {"AdminTokenSecretArn": "arn:admin", "ReadTokenSecretArn": "arn:read", "WriteTokenSecretArn": "arn:write"}
PROPERTIES = {
    "AgentFunctionArn": "arn:agent",
    "InfluxUrl": "http://influx:8086",
    "Org": "streamlines",
    "Bucket": "market-data",
    **ARNS,
}
READ = {"authorizationID": "r1", "token": "read-token"}
WRITE = {"authorizationID": "w1", "token": "write-token"}


class Secrets:
    def __init__(self, read=None, write=None):
        self.values = {
            "arn:admin": "operator-token",
            "arn:read": json.dumps(read or {"authorizationID": "", "token": "PLACEHOLDER"}),
            "arn:write": json.dumps(write or {"authorizationID": "", "token": "PLACEHOLDER"}),
        }
        self.puts: list[tuple[str, dict]] = []

    def get_secret_value(self, SecretId):
        return {"SecretString": self.values[SecretId]}

    def put_secret_value(self, SecretId, SecretString):
        self.puts.append((SecretId, json.loads(SecretString)))
        self.values[SecretId] = SecretString


class Lambda:
    def __init__(self, answer):
        self.answer, self.payloads = answer, []

    def get_function_configuration(self, FunctionName):
        assert FunctionName == "arn:agent"
        return {"State": "Active", "LastUpdateStatus": "Successful"}

    def invoke(self, FunctionName, InvocationType, Payload):
        assert (FunctionName, InvocationType) == ("arn:agent", "RequestResponse")
        self.payloads.append(json.loads(Payload))
        body = json.dumps(self.answer).encode()
        return {"StatusCode": 200, "Payload": io.BytesIO(body)}


def issued(read=READ, write=WRITE, created=(True, True)):
    return {
        "ok": True,
        "requests": 7,
        "tokens": {"read": {**read, "created": created[0]}, "write": {**write, "created": created[1]}},
    }


def run(secrets, lambdas, old=None, remaining_ms=120_000, properties=PROPERTIES):
    return token_provider.ensure(
        properties, secrets, lambdas, remaining_ms, old, sleep=lambda s: None, clock=lambda: 0.0
    )


def test_a_create_asks_the_agent_once_and_stores_both_tokens(caplog):
    caplog.set_level(logging.INFO)
    secrets, lambdas = Secrets(), Lambda(issued())
    assert run(secrets, lambdas) == (
        "influx-tokens/streamlines/market-data",
        {"ReadAuthorizationId": "r1", "WriteAuthorizationId": "w1"},
    )
    (payload,) = lambdas.payloads
    assert payload == {
        "influxUrl": "http://influx:8086",
        "adminToken": "operator-token",
        "org": "streamlines",
        "bucket": "market-data",
        "description": "streamlines streamlines/market-data",
        "deadlineSeconds": 100,
        "stored": {
            "read": {"authorizationID": "", "token": "PLACEHOLDER"},
            "write": {"authorizationID": "", "token": "PLACEHOLDER"},
        },
    }
    assert secrets.puts == [("arn:read", READ), ("arn:write", WRITE)]
    assert json.loads(secrets.values["arn:read"]) == READ and secrets.values["arn:read"] == json.dumps(
        READ, sort_keys=True
    )
    logs = [json.loads(r.getMessage()) for r in caplog.records if r.name == "token_provider"]
    assert logs == [{"event": "tokens_stored", "created": ["read", "write"], "influxRequests": 7}]
    assert "read-token" not in caplog.text and "operator-token" not in caplog.text


def test_tokens_the_agent_kept_are_not_written_again(caplog):
    caplog.set_level(logging.INFO)
    secrets, lambdas = Secrets(READ, WRITE), Lambda(issued(created=(False, True)))
    run(secrets, lambdas)
    assert secrets.puts == []
    assert [json.loads(r.getMessage())["created"] for r in caplog.records if r.name == "token_provider"] == [["write"]]


def test_an_unchanged_update_gives_the_agent_a_short_deadline_and_keeps_tokens_when_it_fails(caplog):
    caplog.set_level(logging.INFO)
    secrets, lambdas = (
        Secrets(READ, WRITE),
        Lambda({"ok": False, "error": "InfluxDB did not become healthy\nsecond line", "requests": 3}),
    )
    answer = run(secrets, lambdas, old=dict(PROPERTIES))
    assert answer == (
        "influx-tokens/streamlines/market-data",
        {"ReadAuthorizationId": "r1", "WriteAuthorizationId": "w1"},
    )
    assert lambdas.payloads[0]["deadlineSeconds"] == token_provider.QUICK_CHECK_SECONDS
    logs = [json.loads(r.getMessage()) for r in caplog.records if r.name == "token_provider"]
    assert logs == [
        {
            "event": "tokens_kept",
            "why": "unchanged update; InfluxDB did not answer in time",
            "agent": "InfluxDB did not become healthy",
        }
    ]


def test_a_changed_update_needs_the_agent(caplog):
    secrets, lambdas = (
        Secrets(READ, WRITE),
        Lambda({"ok": False, "error": "InfluxDB did not become healthy\nsecond line"}),
    )
    old = {**PROPERTIES, "ReadTokenSecretArn": "arn:read-old"}
    with pytest.raises(token_provider.ProviderError) as failed:
        run(secrets, lambdas, old=old)
    assert str(failed.value) == "InfluxDB did not become healthy"
    assert lambdas.payloads[0]["deadlineSeconds"] == 100


@pytest.mark.parametrize(
    "answer, reason",
    [
        (None, "the token agent gave no answer"),
        ({"ok": False}, "the token agent gave no answer"),
        ([], "the token agent gave no answer"),
    ],
)
def test_an_agent_without_a_usable_answer_fails_in_words(answer, reason):
    with pytest.raises(token_provider.ProviderError) as failed:
        run(Secrets(), Lambda(answer))
    assert str(failed.value) == reason


def test_missing_properties_are_named():
    with pytest.raises(token_provider.ProviderError) as failed:
        run(Secrets(), Lambda(issued()), properties={**PROPERTIES, "Org": "", "WriteTokenSecretArn": None})
    assert str(failed.value) == "missing resource properties: Org, WriteTokenSecretArn"


def test_too_little_time_is_refused_before_the_agent_is_asked():
    lambdas = Lambda(issued())
    with pytest.raises(token_provider.ProviderError) as failed:
        run(
            Secrets(),
            lambdas,
            remaining_ms=(token_provider.RESERVE_SECONDS + token_provider.MIN_AGENT_SECONDS - 1) * 1000,
        )
    assert str(failed.value) == "not enough time left in this invocation to reach InfluxDB"
    assert lambdas.payloads == []
    run(Secrets(), lambdas, remaining_ms=(token_provider.RESERVE_SECONDS + token_provider.MIN_AGENT_SECONDS) * 1000)
    assert lambdas.payloads[0]["deadlineSeconds"] == token_provider.MIN_AGENT_SECONDS


@pytest.mark.parametrize("name, old_value", [("Org", "quotes-org"), ("Bucket", "quotes")])
def test_a_rename_is_refused_in_words(name, old_value):
    lambdas = Lambda(issued())
    with pytest.raises(token_provider.ProviderError) as failed:
        run(Secrets(), lambdas, old={**PROPERTIES, name: old_value})
    lower = name.lower()
    assert str(failed.value) == (
        f"InfluxDB created {lower} {old_value!r} at first boot and keeps it; {lower} {PROPERTIES[name]!r} does "
        f"not exist there. Keep {old_value!r} (InfluxDb{name} parameter)"
    )
    assert lambdas.payloads == []


def test_unchanged_means_every_identity_property_equal():
    assert token_provider.unchanged(PROPERTIES, dict(PROPERTIES))
    assert not token_provider.unchanged(PROPERTIES, None) and not token_provider.unchanged(PROPERTIES, {})
    for name in token_provider.IDENTITY:
        assert not token_provider.unchanged(PROPERTIES, {**PROPERTIES, name: "other"}), name
    assert token_provider.unchanged(PROPERTIES, {**PROPERTIES, "InfluxUrl": "http://elsewhere:8086"})


@pytest.mark.parametrize(
    "value, real",
    [
        (READ, True),
        ({"authorizationID": "", "token": "t"}, False),
        ({"authorizationID": "a", "token": "PLACEHOLDER"}, False),
        ({"authorizationID": "a", "token": ""}, False),
        ("read-token", False),
        (None, False),
    ],
)
def test_only_an_issued_token_with_its_authorization_counts(value, real):
    assert token_provider._is_token(value) is real


def test_a_secret_that_is_not_json_is_no_token():
    secrets = Secrets()
    secrets.values["arn:read"] = "not json"
    assert token_provider._secret_json(secrets, "arn:read") is None


def test_delete_only_logs_what_it_keeps(caplog):
    caplog.set_level(logging.INFO)
    assert token_provider.delete({"PhysicalResourceId": "influx-tokens/streamlines/market-data"}, None) is None
    assert [json.loads(r.getMessage()) for r in caplog.records if r.name == "token_provider"] == [
        {"event": "delete", "kept": "influx-tokens/streamlines/market-data"}
    ]


class Flaky(Lambda):
    """Answers the first invokes with errors, as botocore raises them."""

    def __init__(self, answer, errors, states=()):
        super().__init__(answer)
        self.errors, self.states = list(errors), list(states)

    def get_function_configuration(self, FunctionName):
        return self.states.pop(0) if self.states else super().get_function_configuration(FunctionName)

    def invoke(self, **kwargs):
        from botocore.exceptions import ClientError

        if self.errors:
            raise ClientError({"Error": {"Code": self.errors.pop(0)}}, "Invoke")
        return super().invoke(**kwargs)


def test_a_not_ready_agent_is_logged_waited_for_and_invoked(caplog):
    caplog.set_level(logging.INFO)
    slept = []
    lambdas = Flaky({"ok": True}, ["ResourceNotReadyException"], [{"State": "Pending"}, {"State": "Active"}])
    assert token_provider.invoke_agent(lambdas, "arn:agent", {}, 60, slept.append, lambda: 0.0) == {"ok": True}
    # The invoke's own wait, then the first wait for the function to be Active.
    assert slept == [2.0, 2.0]
    logs = [json.loads(r.getMessage()) for r in caplog.records if r.name == "token_provider"]
    assert logs == [{"event": "agent_not_ready", "code": "ResourceNotReadyException", "retry_in": 2.0}]


def test_a_function_error_is_its_first_line():
    class Failing(Lambda):
        def invoke(self, **kwargs):
            return {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "Payload": io.BytesIO(b'{"errorMessage": "boom\\ntraceback"}'),
            }

    with pytest.raises(token_provider.ProviderError) as failed:
        token_provider.invoke_agent(Failing(None), "arn:agent", {}, 60, lambda s: None, lambda: 0.0)
    assert str(failed.value) == "the token agent failed: boom"

    class Odd(Lambda):
        def invoke(self, **kwargs):
            return {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": io.BytesIO(b"[]")}

    with pytest.raises(token_provider.ProviderError) as failed:
        token_provider.invoke_agent(Odd(None), "arn:agent", {}, 60, lambda s: None, lambda: 0.0)
    assert str(failed.value) == "the token agent failed: unknown error"


@pytest.mark.parametrize(
    "configuration, message",
    [
        (
            {"State": "Failed", "StateReasonCode": "SubnetOutOfIPAddresses"},
            "the token agent function is Failed (SubnetOutOfIPAddresses)",
        ),
        (
            {"State": "Pending", "LastUpdateStatus": "Failed", "LastUpdateStatusReasonCode": "EniLimitExceeded"},
            "the token agent function is Pending (EniLimitExceeded)",
        ),
        ({"State": "Failed"}, "the token agent function is Failed (no reason given)"),
    ],
)
def test_a_failed_function_says_why(configuration, message):
    with pytest.raises(token_provider.ProviderError) as failed:
        token_provider.wait_until_active(Flaky(None, [], [configuration]), "arn:agent", 60, lambda s: None, lambda: 0.0)
    assert str(failed.value) == message


def test_an_update_in_progress_is_waited_out_and_the_budget_is_kept():
    now = [0.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    states = [{"State": "Active", "LastUpdateStatus": "InProgress"}] * 10
    with pytest.raises(token_provider.ProviderError) as failed:
        token_provider.wait_until_active(Flaky(None, [], states), "arn:agent", 20, sleep, lambda: now[0])
    assert (
        str(failed.value)
        == "the token agent function stayed Active (last update InProgress) until this invocation ran out of time"
    )
    assert slept == [2.0, 4.0, 8.0] and now[0] <= 20


def test_a_configuration_without_state_fields_counts_as_ready():
    """Functions created before Lambda reported states answer without State and LastUpdateStatus."""
    slept = []
    token_provider.wait_until_active(Flaky(None, [], [{}]), "arn:agent", 60, slept.append, lambda: 0.0)
    assert slept == []


class Timeline:
    def __init__(self):
        self.now, self.slept = 0.0, []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_the_waits_grow_then_stay_at_their_last_length():
    time = Timeline()
    pending = [{"State": "Pending"}] * 10 + [{"State": "Active"}]
    token_provider.wait_until_active(Flaky(None, [], pending), "arn:agent", 1000, time.sleep, time)
    assert time.slept == [2.0, 4.0, 8.0] + [15.0] * 7


def test_a_wait_that_ends_exactly_at_the_budget_is_still_taken():
    time = Timeline()
    token_provider.wait_until_active(
        Flaky(None, [], [{"State": "Pending"}, {"State": "Pending"}, {"State": "Active"}]),
        "arn:agent",
        6,
        time.sleep,
        time,
    )
    assert time.slept == [2.0, 4.0]
    time = Timeline()
    lambdas = Flaky({"ok": True}, ["TooManyRequestsException", "TooManyRequestsException"])
    assert token_provider.invoke_agent(lambdas, "arn:agent", {}, 6, time.sleep, time) == {"ok": True}
    assert time.slept == [2.0, 4.0]


def test_retries_of_the_invoke_also_stay_at_the_last_wait():
    time = Timeline()
    lambdas = Flaky({"ok": True}, ["ServiceException"] * 10)
    assert token_provider.invoke_agent(lambdas, "arn:agent", {}, 1000, time.sleep, time) == {"ok": True}
    assert time.slept == [2.0, 4.0, 8.0] + [15.0] * 7


def test_the_wait_after_not_ready_gets_what_is_left_of_the_budget():
    time = Timeline()
    # Active only on the third look, at 8 s: past the 5 s budget, so the wait gives up at the second.
    lambdas = Flaky(
        {"ok": True}, ["ResourceNotReadyException"], [{"State": "Pending"}, {"State": "Pending"}, {"State": "Active"}]
    )
    with pytest.raises(token_provider.ProviderError) as failed:
        token_provider.invoke_agent(lambdas, "arn:agent", {}, 5, time.sleep, time)
    assert (
        str(failed.value)
        == "the token agent function stayed Pending (last update Successful) until this invocation ran out of time"
    )


def test_an_invoke_error_without_a_code_is_named_by_itself():
    from botocore.exceptions import ClientError

    class Bare(Lambda):
        def invoke(self, **kwargs):
            raise ClientError({"ResponseMetadata": {"HTTPStatusCode": 500}}, "Invoke")

    with pytest.raises(token_provider.ProviderError) as failed:
        token_provider.invoke_agent(Bare(None), "arn:agent", {}, 60, lambda s: None, lambda: 0.0)
    assert (
        str(failed.value)
        == "cannot invoke the token agent: An error occurred (Unknown) when calling the Invoke operation: Unknown"
    )


def test_an_empty_answer_is_no_answer_and_an_error_without_message_is_unknown():
    class Empty(Lambda):
        def invoke(self, **kwargs):
            return {"StatusCode": 200, "Payload": io.BytesIO(b"")}

    assert token_provider.invoke_agent(Empty(None), "arn:agent", {}, 60, lambda s: None, lambda: 0.0) is None

    class Silent(Lambda):
        def invoke(self, **kwargs):
            return {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "Payload": io.BytesIO(b'{"errorType": "Runtime.ExitError"}'),
            }

    with pytest.raises(token_provider.ProviderError) as failed:
        token_provider.invoke_agent(Silent(None), "arn:agent", {}, 60, lambda s: None, lambda: 0.0)
    assert str(failed.value) == "the token agent failed: unknown error"


def test_time_spent_waiting_for_the_agent_comes_off_its_deadline():
    time = Timeline()
    lambdas = Flaky(issued(), ["TooManyRequestsException"], [{"State": "Pending"}, {"State": "Active"}])
    token_provider.ensure(PROPERTIES, Secrets(), lambdas, 120_000, None, time.sleep, time)
    # 2 s waiting for Active, then 2 s after the throttled invoke, both through the sleep given.
    assert time.slept == [2.0, 2.0]
    assert lambdas.payloads[0]["deadlineSeconds"] == 100 - 2


def test_a_wait_that_leaves_too_little_time_is_refused():
    time = Timeline()
    lambdas = Flaky(issued(), [], [{"State": "Pending"}, {"State": "Pending"}, {"State": "Active"}])
    remaining = (token_provider.RESERVE_SECONDS + token_provider.MIN_AGENT_SECONDS + 3) * 1000
    with pytest.raises(token_provider.ProviderError) as failed:
        token_provider.ensure(PROPERTIES, Secrets(), lambdas, remaining, None, time.sleep, time)
    assert str(failed.value) == "not enough time left in this invocation to reach InfluxDB"
    assert lambdas.payloads == []
