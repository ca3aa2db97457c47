"""`sphere subscribers ...`: exit statuses and exact messages, through the real entry point."""

from __future__ import annotations

import csv
import json
import os
import pty
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures_project import Result
from fixtures_smtp import SmtpServer

DATA = Path(__file__).parent / "data" / "subscribers"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`sphere subscribers ARGS` in a subprocess, through the real entry point, as a script
    runs it (no terminal to answer a question on)."""
    return subprocess.run(
        [sys.executable, "-m", "sphere", "subscribers", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def test_add_remove_list_count_export(project: Path) -> None:
    assert run("add", "Ann@Example.com", "--name", "Ann").stdout == "added ann@example.com\n"
    assert run("add", "ann@example.com").stdout == (
        "ann@example.com is already on the list (subscribed)\n"
    )
    run("add", "bob@example.com")
    assert run("remove", "bob@example.com").stdout == "unsubscribed bob@example.com\n"
    refused = run("add", "bob@example.com")  # not done, so a script must see it failed
    assert (refused.returncode, refused.stdout, refused.stderr) == (
        1,
        "",
        "error: bob@example.com is unsubscribed: not re-subscribed "
        "(only the person can subscribe again, by confirming)\n",
    )
    assert run("list").stdout == (
        "ann@example.com\tsubscribed\tAnn\nbob@example.com\tunsubscribed\t\n"
    )
    assert run("list", "--status", "unsubscribed").stdout == "bob@example.com\tunsubscribed\t\n"
    assert json.loads(run("count", "--json").stdout) == {
        "pending": 0, "subscribed": 1, "unsubscribed": 1, "bounced": 0, "complained": 0, "total": 2,
    }  # fmt: skip
    assert run("count").stdout.endswith("unsubscribed: 1\nbounced: 0\ncomplained: 0\ntotal: 2\n")
    exported = run("export", "--format", "jsonl").stdout.splitlines()
    assert [json.loads(line)["email"] for line in exported] == [
        "ann@example.com",
        "bob@example.com",
    ]
    result = run("export", "out.csv")
    assert result.stderr == "exported 2 subscribers to out.csv\n"
    assert (project / "out.csv").read_text().startswith("id,email,name,status,created,updated")


def test_user_mistakes_are_one_line_without_traceback(project: Path) -> None:
    result = run("remove", "nobody@example.com")
    assert (result.returncode, result.stdout, result.stderr) == (
        1, "", "error: nobody@example.com is not on the list\n",
    )  # fmt: skip
    result = run("add", "josé@example.com")
    assert (result.returncode, result.stderr) == (
        1,
        "error: 'josé@example.com' has letters before the @ that are not plain ASCII (such as "
        "é): Amazon SES and most mail servers cannot deliver to it; use another address\n",
    )
    result = run("add", "not-an-address")
    assert result.returncode == 1
    assert result.stderr == (
        "error: invalid address 'not-an-address': An email address must have an @-sign.\n"
    )
    result = run("import", str(DATA / "no_email_column.csv"))
    assert result.returncode == 1
    assert result.stderr.endswith(
        "no_email_column.csv:1: error: no email column: expected 'email' (a plain file), "
        "'Email Address' (Mailchimp) or 'email' (Substack); found 'first', 'last', 'phone'\n"
    )
    assert "Traceback" not in result.stderr


def test_import_prints_rejected_rows_and_a_summary(project: Path) -> None:
    (project / "list.csv").write_text("email,name\na@example.com,A\nnope,B\n")
    result = run("import", "list.csv")
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
    dry = json.loads(run("import", "list.csv", "--dry-run", "--json").stdout)
    assert (dry["dry_run"], dry["added"], dry["already"]) == (True, 0, 1)
    reason = "invalid address 'nope': An email address must have an @-sign."
    assert dry["rejected"] == [{"file": "list.csv", "line": 3, "reason": reason}]


@pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS", "ignore:Session.login_data is deprecated"
)
def test_an_all_contacts_mailchimp_export_on_s3_mails_only_its_active_rows(
    project: Path,
    s3_url: str,
    smtp_server: SmtpServer,
    sphere: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SPHERE_STORE", s3_url)
    export = str(DATA / "mailchimp_all_contacts.csv")
    dry = sphere("subscribers", "import", export, "--dry-run")
    assert dry.status == 0, dry.err
    assert dry.out.endswith(
        "  rows by status in the file:\n"
        "    subscribed: 2 (e.g. line 2, ann@example.com: CLEAN_TIME and UNSUB_TIME empty)\n"
        "    unsubscribed: 1 (e.g. line 3, carol@example.com: UNSUB_TIME 2022-05-05 12:00:00)\n"
        "    bounced: 1 (e.g. line 4, dead@example.com: CLEAN_TIME 2022-07-07 07:07:07)\n"
    )
    assert sphere("subscribers", "count").out.endswith("total: 0\n")  # the dry run wrote nothing
    assert sphere("subscribers", "import", export).status == 0
    for key, value in {
        "SPHERE_TRANSPORT": smtp_server.url,
        "SPHERE_SECRET": "a-long-random-test-secret-0123456789",
        "SPHERE_POSTAL_ADDRESS": "Jim Wigg, 1 High Street, Bath BA1 1AA, United Kingdom",
        "SPHERE_SEND_RATE": "0",
    }.items():
        monkeypatch.setenv(key, value)
    sent = sphere("send", "hard-sell-or-soft-sell", "--now")
    assert sent.status == 0, sent.err
    recipients = sorted(to for _, tos, _ in smtp_server.recorder.messages for to in tos)
    assert recipients == ["ann@example.com", "bob@example.com"]


def test_compact_and_erase(project: Path) -> None:
    assert run("compact").stdout == (
        "folded 0 changes; 0 subscribers; 0 recent changes left for next time\n"
    )
    run("add", "a@example.com")
    run("add", "b@example.com", "--name", "B, who knows a@example.com")
    assert run("erase", "a@example.com", "--yes").stdout == (
        "erased: their record is gone from every object in the store\n"
        "  also blanked the text that quoted them in another person's record\n"
        "  only a keyed hash is kept, so no import or add puts them back\n"
    )
    assert run("erase", "nobody@example.com", "-y").stdout == (
        "erased: they were not on the list; nothing of theirs is left in the store\n"
        "  only a keyed hash is kept, so no import or add puts them back\n"
    )
    # B's add and two erase changes (a hash each): left for next time if under two seconds old.
    compacted = run("compact").stdout
    assert compacted in (
        "folded 0 changes; 0 subscribers; 3 recent changes left for next time\n",
        "folded 1 change; 1 subscriber; 2 recent changes left for next time\n",
        "folded 2 changes; 1 subscriber; 1 recent change left for next time\n",
        "folded 3 changes; 1 subscriber; 0 recent changes left for next time\n",
    ), compacted
    (project / "again.csv").write_text("email\nA@example.com\n")
    assert "  skipped as erased: 1\n" in run("import", "again.csv").stdout


def test_erase_without_a_terminal_or_yes_refuses_and_changes_nothing(project: Path) -> None:
    run("add", "a@example.com")
    result = run("erase", "a@example.com")
    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        "error: not erasing a@example.com: it cannot be undone; run it on a terminal to "
        "confirm, or pass --yes\n",
    )
    assert run("list").stdout == "a@example.com\tsubscribed\t\n"


def _erase_on_a_terminal(answer: str) -> tuple[int, str]:
    """`sphere subscribers erase a@example.com` with a terminal (a pseudo-terminal) to answer
    its question on; its exit status and what the terminal showed."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "sphere", "subscribers", "erase", "a@example.com"],
        stdin=terminal, stdout=subprocess.PIPE, stderr=terminal, text=True,
    )  # fmt: skip
    os.close(terminal)
    shown = b""
    while b"[y/N]" not in shown:
        shown += os.read(controller, 1024)
    os.write(controller, answer.encode() + b"\n")
    status = process.wait(timeout=30)
    assert process.stdout is not None
    shown += process.stdout.read().encode()
    while True:  # the rest of what it wrote on the terminal
        try:
            chunk = os.read(controller, 1024)
        except OSError:  # Linux: the terminal's other end is closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    return status, shown.decode()


def test_erase_on_a_terminal_asks_first(project: Path) -> None:
    run("add", "a@example.com")
    status, shown = _erase_on_a_terminal("n")
    assert status == 1 and "Erase a@example.com and everything about them from" in shown
    assert "not erased: a@example.com is as it was" in shown
    assert run("list").stdout == "a@example.com\tsubscribed\t\n"
    status, shown = _erase_on_a_terminal("y")
    assert status == 0 and "erased: their record is gone from every object" in shown
    assert run("list").stdout == ""


@pytest.mark.parametrize(
    ("store", "message", "status"),
    [
        ("s3://", "SPHERE_STORE='s3://': expected s3://BUCKET/PREFIX\n", 1),
        ("pyproject.toml/store", "cannot use the store folder", 3),
    ],
)
def test_bad_store_settings(project: Path, store: str, message: str, status: int) -> None:
    result = run("add", "a@example.com", env={"SPHERE_STORE": store})
    assert result.returncode == status
    assert message in result.stderr


def test_missing_bucket_names_it(project: Path, aws: str) -> None:
    result = run("count", env={"SPHERE_STORE": "s3://no-such-bucket-here/x"})
    assert (result.returncode, result.stderr) == (
        3,
        "error: the S3 bucket 'no-such-bucket-here' does not exist; "
        "check SPHERE_STORE=s3://no-such-bucket-here/x/\n",
    )


def test_erase_removes_the_outboxs_messages_to_the_person(project: Path) -> None:
    run("add", "a@example.com")
    run("add", "b@example.com")
    send = [sys.executable, "-m", "sphere", "send", "hard-sell-or-soft-sell", "--now"]
    assert subprocess.run(send, capture_output=True, check=False).returncode == 0
    outbox = project / ".sphere" / "outbox"
    assert len(list(outbox.glob("*.eml"))) == 2
    result = run("erase", "a@example.com", "--yes")
    assert result.stdout == (
        "erased: their record is gone from every object in the store\n"
        "  also removed 1 message to them from the outbox\n"
        "  only a keyed hash is kept, so no import or add puts them back\n"
    )
    left = [path.read_bytes() for path in outbox.glob("*.eml")]
    assert len(left) == 1 and b"b@example.com" in left[0]
    assert not any(b"a@example.com" in data for data in left)


def test_erase_on_s3_without_secret_works_as_on_a_folder(project: Path, s3_url: str) -> None:
    run("add", "a@example.com", "--name", "A", env={"SPHERE_STORE": s3_url})
    result = run("erase", "a@example.com", "--yes", env={"SPHERE_STORE": s3_url})
    assert (result.returncode, result.stderr) == (0, "")
    assert run("count", "--json", env={"SPHERE_STORE": s3_url}).stdout.startswith('{"pending": 0')


def test_a_store_others_can_read_gets_a_warning(project: Path) -> None:
    run("add", "a@example.com")
    store = project / ".sphere" / "store"
    assert store.stat().st_mode & 0o777 == 0o700
    store.chmod(0o750)
    result = run("count")
    assert result.returncode == 0
    assert result.stderr == (
        f"warning: the store folder {store} can be read by others (mode 0750) and holds "
        f"personal data; make it owner-only: chmod -R go-rwx {store}\n"
    )


def test_a_store_inside_the_repository_that_git_does_not_ignore_is_refused(
    project: Path,
) -> None:
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    result = run("add", "a@example.com", env={"SPHERE_STORE": "subscribers-data"})
    assert (result.returncode, result.stderr) == (
        1,
        f"error: SPHERE_STORE='subscribers-data': the store folder {project / 'subscribers-data'} "
        f"is inside the git repository {project} and not ignored, so subscribers' data could "
        "be committed; add it to .gitignore or choose a folder outside the repository\n",
    )
    assert not (project / "subscribers-data").exists()
    (project / ".gitignore").write_text("/subscribers-data/\n", encoding="utf-8")
    assert run("add", "a@example.com", env={"SPHERE_STORE": "subscribers-data"}).returncode == 0


def test_ctrl_c_during_an_import_says_what_was_done_and_that_rerunning_is_safe(
    project: Path,
) -> None:
    rows = 60_000
    (project / "big.csv").write_text(
        "email\n" + "".join(f"p{n}@example.com\n" for n in range(rows)), encoding="utf-8"
    )
    changes = project / ".sphere" / "store" / "subscribers" / "changes"
    process = subprocess.Popen(
        [sys.executable, "-m", "sphere", "subscribers", "import", "big.csv"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def written() -> int:
        return len(list(changes.glob("[!.]*"))) if changes.is_dir() else 0

    deadline = time.monotonic() + 60
    while not written():  # the first batch is in
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.001)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert 1 <= written() < rows // 5000, "the interrupt should land mid-import"
    assert err == (
        f"interrupted: {written() * 5000:,} new rows written from a file of 60,000 rows; run "
        "the same import again to finish (it is safe: it adds only what is missing)\n"
    )
    again = json.loads(run("import", "big.csv", "--json").stdout)
    assert again["added"] + again["already"] == rows


def test_every_command_has_help() -> None:
    from typer.testing import CliRunner

    from sphere.cli import app

    for command in ("add", "remove", "import", "export", "list", "count", "compact", "erase"):
        result = CliRunner().invoke(app, ["subscribers", command, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output


def test_the_status_option_names_every_status_once() -> None:
    from typer.testing import CliRunner

    from sphere.cli import app

    result = CliRunner().invoke(app, ["subscribers", "list", "--status", "gone"])
    expected = "expected one of pending, subscribed, unsubscribed, bounced, complained"
    assert result.exit_code == 2 and expected in result.output


def test_export_errors_leave_files_alone(project: Path) -> None:
    run("add", "ann@example.com")
    result = run("export", "missing/folder/out.csv")
    assert (result.returncode, result.stderr) == (
        1,
        "error: cannot write missing/folder/out.csv: No such file or directory\n",
    )
    (project / "keep.csv").write_text("precious\n", encoding="utf-8")
    result = run("export", "keep.csv", "--format", "xml")
    assert result.returncode == 2
    assert "expected one of csv, jsonl" in result.stderr
    assert (project / "keep.csv").read_text(encoding="utf-8") == "precious\n"
    assert sorted(p.name for p in project.iterdir() if p.name.startswith(".keep")) == []


def test_export_defuses_spreadsheet_formulas_in_every_cell(project: Path) -> None:
    run("add", "eve@example.com", "--name", '=HYPERLINK("http://evil.example","x")')
    run("add", "--name", "@SUM(A1)", "--", "-2+3@example.com")  # a valid address
    run("add", "+x@example.com", "--name", "Plain")
    result = run("export", "out.csv")
    assert result.returncode == 0
    with (project / "out.csv").open(encoding="utf-8", newline="") as exported:
        cells = list(csv.reader(exported))[1:]
    assert [(c[1], c[2]) for c in cells] == [
        ("'+x@example.com", "Plain"),
        ("'-2+3@example.com", "'@SUM(A1)"),
        ("eve@example.com", '\'=HYPERLINK("http://evil.example","x")'),
    ]
    assert {c[6][:1] for c in cells} == {"2"}  # consent_at: a time, as it should be
    assert (project / "out.csv").stat().st_mode & 0o777 == 0o600


def test_a_store_path_that_is_a_file(project: Path) -> None:
    (project / "storefile").write_text("", encoding="utf-8")
    result = run(
        "erase", "a@example.com", "--yes", env={"SPHERE_STORE": str(project / "storefile")}
    )
    assert result.returncode == 3
    assert result.stderr.startswith("error: ")
    assert "check SPHERE_STORE" in result.stderr and "Traceback" not in result.stderr
