"""The IAM policies in iam/ (docs/aws.md): least privilege, and enough for what publish does.

A small evaluator reads the policies the way IAM does for these cases: an action is allowed
when an Allow statement names it (wildcards as IAM writes them) for a matching resource and
its conditions hold, and no Deny statement matches.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest
from fixtures_project import Result
from fixtures_send import add_subscribers

from sphere.settings import load_settings
from sphere.store.blobs import BlobStore

REPO = Path(__file__).resolve().parent.parent
IAM = REPO / "iam"
DATA = "arn:aws:s3:::sphere-data-example"
SITE = "arn:aws:s3:::sphere-site-example"
SES_IDENTITY = "arn:aws:ses:eu-west-2:123456789012:identity/jimwigg.com"


def _policy(name: str) -> dict[str, Any]:
    policy: dict[str, Any] = json.loads((IAM / name).read_text(encoding="utf-8"))
    return policy


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _conditions_hold(statement: dict[str, Any], context: dict[str, str]) -> bool:
    for operator, tests in statement.get("Condition", {}).items():
        for key, expected in tests.items():
            actual = context.get(key)
            if actual is None:
                return False
            wanted = _listed(expected)
            if operator == "StringEquals" and actual not in wanted:
                return False
            if operator == "StringLike" and not any(fnmatchcase(actual, w) for w in wanted):
                return False
            if operator == "StringNotEquals" and actual in wanted:
                return False
            if operator == "Bool" and actual.lower() not in [w.lower() for w in wanted]:
                return False
    return True


def allowed(policy: dict[str, Any], action: str, resource: str, **context: str) -> bool:
    """Whether `policy` allows `action` on `resource` with these condition keys."""

    def matches(statement: dict[str, Any]) -> bool:
        return (
            any(fnmatchcase(action, a) for a in _listed(statement["Action"]))
            and any(fnmatchcase(resource, r) for r in _listed(statement["Resource"]))
            and _conditions_hold(statement, context)
        )

    statements = policy["Statement"]
    if any(s["Effect"] == "Deny" and matches(s) for s in statements):
        return False
    return any(s["Effect"] == "Allow" and matches(s) for s in statements)


ROLE = _policy("publish-role-policy.json")


@pytest.mark.parametrize("name", sorted(p.name for p in IAM.glob("*.json")))
def test_every_policy_parses_and_uses_the_current_language(name: str) -> None:
    policy = _policy(name)
    assert policy["Version"] == "2012-10-17"
    assert policy["Statement"] and all(
        s["Effect"] in ("Allow", "Deny") for s in policy["Statement"]
    )
    for statement in policy["Statement"]:
        if statement["Effect"] == "Allow":
            assert not [a for a in _listed(statement["Action"]) if a == "*" or a.endswith(":*")]


def test_the_role_sends_only_as_the_newsletter() -> None:
    sender = load_settings(REPO).sender_address
    assert allowed(ROLE, "ses:SendEmail", SES_IDENTITY, **{"ses:FromAddress": sender})
    assert not allowed(ROLE, "ses:SendEmail", SES_IDENTITY, **{"ses:FromAddress": "ceo@jimwigg.com"})  # fmt: skip
    assert not allowed(ROLE, "ses:SendEmail", "arn:aws:ses:eu-west-2:123456789012:identity/other.example", **{"ses:FromAddress": sender})  # fmt: skip
    assert allowed(ROLE, "ses:GetAccount", "*")
    for action in ("ses:CreateEmailIdentity", "ses:PutAccountSendingAttributes", "iam:PassRole"):
        assert not allowed(ROLE, action, "*")
    wide = [s for s in ROLE["Statement"] if s["Resource"] == "*"]
    assert [s["Action"] for s in wide] == ["ses:GetAccount"]  # it has no resource to name


def test_the_role_deletes_nothing_in_the_data_prefix_but_what_compaction_folded() -> None:
    # A finished send marks its lease released with a conditional write: it deletes nothing.
    assert not allowed(ROLE, "s3:DeleteObject", f"{DATA}/sphere/campaigns/an-issue/lease.json")
    # publish compacts the list (sphere.subscribers.upkeep): the changes it folded and the
    # shards it replaced go, only after the new snapshot is written.
    for key in ("subscribers/changes/0001-ab.jsonl", "subscribers/shards/0001-ab-0f.json"):
        assert allowed(ROLE, "s3:DeleteObject", f"{DATA}/sphere/{key}"), key
    for key in (
        "subscribers/snapshot.json", "campaigns/an-issue/campaign.json",
        "campaigns/an-issue/log/1-1.jsonl", "published/an-issue/record.json", "key-fingerprint.json",
    ):  # fmt: skip
        assert not allowed(ROLE, "s3:DeleteObject", f"{DATA}/sphere/{key}"), key
        assert allowed(ROLE, "s3:PutObject", f"{DATA}/sphere/{key}"), key
    assert not allowed(ROLE, "s3:GetObject", f"{DATA}/elsewhere/thing.json")
    assert not allowed(ROLE, "s3:DeleteBucket", DATA)
    assert not allowed(ROLE, "s3:PutBucketPolicy", DATA)


def test_the_role_reads_the_feedback_queue_and_nothing_else_of_sqs() -> None:
    # publish syncs feedback (bounces, complaints, mailed unsubscribes) before every send.
    queue = "arn:aws:sqs:eu-west-2:123456789012:sphere-feedback"
    assert allowed(ROLE, "sqs:ReceiveMessage", queue)
    assert allowed(ROLE, "sqs:DeleteMessage", queue)
    for action in (
        "sqs:SendMessage",
        "sqs:PurgeQueue",
        "sqs:DeleteQueue",
        "sqs:SetQueueAttributes",
    ):
        assert not allowed(ROLE, action, queue), action
    assert not allowed(ROLE, "sqs:ReceiveMessage", "arn:aws:sqs:eu-west-2:123456789012:other")


def test_the_role_can_deploy_the_site() -> None:
    assert allowed(ROLE, "s3:ListBucket", SITE)
    for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
        assert allowed(ROLE, action, f"{SITE}/issues/an-issue/index.html")


def test_only_this_repositorys_main_branch_in_production_assumes_the_role() -> None:
    trust = _policy("publish-role-trust.json")
    (statement,) = trust["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"]["Federated"].endswith(":oidc-provider/token.actions.githubusercontent.com")  # fmt: skip
    assert list(statement["Condition"]) == ["StringEquals"]  # exact: no StringLike wildcards
    claims = statement["Condition"]["StringEquals"]
    assert claims["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    subject = claims["token.actions.githubusercontent.com:sub"]
    assert subject == "repo:jimwigg/sphere:environment:production:ref:refs/heads/main"
    assert "*" not in subject


@pytest.mark.parametrize("name", ["data-bucket-policy.json", "site-bucket-policy.json"])
def test_the_buckets_refuse_plain_http(name: str) -> None:
    policy = _policy(name)
    bucket = DATA if name.startswith("data") else SITE
    for resource in (bucket, f"{bucket}/any/key"):
        assert not allowed(policy, "s3:GetObject", resource, **{"aws:SecureTransport": "false"})


def test_the_data_bucket_refuses_unencrypted_writes() -> None:
    policy = _policy("data-bucket-policy.json")
    (deny,) = [s for s in policy["Statement"] if s["Sid"] == "EncryptedWritesOnly"]
    assert deny["Effect"] == "Deny" and deny["Action"] == "s3:PutObject"
    assert _conditions_hold(deny, {"s3:x-amz-server-side-encryption": "none"})
    assert not _conditions_hold(deny, {"s3:x-amz-server-side-encryption": "AES256"})


class _Recording:
    """A blob store that notes every key written and deleted (publish's real calls)."""

    def __init__(self, store: BlobStore, seen: dict[str, set[str]]):
        self.store, self.seen, self.url = store, seen, store.url

    def get(self, key: str) -> Any:
        self.seen["s3:GetObject"].add(key)
        return self.store.get(key)

    def put(self, key: str, data: bytes, **conditions: Any) -> str:
        self.seen["s3:PutObject"].add(key)
        return self.store.put(key, data, **conditions)

    def list(self, prefix: str = "") -> list[str]:
        return self.store.list(prefix)

    def delete(self, key: str) -> None:
        self.seen["s3:DeleteObject"].add(key)
        self.store.delete(key)

    def __getattr__(self, name: str) -> Any:  # what no IAM action is checked for (sweep)
        return getattr(self.store, name)


def test_the_role_allows_every_store_call_publish_makes(
    project: Path, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sphere.send.seams as seams
    import sphere.subscribers.list as subscriber_list
    from sphere.store.blobs import open_store
    from sphere.subscribers.list import SETTLE_SECONDS
    from sphere.subscribers.upkeep import COMPACT_AFTER

    seen: dict[str, set[str]] = {"s3:GetObject": set(), "s3:PutObject": set(), "s3:DeleteObject": set()}  # fmt: skip
    for module in (seams, subscriber_list):
        monkeypatch.setattr(
            module, "open_store", lambda settings: _Recording(open_store(settings), seen)
        )
    for n in range(COMPACT_AFTER):  # enough changes waiting that publish compacts the list
        add_subscribers(load_settings(), [(f"a{n}@example.org", "A")])
    time.sleep(SETTLE_SECONDS)  # compaction leaves changes younger than this to settle

    assert sphere("publish").status == 0
    assert sphere("publish").status == 0

    assert any(key.endswith("/lease.json") for key in seen["s3:PutObject"])  # released
    assert not any(key.startswith("campaigns/") for key in seen["s3:DeleteObject"])
    assert any(key.startswith("subscribers/changes/") for key in seen["s3:DeleteObject"])
    for action, keys in seen.items():
        for key in keys:
            assert allowed(ROLE, action, f"{DATA}/sphere/{key}"), (action, key)


def test_the_endpoint_may_count_an_unsubscribe_against_its_issue_and_nothing_more() -> None:
    """iam/endpoint-writes.json: the one write under campaigns/ the endpoint makes
    (sphere.issue_feedback.record_unsubscribe); the ledgers, leases and SES counts stay out."""
    from sphere.issue_feedback import prefix

    writes = _policy("endpoint-writes.json")
    key = f"{prefix('an-issue')}unsubscribed/Id_0123-abcdefgh.json"
    assert allowed(writes, "s3:PutObject", f"{DATA}/sphere/{key}")
    for other in (
        "campaigns/an-issue/campaign.json", "campaigns/an-issue/lease.json",
        "campaigns/an-issue/log/1-1.jsonl", f"{prefix('an-issue')}ses/1-00000.json",
        "published/an-issue/complete.json",
    ):  # fmt: skip
        assert not allowed(writes, "s3:PutObject", f"{DATA}/sphere/{other}"), other
    assert not allowed(writes, "s3:GetObject", f"{DATA}/sphere/{key}")
