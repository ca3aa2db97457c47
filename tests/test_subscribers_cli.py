"""`sphere subscribers ...`: exit statuses and exact messages, through the real entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data" / "subscribers"


def sphere(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "sphere", "subscribers", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )


def test_add_remove_list_count_export(project: Path) -> None:
    assert sphere("add", "Ann@Example.com", "--name", "Ann").stdout == "added ann@example.com\n"
    assert sphere("add", "ann@example.com").stdout == (
        "ann@example.com is already on the list (subscribed)\n"
    )
    sphere("add", "bob@example.com")
    assert sphere("remove", "bob@example.com").stdout == "unsubscribed bob@example.com\n"
    assert sphere("add", "bob@example.com").stdout == (
        "bob@example.com is unsubscribed: not re-subscribed "
        "(only the person can subscribe again, by confirming)\n"
    )
    assert sphere("list").stdout == (
        "ann@example.com\tsubscribed\tAnn\nbob@example.com\tunsubscribed\t\n"
    )
    assert sphere("list", "--status", "unsubscribed").stdout == "bob@example.com\tunsubscribed\t\n"
    assert json.loads(sphere("count", "--json").stdout) == {
        "pending": 0, "subscribed": 1, "unsubscribed": 1, "bounced": 0, "complained": 0, "total": 2,
    }  # fmt: skip
    assert sphere("count").stdout.endswith("unsubscribed: 1\nbounced: 0\ncomplained: 0\ntotal: 2\n")
    exported = sphere("export", "--format", "jsonl").stdout.splitlines()
    assert [json.loads(line)["email"] for line in exported] == [
        "ann@example.com",
        "bob@example.com",
    ]
    result = sphere("export", "out.csv")
    assert result.stderr == "exported 2 subscribers to out.csv\n"
    assert (project / "out.csv").read_text().startswith("id,email,name,status,created,updated")


def test_user_mistakes_are_one_line_without_traceback(project: Path) -> None:
    result = sphere("remove", "nobody@example.com")
    assert (result.returncode, result.stdout, result.stderr) == (
        1, "", "error: nobody@example.com is not on the list\n",
    )  # fmt: skip
    result = sphere("add", "not-an-address")
    assert result.returncode == 1
    assert result.stderr == (
        "error: invalid address 'not-an-address': An email address must have an @-sign.\n"
    )
    result = sphere("import", str(DATA / "no_email_column.csv"))
    assert result.returncode == 1
    assert result.stderr.endswith(
        "no_email_column.csv:1: error: no email column: expected 'email' (a plain file), "
        "'Email Address' (Mailchimp) or 'email' (Substack); found 'first', 'last', 'phone'\n"
    )
    assert "Traceback" not in result.stderr


def test_import_prints_rejected_rows_and_a_summary(project: Path) -> None:
    (project / "list.csv").write_text("email,name\na@example.com,A\nnope,B\n")
    result = sphere("import", "list.csv")
    assert result.returncode == 1  # a row was rejected; the valid one is in all the same
    assert result.stdout == (
        "list.csv:3: error: invalid address 'nope': An email address must have an @-sign.\n"
        "imported list.csv (plain):\n"
        "  added: 1\n"
        "  already there: 0\n"
        "  skipped as suppressed: 0\n"
        "  skipped as erased: 0\n"
        "  rejected: 1\n"
    )
    dry = json.loads(sphere("import", "list.csv", "--dry-run", "--json").stdout)
    assert (dry["dry_run"], dry["added"], dry["already"]) == (True, 0, 1)
    reason = "invalid address 'nope': An email address must have an @-sign."
    assert dry["rejected"] == [{"file": "list.csv", "line": 3, "reason": reason}]


def test_compact_and_erase(project: Path) -> None:
    sphere("add", "a@example.com")
    assert sphere("erase", "a@example.com").stdout == (
        "erased: erased their record; 0 change objects cleaned\n"
    )
    assert sphere("compact").stdout == (
        "folded 0 changes; 0 subscribers; 0 recent changes left for next time\n"
    )
    (project / "again.csv").write_text("email\nA@example.com\n")
    assert "  skipped as erased: 1\n" in sphere("import", "again.csv").stdout


@pytest.mark.parametrize(
    ("store", "message", "status"),
    [
        ("s3://", "SPHERE_STORE='s3://': expected s3://BUCKET/PREFIX\n", 1),
        ("pyproject.toml/store", "cannot use the store folder", 3),
    ],
)
def test_bad_store_settings(project: Path, store: str, message: str, status: int) -> None:
    result = sphere("add", "a@example.com", env={"SPHERE_STORE": store})
    assert result.returncode == status
    assert message in result.stderr


def test_missing_bucket_names_it(project: Path, aws: str) -> None:
    result = sphere("count", env={"SPHERE_STORE": "s3://no-such-bucket-here/x"})
    assert (result.returncode, result.stderr) == (
        3,
        "error: the S3 bucket 'no-such-bucket-here' does not exist; "
        "check SPHERE_STORE=s3://no-such-bucket-here/x/\n",
    )


def test_erase_on_s3_without_secret(project: Path, s3_url: str) -> None:
    result = sphere("erase", "a@example.com", env={"SPHERE_STORE": s3_url})
    assert result.returncode == 1
    assert result.stderr.startswith("error: SPHERE_SECRET is required with an S3 store")


def test_every_command_has_help() -> None:
    from typer.testing import CliRunner

    from sphere.cli import app

    for command in ("add", "remove", "import", "export", "list", "count", "compact", "erase"):
        result = CliRunner().invoke(app, ["subscribers", command, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output


def test_export_errors_leave_files_alone(project: Path) -> None:
    sphere("add", "ann@example.com")
    result = sphere("export", "missing/folder/out.csv")
    assert (result.returncode, result.stderr) == (
        1,
        "error: cannot write missing/folder/out.csv: No such file or directory\n",
    )
    (project / "keep.csv").write_text("precious\n", encoding="utf-8")
    result = sphere("export", "keep.csv", "--format", "xml")
    assert result.returncode == 2
    assert "expected one of csv, jsonl" in result.stderr
    assert (project / "keep.csv").read_text(encoding="utf-8") == "precious\n"
    assert sorted(p.name for p in project.iterdir() if p.name.startswith(".keep")) == []


def test_export_defuses_spreadsheet_formulas(project: Path) -> None:
    sphere("add", "eve@example.com", "--name", '=HYPERLINK("http://evil.example","x")')
    result = sphere("export", "out.csv")
    assert result.returncode == 0
    row = (project / "out.csv").read_text(encoding="utf-8").splitlines()[1]
    assert ',"\'=HYPERLINK(""http://evil.example"",""x"")",' in row


def test_a_store_path_that_is_a_file(project: Path) -> None:
    (project / "storefile").write_text("", encoding="utf-8")
    result = sphere("erase", "a@example.com", env={"SPHERE_STORE": str(project / "storefile")})
    assert result.returncode == 3
    assert result.stderr.startswith("error: ")
    assert "check SPHERE_STORE" in result.stderr and "Traceback" not in result.stderr
