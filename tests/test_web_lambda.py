"""The endpoints as AWS Lambda runs them: function-URL events (payload 2.0) through apig-wsgi,
with the S3 store and the SSM parameter on moto in server mode.

There is no local Lambda runtime to stand in for AWS's; the handler is called with the event a
function URL sends (AWS's documented shape), which is all the runtime does with it.
"""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from fixtures_send import add_subscribers

from sphere.errors import SettingsError
from sphere.mail.tokens import Tokens
from sphere.settings import load_settings
from sphere.store import aws as sphere_aws
from sphere.subscribers.list import open_list
from sphere.web.lambda_handler import make_handler

SECRET = "lambda-test-secret-0123456789abcdefghij"
SOURCE_IP = "203.0.113.9"


def url_event(
    method: str, path: str, query: str = "", body: bytes = b"", **headers: str
) -> dict[str, Any]:
    """A Lambda function URL request event, as AWS documents it (payload format 2.0)."""
    host = "abcdefghijklmnop.lambda-url.eu-west-2.on.aws"
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {
            "host": host,
            "x-forwarded-for": "198.51.100.66",  # what a client may claim; not the source
            "x-forwarded-proto": "https",
            "x-forwarded-port": "443",
            "x-amzn-trace-id": "Root=1-5e8f3e8c-0a1b2c3d4e5f6a7b8c9d0e1f",
            **headers,
        },
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdefghijklmnop",
            "domainName": host,
            "domainPrefix": "abcdefghijklmnop",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": SOURCE_IP,
                "userAgent": headers.get("user-agent", "Mozilla/5.0"),
            },
            "requestId": "id",
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Dec/2026:09:00:00 +0000",
            "timeEpoch": 1_796_115_600_000,
        },
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
        "cookies": [],
    }


@pytest.fixture
def lambda_env(project: Path, s3_url: str) -> dict[str, str]:
    """The function's environment: the S3 store on moto, the project as the task root."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPHERE_")}
    env.update(
        SPHERE_STORE=s3_url,
        SPHERE_TRANSPORT="outbox:outbox",
        SPHERE_SECRET=SECRET,
        LAMBDA_TASK_ROOT=str(project),
        SPHERE_ENDPOINT_URL="https://abcdefghijklmnop.lambda-url.eu-west-2.on.aws/",
    )
    return env


def statuses(project: Path, env: dict[str, str]) -> dict[str, Any]:
    return {r.email: r for r in open_list(load_settings(project, env)).all()}


def test_the_one_click_post_through_a_function_url_unsubscribes(
    project: Path, lambda_env: dict[str, str]
) -> None:
    ids = add_subscribers(load_settings(project, lambda_env), [("reader@example.org", "")])
    token = Tokens(SECRET).unsubscribe(ids["reader@example.org"])
    handler = make_handler(lambda_env)

    shown = handler(url_event("GET", "/unsubscribe", f"t={quote(token)}"), None)
    assert statuses(project, lambda_env)["reader@example.org"].status == "subscribed"
    answer = handler(
        url_event(
            "POST",
            "/unsubscribe",
            f"t={quote(token)}",
            b"List-Unsubscribe=One-Click",
            **{"content-type": "application/x-www-form-urlencoded"},
        ),
        None,
    )

    assert (shown["statusCode"], answer["statusCode"]) == (200, 200)
    assert "You are unsubscribed" in answer["body"]
    headers = {k.lower(): v for k, v in answer["headers"].items()}
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["strict-transport-security"].startswith("max-age=")
    assert statuses(project, lambda_env)["reader@example.org"].status == "unsubscribed"


def test_consent_evidence_records_the_source_address_aws_saw(
    project: Path, lambda_env: dict[str, str]
) -> None:
    handler = make_handler(lambda_env)
    form = urlencode({"email": "new@example.org"}).encode()

    answer = handler(
        url_event(
            "POST", "/subscribe", "", form, **{"content-type": "application/x-www-form-urlencoded"}
        ),
        None,
    )

    assert answer["statusCode"] == 200
    record = statuses(project, lambda_env)["new@example.org"]
    assert record.status == "pending"
    assert (record.consent_evidence or {})["request_ip"] == SOURCE_IP
    assert len(list((project / "outbox").glob("*.eml"))) == 1


def test_the_secret_can_come_from_an_ssm_parameter(
    project: Path, lambda_env: dict[str, str]
) -> None:
    name = "/sphere/test/secret"
    sphere_aws.client("ssm").put_parameter(
        Name=name, Value=SECRET, Type="SecureString", Overwrite=True
    )
    del lambda_env["SPHERE_SECRET"]
    lambda_env["SPHERE_SECRET_PARAMETER"] = name
    lambda_env["SPHERE_TRANSPORT"] = "ses"  # reaches people: the secret is required
    ids = add_subscribers(
        load_settings(project, {**lambda_env, "SPHERE_SECRET": SECRET}), [("r@example.org", "")]
    )
    handler = make_handler(lambda_env)

    good = Tokens(SECRET).unsubscribe(ids["r@example.org"])
    forged = Tokens("another-secret-0123456789").unsubscribe(ids["r@example.org"])
    assert handler(url_event("GET", "/unsubscribe", f"t={quote(good)}"), None)["statusCode"] == 200
    assert (
        handler(url_event("GET", "/unsubscribe", f"t={quote(forged)}"), None)["statusCode"] == 400
    )


def test_a_missing_ssm_parameter_is_one_clear_error(
    project: Path, lambda_env: dict[str, str]
) -> None:
    lambda_env["SPHERE_SECRET_PARAMETER"] = "/sphere/test/nowhere"

    with pytest.raises(SettingsError) as raised:
        make_handler(lambda_env)

    assert str(raised.value) == (
        "error: SPHERE_SECRET_PARAMETER: cannot read the parameter /sphere/test/nowhere "
        "(ParameterNotFound)"
    )


def test_the_sam_template_runs_this_handler_with_settings_sphere_reads() -> None:
    import importlib

    import yaml

    from sphere.settings import setting_names

    class Loader(yaml.SafeLoader):
        """CloudFormation's short tags (!Ref, !Sub, ...) read as plain values."""

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    text = (Path(__file__).parent.parent / "deploy" / "template.yaml").read_text()
    template = yaml.load(text, Loader=Loader)  # noqa: S506 (a SafeLoader that drops tags)
    function = template["Resources"]["Endpoints"]["Properties"]

    module, _, name = function["Handler"].rpartition(".")
    assert callable(getattr(importlib.import_module(module), name))
    assert function["FunctionUrlConfig"]["AuthType"] == "NONE"
    known = {f"SPHERE_{key.upper()}" for key in setting_names()} | set(setting_names())
    for variable in function["Environment"]["Variables"]:
        assert variable in known or variable == "SPHERE_SECRET_PARAMETER", variable


def _subscribe(handler: Any, address: str) -> dict[str, Any]:
    form = urlencode({"email": address}).encode()
    kind = {"content-type": "application/x-www-form-urlencoded"}
    answer: dict[str, Any] = handler(url_event("POST", "/subscribe", "", form, **kind), None)
    return answer


def test_the_limits_hold_across_lambda_containers(
    project: Path, lambda_env: dict[str, str]
) -> None:
    """Each container is a stranger to the others: the limits live in the S3 store."""
    containers = [
        make_handler(lambda_env, answer_floor=0),
        make_handler(lambda_env, answer_floor=0),
    ]

    for n in range(8):  # one client, alternating containers
        assert _subscribe(containers[n % 2], f"person{n}@example.org")["statusCode"] == 200
    for n in range(6):  # one inbox, many spellings
        _subscribe(containers[n % 2], f"victim+{n}@gmail.com")

    assert len(list((project / "outbox").glob("*.eml"))) == 5  # the client's five, no more


def test_every_subscribe_answer_takes_the_same_time_on_lambda(
    project: Path, lambda_env: dict[str, str]
) -> None:
    """apig-wsgi answers once the work is done, so each answer is padded to the floor: a
    known address (no work) and a new one (a record and an email) take it alike."""
    add_subscribers(load_settings(project, lambda_env), [("known@example.org", "")])
    handler = make_handler(lambda_env, answer_floor=0.5)

    answers, took = [], []
    for address in ("known@example.org", "new@example.org"):
        started = time.monotonic()
        answers.append(_subscribe(handler, address)["body"])
        took.append(time.monotonic() - started)

    assert answers[0] == answers[1]
    assert min(took) >= 0.5
    assert len(list((project / "outbox").glob("*.eml"))) == 1
