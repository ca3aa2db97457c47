"""publish.yml and ci.yml do what docs/publishing.md and docs/ci.md promise (actionlint is
tests/test_workflows.py's job; these are the properties a lint cannot know about)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from fixtures_project import Result

REPO = Path(__file__).resolve().parent.parent

WORKFLOWS = REPO / ".github" / "workflows"
# A failed publish leaves `acted` unset: the report runs then too.
IF_ACTED = (
    "${{ !cancelled() && (github.event_name != 'schedule' || "
    "steps.publish.outputs.acted != 'false') }}"
)


def _load(name: str) -> dict[str, Any]:
    workflow: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    return workflow


def _step(job: dict[str, Any], name: str) -> dict[str, Any]:
    return next(step for step in job["steps"] if step.get("name") == name)


def _hours(field: str) -> list[int]:
    """The hours a cron hour field names (`*`, `6`, `0-5,7-23`)."""
    if field == "*":
        return list(range(24))
    hours = []
    for part in field.split(","):
        first, _, last = part.partition("-")
        hours += range(int(first), int(last or first) + 1)
    return hours


def test_publish_runs_on_merge_every_hour_and_by_hand() -> None:
    """Every hour once (a send time is honoured within the hour, docs/publishing.md), never
    on the hour (GitHub's queue is longest then), and the keep-alive job once a day."""
    workflow = _load("publish.yml")
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert triggers["push"]["branches"] == ["main"]
    assert {"content/**", "templates/**", "pyproject.toml"} <= set(triggers["push"]["paths"])
    crons = [entry["cron"].split() for entry in triggers["schedule"]]
    assert all(cron[2:] == ["*", "*", "*"] for cron in crons)  # every day
    assert all(cron[0] not in ("0", "*") for cron in crons)  # once an hour, off the hour
    assert sorted(hour for cron in crons for hour in _hours(cron[1])) == list(range(24))
    daily = [" ".join(cron) for cron in crons if len(_hours(cron[1])) == 1]
    assert workflow["jobs"]["keep-alive"]["if"] == (
        f"${{{{ github.event_name == 'schedule' && github.event.schedule == '{daily[0]}' }}}}"
    )
    dry_run = triggers["workflow_dispatch"]["inputs"]["dry-run"]
    assert (dry_run["type"], dry_run["default"]) == ("boolean", False)


def test_two_publishes_queue_and_the_job_holds_only_what_it_needs() -> None:
    workflow = _load("publish.yml")
    assert workflow["concurrency"] == {"group": "publish", "cancel-in-progress": False}
    assert workflow["permissions"] == {"contents": "read"}
    job = workflow["jobs"]["publish"]
    assert job["permissions"] == {"id-token": "write", "contents": "read"}
    assert job["environment"] == "production"
    aws = next(s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@"))  # fmt: skip
    assert aws["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"
    assert not any("aws-access-key-id" in step.get("with", {}) for step in job["steps"])
    assert "sphere publish" in _step(job, "Publish")["run"]
    assert "GITHUB_STEP_SUMMARY" in _step(job, "Summary")["run"]


def test_github_pages_is_the_alternative_chosen_by_a_variable() -> None:
    jobs = _load("publish.yml")["jobs"]
    pages = jobs["pages"]
    assert "vars.SITE_HOST == 'pages'" in pages["if"]
    uses = [step.get("uses", "") for step in pages["steps"]]
    assert any(u.startswith("actions/upload-artifact@") for u in uses)  # as github-pages
    assert any(u.startswith("actions/deploy-pages@") for u in uses)
    upload = next(step for step in pages["steps"] if step.get("uses", "").startswith("actions/upload-artifact@"))  # fmt: skip
    assert upload["with"]["name"] == "github-pages"
    assert "--exclude=.sphere-deploy.json" in _step(pages, "Package the archive for Pages")["run"]
    assert jobs["publish"]["needs"] == "pages"  # the archive is up before anything is sent


def test_the_schedule_is_kept_alive() -> None:
    keep = _load("publish.yml")["jobs"]["keep-alive"]
    assert keep["permissions"] == {"actions": "write"}
    assert "actions/workflows/publish.yml/enable" in keep["steps"][0]["run"]


def test_a_content_only_pull_request_skips_the_test_suite() -> None:
    jobs = _load("ci.yml")["jobs"]
    content, full = jobs["content"], jobs["check"]
    assert content["if"] == "${{ needs.changes.outputs.content-only == 'true' }}"
    assert full["if"] == "${{ needs.changes.outputs.content-only != 'true' }}"
    runs = " ".join(step.get("run", "") for step in content["steps"])
    assert "sphere check" in runs and "sphere build --drafts --screenshots" in runs
    assert "pytest" not in runs and "mypy" not in runs
    for job in (content, full):
        assert _step(job, "Summary")["run"] == "bash tools/ci-summary.sh"


def test_the_signing_secret_is_given_to_the_publish_step_alone() -> None:
    """Third-party actions run in the same job: a job-level secret would be theirs too."""
    for name in ("publish.yml", "ci.yml"):
        workflow = _load(name)
        assert "secrets." not in str(workflow.get("env", {})), name
        for job_name, job in workflow["jobs"].items():
            assert "secrets." not in str(job.get("env", {})), (name, job_name)
            for step in job["steps"]:
                if "SPHERE_SECRET" in str(step.get("env", {})):
                    assert (name, job_name, step.get("name")) == (
                        "publish.yml",
                        "publish",
                        "Publish",
                    )
                if "uses" in step:
                    assert "secrets." not in str(step.get("with", {})), step["uses"]


# Every action the workflows use, checked by hand for actions inside it: a JavaScript action
# runs its own bundled code; a composite action's `uses:` lines are pinned or not by its
# author, whatever our pin. actions/upload-pages-artifact is composite and calls
# actions/upload-artifact@v4 by tag, so publish.yml does its two steps itself.
REVIEWED_ACTIONS = {
    "actions/checkout": "node",
    "actions/setup-node": "node",
    "actions/upload-artifact": "node",
    "actions/deploy-pages": "node",
    "astral-sh/setup-uv": "node",
    "aws-actions/configure-aws-credentials": "node",
}


def test_every_action_used_is_one_that_runs_no_unpinned_action() -> None:
    for name in ("publish.yml", "ci.yml"):
        for job in _load(name)["jobs"].values():
            for step in job["steps"]:
                if "uses" in step:
                    action = step["uses"].split("@", 1)[0]
                    assert REVIEWED_ACTIONS.get(action) == "node", (name, action)


def test_the_job_summary_holds_the_issue_table_and_the_report_page_is_kept() -> None:
    job = _load("publish.yml")["jobs"]["publish"]
    names = [step.get("name") for step in job["steps"]]
    assert names.index("Publish") < names.index("Report") < names.index("Summary")
    report = _step(job, "Report")
    assert report["run"] == "uv run sphere report --out report"
    assert report["if"] == IF_ACTED and report["continue-on-error"] is True
    assert "cat report/summary.md" in _step(job, "Summary")["run"]
    upload = _step(job, "Upload the report page")
    assert upload["uses"].startswith("actions/upload-artifact@")
    assert upload["with"]["path"] == "report/"
    assert "steps.report.outcome == 'success'" in upload["if"]


# An idle hourly run (issue 23 item 4): report, status and uploads only when something happened


def test_an_idle_scheduled_run_skips_the_report_the_status_and_the_upload() -> None:
    job = _load("publish.yml")["jobs"]["publish"]
    publish = _step(job, "Publish")
    assert publish["id"] == "publish"
    assert "args=(--json-out publish.json)" in publish["run"]
    assert "2>&1 | tee publish.log" in publish["run"]  # the log and its progress as they come
    assert 'bash tools/publish-acted.sh publish.json >> "$GITHUB_OUTPUT"' in publish["run"]
    assert _step(job, "Report")["if"] == IF_ACTED
    summary = _step(job, "Summary")
    assert summary["env"]["ACTED"] == (
        "${{ github.event_name != 'schedule' || steps.publish.outputs.acted != 'false' }}"
    )
    quiet = summary["run"].index('if [ "$ACTED" != true ]; then')
    assert quiet < summary["run"].index("sphere status")
    assert "exit 0" in summary["run"][quiet : summary["run"].index("sphere status")]
    # The upload needs a report made, which an idle scheduled run skips.
    assert "steps.report.outcome == 'success'" in _step(job, "Upload the report page")["if"]


def test_pages_deploys_only_a_new_archive_and_hands_its_moment_to_the_publish() -> None:
    jobs = _load("publish.yml")["jobs"]
    pages, publish = jobs["pages"], jobs["publish"]
    assert pages["permissions"]["actions"] == "read"  # the artifact listing, nothing more
    assert pages["outputs"] == {
        "as-of": "${{ steps.moment.outputs.as-of }}",
        "changed": "${{ steps.changed.outputs.changed }}",
    }
    build = _step(pages, "Build the public archive")
    assert build["env"]["AS_OF"] == "${{ steps.moment.outputs.as-of }}"
    assert 'uv run sphere deploy --as-of "$AS_OF"' in build["run"]
    changed = _step(pages, "Has the archive changed")
    assert "bash tools/archive-digest.sh _site" in changed["run"]
    assert '[ "$EVENT" = schedule ]' in changed["run"]  # a push or a run by hand deploys
    after = pages["steps"][pages["steps"].index(changed) + 1 :]
    assert after and all(
        step["if"] == "${{ steps.changed.outputs.changed == 'true' }}" for step in after
    )
    marker = after[-1]
    assert marker["with"]["name"] == "pages-archive-${{ steps.changed.outputs.digest }}"
    assert after[-3]["uses"].startswith("actions/deploy-pages@")  # the marker after the deploy
    assert publish["env"]["AS_OF"] == "${{ needs.pages.outputs.as-of }}"
    assert publish["env"]["PAGES_CHANGED"] == "${{ needs.pages.outputs.changed }}"
    assert 'args+=(--as-of "$AS_OF")' in _step(publish, "Publish")["run"]


def _acted(report: str, **env: str) -> str:
    """What tools/publish-acted.sh says of `sphere publish --json` output (publish.json)."""
    Path("publish.json").write_text(report, encoding="utf-8")  # in the project's folder
    done = subprocess.run(
        ["bash", str(REPO / "tools" / "publish-acted.sh"), "publish.json"],
        capture_output=True, text=True, check=True,
        env={**os.environ, "SITE_HOST": "", "PAGES_CHANGED": "", **env},
    )  # fmt: skip
    return done.stdout.strip()


def test_publish_acted_is_true_for_a_deploy_or_a_send_and_false_for_an_idle_run(
    project: Path, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real `sphere publish --json` reports: the first deploys the archive, the next finds
    nothing to do, and one that sends acts whatever the deploy did."""
    from fixtures_send import add_subscribers

    from sphere.settings import load_settings

    monkeypatch.setenv("SPHERE_TODAY", "2026-11-30")  # the seed issue (12-01) not due yet
    ran, idle = sphere("publish", "--json-out", "first.json"), sphere("publish", "--json")
    assert (ran.status, idle.status) == (0, 0), ran.err + idle.err
    assert "nothing to send: no ready issue is due and unsent" in ran.out  # the usual lines
    first = Result(0, (project / "first.json").read_text(encoding="utf-8"), "")
    assert json.loads(first.out)["deploy"]["upload"] and not json.loads(first.out)["sent"]

    assert _acted(first.out) == "acted=true"
    assert _acted(idle.out) == "acted=false"
    # With Pages the publish job deploys into a fresh folder: the pages job's answer counts.
    assert _acted(first.out, SITE_HOST="pages", PAGES_CHANGED="false") == "acted=false"
    assert _acted(idle.out, SITE_HOST="pages", PAGES_CHANGED="true") == "acted=true"

    add_subscribers(load_settings(), [("ann@example.org", "Ann")])
    monkeypatch.setenv("SPHERE_TODAY", "2026-12-01")
    sent = sphere("publish", "--json")
    assert sent.status == 0, sent.err
    assert json.loads(sent.out)["sent"][0]["sent"] == 1
    assert _acted(sent.out, SITE_HOST="pages", PAGES_CHANGED="false") == "acted=true"


def _digest(folder: Path) -> str:
    done = subprocess.run(
        ["bash", str(REPO / "tools" / "archive-digest.sh"), str(folder)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def test_the_archive_digest_is_the_same_for_the_same_archive_on_another_day(
    project: Path, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    """So the Pages job can tell an hourly rebuild of the live archive from a new one."""
    monkeypatch.setenv("SPHERE_TODAY", "2026-12-02")
    monkeypatch.setenv("SPHERE_SITE", "one")
    assert sphere("deploy").status == 0
    monkeypatch.setenv("SPHERE_TODAY", "2026-12-20")  # another day, the same issues public
    monkeypatch.setenv("SPHERE_SITE", "two")
    assert sphere("deploy").status == 0
    monkeypatch.setenv("SPHERE_TODAY", "2026-11-30")  # the seed issue not public yet
    monkeypatch.setenv("SPHERE_SITE", "three")
    assert sphere("deploy").status == 0

    one, two, three = (_digest(project / name) for name in ("one", "two", "three"))

    assert len(one) == 64 and one == two != three
    (project / "two" / ".sphere-deploy.json").write_text("{}", encoding="utf-8")
    assert _digest(project / "two") == one  # Sphere's manifest is not part of the archive
    (project / "two" / "feed.xml").write_text("<feed/>", encoding="utf-8")
    assert _digest(project / "two") != one
