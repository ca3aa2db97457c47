"""The author's whole flow, end to end, against moto (S3 and SES) in server mode on loopback.

In a fresh clone of a temporary git repository, the author adds issues and commits; then the
test runs the shell steps of publish.yml's `publish` job, as written there, in that clone.
Two stand-ins, for what a runner has and a test machine must not fetch: `uv` is a shim that
runs the command in this test's own (already synced) environment, and the job's `env` and the
OIDC step become the environment variables they would set (moto's endpoint and test keys).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import urllib.request
from collections import Counter
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
import yaml
from fixtures_aws import AWS_TEST_ENV
from fixtures_project import write_issue
from fixtures_send import add_subscribers

from sphere.settings import load_settings
from sphere.store import aws as sphere_aws

REPO = Path(__file__).resolve().parent.parent
WORKFLOW = REPO / ".github" / "workflows" / "publish.yml"
SECRET = "a-long-random-test-secret-0123456789"
POSTAL = "Jim Wigg, 1 High Street, Bath BA1 1AA, United Kingdom"
UV_SHIM = """#!/usr/bin/env bash
# uv for this test: the environment is synced already; `uv run CMD` runs CMD in it.
case "$1" in
    sync) exit 0 ;;
    run) shift; exec "$@" ;;
    *) echo "uv shim: unexpected: $*" >&2; exit 64 ;;
esac
"""
SUBSCRIBERS = [(f"reader{n}@example.org", f"Reader {n}") for n in range(3)]


def _git(folder: Path, *args: str) -> None:
    identity = ["-c", "user.name=Author", "-c", "user.email=author@example.org"]
    subprocess.run(["git", *identity, *args], cwd=folder, check=True, capture_output=True)


def _bucket(name: str) -> str:
    sphere_aws.client("s3").create_bucket(
        Bucket=name,
        CreateBucketConfiguration={"LocationConstraint": AWS_TEST_ENV["AWS_DEFAULT_REGION"]},
    )
    return name


class Flow:
    """The clone, its buckets and the steps publish.yml runs."""

    def __init__(self, tmp: Path, endpoint: str, domain: str):
        self.endpoint, self.domain = endpoint, domain
        self.clone = tmp / "clone"
        self.summary = tmp / "summary.md"
        self.output = tmp / "output"  # GITHUB_OUTPUT: the steps' outputs, afresh each run
        self.site = _bucket(f"site-{secrets.token_hex(5)}")
        self.data = _bucket(f"data-{secrets.token_hex(5)}")
        shims = tmp / "bin"
        shims.mkdir()
        (shims / "uv").write_text(UV_SHIM, encoding="utf-8")
        (shims / "uv").chmod(0o755)
        self.path = os.pathsep.join([str(shims), str(Path(sys.executable).parent), "/usr/bin", "/bin"])  # fmt: skip
        self.env = {
            "SPHERE_STORE": f"s3://{self.data}/sphere",
            "SPHERE_SITE": f"s3://{self.site}/",
            "SPHERE_TRANSPORT": "ses",
            "SPHERE_SECRET": SECRET,
            "SPHERE_POSTAL_ADDRESS": POSTAL,
            "SPHERE_FROM": f"Jim Wigg <newsletter@{domain}>",
        }

    def steps(self) -> list[tuple[str, str]]:
        job = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]["publish"]
        return [(step["name"], step["run"]) for step in job["steps"] if "run" in step]

    def run_workflow(self, today: str) -> dict[str, str]:
        """Every `run` step of the publish job, in order, as Actions runs them; their output."""
        env = {
            "PATH": self.path, "HOME": str(self.clone.parent), "SPHERE_TODAY": today,
            "GITHUB_STEP_SUMMARY": str(self.summary), "DRY_RUN": "", "ALLOW_LATE": "",
            "GITHUB_OUTPUT": str(self.output), "AS_OF": "", "SITE_HOST": "", "PAGES_CHANGED": "",
            "ACTED": "true",  # the Summary's, as a push sets it: the whole summary
            **AWS_TEST_ENV, "AWS_ENDPOINT_URL": self.endpoint, **self.env,
        }  # fmt: skip
        outputs = {}
        self.output.write_text("", encoding="utf-8")
        for name, script in self.steps():
            done = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                cwd=self.clone, env=env, capture_output=True, text=True, check=False, timeout=300,
            )  # fmt: skip
            assert done.returncode == 0, f"step {name!r} failed:\n{done.stdout}\n{done.stderr}"
            outputs[name] = done.stdout
        return outputs

    def objects(self) -> dict[str, dict[str, Any]]:
        client = sphere_aws.client("s3")
        listed = client.list_objects_v2(Bucket=self.site).get("Contents", [])
        return {
            item["Key"]: client.head_object(Bucket=self.site, Key=item["Key"]) for item in listed
        }

    def received(self) -> Counter[tuple[str, str]]:
        """(recipient, subject) of every message SES accepted from the newsletter."""
        with urllib.request.urlopen(self.endpoint + "/moto-api/data.json") as answer:  # noqa: S310
            stored = json.load(answer)["ses"]["RawMessage"]
        found: Counter[tuple[str, str]] = Counter()
        for item in stored:
            if item["source"] != f"newsletter@{self.domain}":
                continue
            message = message_from_bytes(item["raw_data"].encode(), policy=policy.default)
            found[(str(message["To"].addresses[0].addr_spec), str(message["Subject"]))] += 1
        return found


@pytest.fixture
def flow(tmp_path: Path, aws: str, monkeypatch: pytest.MonkeyPatch) -> Flow:
    """An origin repository with the newsletter's settings and theme (no issue yet), cloned."""
    from sphere.send.seams import ses_client

    domain = f"t{secrets.token_hex(4)}.example"
    ses_client().create_email_identity(EmailIdentity=domain)
    origin = tmp_path / "origin"
    (origin / "content" / "issues").mkdir(parents=True)
    shutil.copy(REPO / "pyproject.toml", origin / "pyproject.toml")
    shutil.copytree(REPO / "templates", origin / "templates")
    shutil.copytree(REPO / "content" / "images", origin / "content" / "images")
    (origin / "tools").mkdir()
    for tool in ("fenced.sh", "publish-acted.sh"):  # the summary's, the step output's
        shutil.copy(REPO / "tools" / tool, origin / "tools" / tool)
    (origin / "content" / "issues" / ".gitkeep").write_text("", encoding="utf-8")
    _git(origin, "init", "-q", "-b", "main")
    _git(origin, "add", "-A")
    _git(origin, "commit", "-qm", "The newsletter, before its first issue")
    flow = Flow(tmp_path, aws, domain)
    subprocess.run(["git", "clone", "-q", str(origin), str(flow.clone)], check=True)
    for key in list(os.environ):
        if key.startswith("SPHERE_"):
            monkeypatch.delenv(key)
    for key, value in flow.env.items():
        monkeypatch.setenv(key, value)
    add_subscribers(load_settings(flow.clone), SUBSCRIBERS)
    return flow


def test_merge_publishes_once_and_a_future_issue_waits_for_its_date(flow: Flow) -> None:
    write_issue(flow.clone, "2026-12-01-pipeline-reviews", title="Pipeline reviews", date="2026-12-01", body="Ask what changed since last week.\n")  # fmt: skip
    write_issue(flow.clone, "2027-02-01-later", title="Later", date="2027-02-01")
    write_issue(flow.clone, "2026-12-20-half-baked", title="Half baked", date="2026-12-20", status="draft")  # fmt: skip
    _git(flow.clone, "add", "-A")
    _git(flow.clone, "commit", "-qm", "Issue: pipeline reviews")

    first = flow.run_workflow(today="2026-12-01")

    objects = flow.objects()
    page = objects["issues/pipeline-reviews/index.html"]
    assert page["ContentType"] == "text/html; charset=utf-8"
    assert objects["feed.xml"]["ContentType"] == "application/atom+xml; charset=utf-8"
    (stylesheet,) = [key for key in objects if key.startswith("static/style.")]
    assert objects[stylesheet]["ContentType"] == "text/css; charset=utf-8"
    assert not [key for key in objects if "later" in key or "half-baked" in key]
    everyone_once = Counter({(address, "Pipeline reviews"): 1 for address, _ in SUBSCRIBERS})
    assert flow.received() == everyone_once
    assert "sent pipeline-reviews: 3 sent, 0 failed, 0 unknown, 0 skipped; 0 left (of 3)" in first["Publish"]  # fmt: skip
    assert flow.output.read_text(encoding="utf-8") == "acted=true\n"  # report, status, upload
    summary = flow.summary.read_text(encoding="utf-8")
    assert "## Publish" in summary and "sent pipeline-reviews: 3 sent" in summary
    assert "pipeline-reviews" in summary and "scheduled" in summary  # the status table

    etags = {key: head["ETag"] for key, head in objects.items()}
    second = flow.run_workflow(today="2026-12-01")

    assert second["Publish"].splitlines() == [
        f"s3://{flow.site}/: 0 files uploaded (0 bytes), 0 removed, 19 unchanged",
        "nothing to send: no ready issue is due and unsent",
    ]
    assert {key: head["ETag"] for key, head in flow.objects().items()} == etags
    assert flow.received() == everyone_once
    # An idle run: a scheduled one skips the report, the status table and the upload.
    assert flow.output.read_text(encoding="utf-8") == "acted=false\n"

    third = flow.run_workflow(today="2027-02-01")  # the clock reaches the later issue's date

    assert "sent later: 3 sent, 0 failed, 0 unknown, 0 skipped; 0 left (of 3)" in third["Publish"]
    objects = flow.objects()
    assert objects["issues/later/index.html"]["ContentType"] == "text/html; charset=utf-8"
    assert not [key for key in objects if "half-baked" in key]  # a draft: never
    later_once = Counter({(address, "Later"): 1 for address, _ in SUBSCRIBERS})
    assert flow.received() == everyone_once + later_once
