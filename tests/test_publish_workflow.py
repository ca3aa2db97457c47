"""publish.yml and ci.yml do what docs/publishing.md and docs/ci.md promise (actionlint is
tests/test_workflows.py's job; these are the properties a lint cannot know about)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

WORKFLOWS = Path(__file__).resolve().parent.parent / ".github" / "workflows"


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
    assert report["if"] == "${{ !cancelled() }}" and report["continue-on-error"] is True
    assert "cat report/summary.md" in _step(job, "Summary")["run"]
    upload = _step(job, "Upload the report page")
    assert upload["uses"].startswith("actions/upload-artifact@")
    assert upload["with"]["path"] == "report/"
    assert "steps.report.outcome == 'success'" in upload["if"]
