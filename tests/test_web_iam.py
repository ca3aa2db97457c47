"""The Lambda function's permissions in deploy/template.yaml: exactly what the endpoints do.

The template is parsed (CloudFormation's short tags resolved for a sample stack), and every
store call a real run of the endpoints makes (subscribe, confirm, unsubscribe, the sweep) is
checked against it with tests/test_iam.py's evaluator; so is what it must not allow.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml
from fixtures_web import call_app
from test_iam import allowed

from sphere.mail.tokens import Tokens
from sphere.send.transports import open_transport
from sphere.settings import load_settings
from sphere.store.local import LocalStore
from sphere.subscribers.list import SubscriberList
from sphere.subscribers.members import Members
from sphere.subscribers.welcomes import WelcomeQueue
from sphere.web.app import Endpoints
from sphere.web.sweep import sweep_web
from sphere.welcome.deliver import Welcomer

REPO = Path(__file__).resolve().parent.parent
BUCKET, PREFIX = "sphere-data-example", "newsletter"
STORE = f"arn:aws:s3:::{BUCKET}/{PREFIX}"
IDENTITY = "arn:aws:ses:eu-west-2:123456789012:identity/jimwigg.com"
SENDER = "newsletter@jimwigg.com"
STACK = {
    "StoreBucket": BUCKET, "StorePrefix": PREFIX, "SecretParameter": "/sphere/secret",
    "SenderIdentityArn": IDENTITY, "SenderAddress": SENDER, "ConfigurationSet": "sphere",
    "AWS::Region": "eu-west-2", "AWS::AccountId": "123456789012",
}  # fmt: skip


class _Tag:
    def __init__(self, name: str, value: Any) -> None:
        self.name, self.value = name, value


class _Loader(yaml.SafeLoader):
    """CloudFormation's short tags (!Ref, !Sub, !If, ...) kept, to be resolved below."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> _Tag:
    if isinstance(node, yaml.SequenceNode):
        return _Tag(suffix, loader.construct_sequence(node, deep=True))
    return _Tag(suffix, loader.construct_scalar(node))  # type: ignore[arg-type]


_Loader.add_multi_constructor("!", _tag)
_DROP = object()


def _resolve(value: Any) -> Any:
    """The value for the sample stack (`STACK`); conditions as the template's Conditions say."""
    if isinstance(value, list):
        return [v for v in (_resolve(item) for item in value) if v is not _DROP]
    if isinstance(value, dict):
        return {k: _resolve(v) for k, v in value.items()}
    if not isinstance(value, _Tag):
        return value
    if value.name == "Ref":
        return _DROP if value.value == "AWS::NoValue" else STACK[value.value]
    if value.name == "Sub":
        return re.sub(r"\$\{([^}]+)\}", lambda m: STACK[m[1]], value.value)
    if value.name == "If":
        condition, yes, no = value.value
        assert condition == "HasConfigurationSet"
        return _resolve(yes if STACK["ConfigurationSet"] else no)
    raise AssertionError(f"unexpected tag !{value.name}")


def _policy() -> dict[str, Any]:
    text = (REPO / "deploy" / "template.yaml").read_text(encoding="utf-8")
    template = yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader with tags kept)
    (policy,) = template["Resources"]["Endpoints"]["Properties"]["Policies"]
    return {"Version": "2012-10-17", "Statement": _resolve(policy["Statement"])}


POLICY = _policy()


class _Recording(LocalStore):
    """A real folder store that notes every call, as the S3 actions it would be."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.seen: dict[str, set[str]] = defaultdict(set)

    def get(self, key: str) -> Any:
        self.seen["s3:GetObject"].add(key)
        return super().get(key)

    def put(self, key: str, data: bytes, **conditions: Any) -> str:
        self.seen["s3:PutObject"].add(key)
        return super().put(key, data, **conditions)

    def list(self, prefix: str = "") -> list[str]:
        self.seen["s3:ListBucket"].add(prefix)
        return super().list(prefix)

    def delete(self, key: str) -> None:
        self.seen["s3:DeleteObject"].add(key)
        super().delete(key)


class _Mail:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    def __call__(self, *, to: str, message: bytes) -> bool:
        self.messages.append(message)
        return True


def test_the_function_may_make_every_store_call_the_endpoints_make(project: Path) -> None:
    store = _Recording(project / "store")
    subscribers = SubscriberList(store, key=lambda: b"k" * 32)
    subscribers.add("reader@example.org")
    subscribers.add("gone@example.org")
    subscribers.erase("gone@example.org")
    subscribers.compact(settle=0)
    store.seen.clear()  # the CLI's part: from here on, only what the endpoints do
    tokens, mail = Tokens("s" * 40), _Mail()
    settings = load_settings(project)
    members = Members(subscribers)
    outbox = open_transport(settings)  # the welcome email, written to the project's outbox
    outbox.check()
    queue = WelcomeQueue(store, clock=subscribers.clock)
    welcomer = Welcomer(settings, queue=queue, transport=lambda: outbox, lookup=members.by_id)
    app = Endpoints(settings, members=members, tokens=tokens, mailer=mail, welcomer=welcomer)
    reader = subscribers.all()[0].id

    for address in ("new@example.org", "gone@example.org", "reader@example.org"):
        assert call_app(app, "POST", "/subscribe", body=urlencode({"email": address}).encode())
    for message in mail.messages:
        token = re.search(rb"/confirm\?t=(\S+)", message)[1].decode()  # type: ignore[index]
        assert call_app(app, "POST", "/confirm", body=urlencode({"t": token}).encode()) == "200 OK"
    one_click = urlencode({"t": tokens.unsubscribe(reader)})
    assert call_app(app, "POST", "/unsubscribe", one_click, b"List-Unsubscribe=One-Click")
    sweep_web(store, now=subscribers.clock.now() + 30 * 86400)

    assert {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"} <= set(store.seen)
    welcomed = [k for k in store.seen["s3:PutObject"] if k.startswith("welcome/due/")]
    assert len(welcomed) == 2  # new@ and gone@ (back by confirming); reader@ was subscribed
    # Each sent after its confirm's answer: its marker is no longer pending.
    assert set(welcomed) <= set(store.seen["s3:DeleteObject"])  # no longer pending
    for action, keys in store.seen.items():
        for key in keys:
            if action == "s3:ListBucket":
                assert allowed(POLICY, action, f"arn:aws:s3:::{BUCKET}", **{"s3:prefix": f"{PREFIX}/{key}"}), key  # fmt: skip
            else:
                assert allowed(POLICY, action, f"{STORE}/{key}"), (action, key)


@pytest.mark.parametrize(
    ("action", "key"),
    [
        ("s3:PutObject", "campaigns/an-issue/campaign.json"),
        ("s3:GetObject", "campaigns/an-issue/log/1-1.jsonl"),  # ledgers hold every address
        ("s3:PutObject", "subscribers/snapshot.json"),
        ("s3:PutObject", "keys/erasure"),
        ("s3:DeleteObject", "subscribers/changes/0001.jsonl"),
        ("s3:PutObject", "published/an-issue/record.json"),
    ],
)
def test_the_function_may_not_touch_the_rest_of_the_store(action: str, key: str) -> None:
    assert not allowed(POLICY, action, f"{STORE}/{key}")


def test_the_function_sends_only_as_the_newsletter() -> None:
    assert allowed(POLICY, "ses:SendEmail", IDENTITY, **{"ses:FromAddress": SENDER})
    assert not allowed(POLICY, "ses:SendEmail", IDENTITY, **{"ses:FromAddress": "ceo@jimwigg.com"})
    assert not allowed(POLICY, "ses:SendEmail", IDENTITY)  # no From: no condition holds
    assert load_settings(REPO).sender_address == SENDER  # the sample stack is this newsletter's
