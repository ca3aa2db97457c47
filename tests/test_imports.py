"""CSV detection and import rules (local folder store; the store contract is tested elsewhere)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sphere.errors import SubscriberError
from sphere.store.local import LocalStore
from sphere.subscribers.imports import MAX_BYTES, import_file, read_csv
from sphere.subscribers.list import SubscriberList, iter_changes

DATA = Path(__file__).parent / "data" / "subscribers"


@pytest.fixture
def subscribers(tmp_path: Path) -> SubscriberList:
    return SubscriberList(LocalStore(tmp_path / "store"), key=lambda: b"k", batch=2)


def test_mailchimp_export_keeps_consent_evidence(subscribers: SubscriberList) -> None:
    report = import_file(subscribers, DATA / "mailchimp_subscribed.csv")
    assert (report.format, report.added, report.rejected) == ("mailchimp", 2, [])
    ann, bob = subscribers.all()
    assert (ann.email, ann.name, ann.status) == ("ann@example.com", "Ann Archer", "subscribed")
    assert ann.consent_at == "2021-03-01 09:05:00"
    assert ann.consent_method == "import"
    assert ann.consent_source == "mailchimp import of mailchimp_subscribed.csv"
    assert ann.consent_evidence == {
        "OPTIN_TIME": "2021-03-01 09:00:00",
        "OPTIN_IP": "192.0.2.1",
        "CONFIRM_TIME": "2021-03-01 09:05:00",
        "CONFIRM_IP": "192.0.2.1",
        "LAST_CHANGED": "2021-03-01 09:05:00",
    }
    assert bob.email == "bob@example.com"  # case-insensitive: one subscriber


def test_mailchimp_unsubscribed_and_cleaned_exports_import_as_suppressed(
    subscribers: SubscriberList,
) -> None:
    import_file(subscribers, DATA / "mailchimp_subscribed.csv")
    report = import_file(subscribers, DATA / "mailchimp_unsubscribed.csv")
    assert (report.format, report.suppressed) == ("mailchimp", 2)
    report = import_file(subscribers, DATA / "mailchimp_cleaned.csv")
    assert (report.format, report.suppressed) == ("mailchimp", 1)
    statuses = {r.email: r.status for r in subscribers.all()}
    assert statuses == {
        "ann@example.com": "unsubscribed",
        "bob@example.com": "subscribed",
        "carol@example.com": "unsubscribed",
        "dead@example.com": "bounced",
    }
    # ... and an import never subscribes them again.
    again = import_file(subscribers, DATA / "mailchimp_subscribed.csv")
    assert (again.added, again.already, again.skipped_suppressed) == (0, 1, 1)
    assert subscribers.counts()["unsubscribed"] == 2


def test_an_all_contacts_mailchimp_export_gives_each_row_its_own_status(
    subscribers: SubscriberList,
) -> None:
    # UNSUB_TIME and CLEAN_TIME columns in every row, empty for the active ones: once read as
    # an unsubscribed export, which suppressed everyone for good.
    report = import_file(subscribers, DATA / "mailchimp_all_contacts.csv")
    assert (report.added, report.suppressed, report.rejected) == (2, 2, [])
    assert {r.email: r.status for r in subscribers.all()} == {
        "ann@example.com": "subscribed",
        "bob@example.com": "subscribed",
        "carol@example.com": "unsubscribed",
        "dead@example.com": "bounced",  # cleaned: Mailchimp could not deliver to it
    }
    assert {s: (e.count, e.line, e.why) for s, e in report.statuses.items()} == {
        "subscribed": (2, 2, "CLEAN_TIME and UNSUB_TIME empty"),
        "unsubscribed": (1, 3, "UNSUB_TIME 2022-05-05 12:00:00"),
        "bounced": (1, 4, "CLEAN_TIME 2022-07-07 07:07:07"),
    }
    carol = next(r for r in subscribers.all() if r.email == "carol@example.com")
    assert carol.consent_evidence and carol.consent_evidence["UNSUB_REASON"] == (
        "No longer interested"
    )


def test_mailchimps_non_subscribed_export_is_refused(
    subscribers: SubscriberList, tmp_path: Path
) -> None:
    # Its columns are the subscribed export's: only the name says these people never joined.
    path = tmp_path / "nonsubscribed_email_audience_export_1a2b3c.csv"
    path.write_bytes((DATA / "mailchimp_subscribed.csv").read_bytes())
    with pytest.raises(SubscriberError, match="never subscribed, so none of them is imported"):
        import_file(subscribers, path)
    assert subscribers.store.list("") == []


def test_a_status_column_decides_each_row(subscribers: SubscriberList, tmp_path: Path) -> None:
    path = tmp_path / "convertkit.csv"
    path.write_text(
        "email,first_name,status\n"
        "a@example.com,A,active\n"
        "b@example.com,B,Cancelled\n"
        "c@example.com,C,bounced\n"
        "d@example.com,D,complained\n"
        "e@example.com,E,unconfirmed\n"
    )
    report = import_file(subscribers, path)
    assert {r.email: r.status for r in subscribers.all()} == {
        "a@example.com": "subscribed",
        "b@example.com": "unsubscribed",
        "c@example.com": "bounced",
        "d@example.com": "complained",
    }
    assert [(e.line, e.message) for e in report.rejected] == [
        (6, "status unconfirmed: never confirmed, so not imported (they can subscribe on the form)")
    ]


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        (
            "email,status\na@example.com,active\nb@example.com,archived\n",
            3,
            "cannot tell this row's status from status 'archived': expected subscribed, "
            "unsubscribed, bounced (or cleaned), complained or pending; nothing was imported "
            "(split the file by status, or fix the column)",
        ),
        (
            "email,Status\na@example.com,active\nb@example.com,\n",
            3,
            "cannot tell this row's status from Status '': expected subscribed, unsubscribed, "
            "bounced (or cleaned), complained or pending; nothing was imported (split the file "
            "by status, or fix the column)",
        ),
        (
            "email,email_disabled,created_at\na@example.com,false,\nb@example.com,maybe,\n",
            3,
            "cannot tell this row's status from email_disabled 'maybe': expected true or false; "
            "nothing was imported (split the file by status, or fix the column)",
        ),
        (
            "email,name,Unsubscribed At\na@example.com,A,\nb@example.com,B,2024-01-01\n",
            1,
            "cannot tell the rows' status: Sphere does not read the column 'Unsubscribed At'; "
            "give the file a 'status' column (subscribed, unsubscribed, bounced (or cleaned), "
            "complained or pending), or take the rows that are not subscribed out of it",
        ),
    ],
    ids=["unknown word", "empty cell", "substack flag", "unread column"],
)
def test_a_file_whose_status_cannot_be_decided_is_refused_naming_the_column(
    subscribers: SubscriberList, tmp_path: Path, content: str, line: int, message: str
) -> None:
    path = tmp_path / "people.csv"
    path.write_text(content)
    with pytest.raises(SubscriberError) as raised:
        import_file(subscribers, path)
    assert (raised.value.line, raised.value.message) == (line, message)
    assert subscribers.store.list("") == []


def test_substack_export(subscribers: SubscriberList) -> None:
    report = import_file(subscribers, DATA / "substack.csv")
    assert (report.format, report.added, report.suppressed) == ("substack", 1, 1)
    dan, eve = subscribers.all()
    assert (dan.status, dan.consent_at) == ("subscribed", "2023-02-03T04:05:06.000Z")
    assert eve.status == "unsubscribed"


def test_semicolons_and_idn_domains(subscribers: SubscriberList) -> None:
    report = import_file(subscribers, DATA / "semicolon.csv")
    assert report.added == 2
    assert [r.email for r in subscribers.all()] == [
        "frank@example.com",
        "x@münchen.de",  # the punycode spelling of the same domain: kept in Unicode
    ]
    # SES cannot deliver to a non-ASCII local part: it would fail every send.
    assert [(e.line, e.message) for e in report.rejected] == [
        (
            3,
            "'josé@münchen.de' has letters before the @ that are not plain ASCII (such as é): "
            "Amazon SES and most mail servers cannot deliver to it; use another address",
        )
    ]


def test_file_without_header(subscribers: SubscriberList) -> None:
    report = import_file(subscribers, DATA / "no_header.csv")
    assert (report.format, report.added) == ("plain", 2)
    assert [(r.email, r.name) for r in subscribers.all()] == [
        ("pat@example.com", "Pat"),
        ("sam@example.com", ""),
    ]


def test_bad_rows_are_rejected_with_their_line_and_the_rest_imported(
    subscribers: SubscriberList,
) -> None:
    path = DATA / "bad_rows.csv"
    report = import_file(subscribers, path)
    assert [(e.path, e.line, e.message) for e in report.rejected] == [
        (path, 3, "invalid address 'not-an-address': An email address must have an @-sign."),
        (path, 4, "good@example.com is already on line 2"),
        (path, 5, "good@example.com is already on line 2"),
        (path, 6, "the name contains a line break"),
        (path, 8, "the name contains HTML markup: '<b>Bold</b>'"),
        (path, 9, "no address in this row"),
    ]
    assert [r.email for r in subscribers.all()] == ["fine@example.com", "good@example.com"]


def test_reimporting_the_same_file_changes_nothing(subscribers: SubscriberList) -> None:
    import_file(subscribers, DATA / "mailchimp_subscribed.csv")
    before = (subscribers.store.list(""), subscribers.all())
    report = import_file(subscribers, DATA / "mailchimp_subscribed.csv")
    assert (report.added, report.already, report.changes) == (0, 2, 0)
    assert (subscribers.store.list(""), subscribers.all()) == before


def test_dry_run_writes_nothing(subscribers: SubscriberList) -> None:
    report = import_file(subscribers, DATA / "substack.csv", dry_run=True)
    assert (report.added, report.suppressed, report.changes) == (1, 1, 0)
    assert subscribers.store.list("") == []


def test_import_writes_one_object_per_batch(subscribers: SubscriberList, tmp_path: Path) -> None:
    rows = "".join(f"p{n}@example.com,P {n}\n" for n in range(5))
    (tmp_path / "five.csv").write_text("email,name\n" + rows)
    import_file(subscribers, tmp_path / "five.csv")  # batch=2 in this fixture
    keys = subscribers.store.list("subscribers/changes/")
    assert len(keys) == 3
    assert len(list(iter_changes(subscribers.store))) == 5


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "no_email_column.csv",
            None,
            ":1: error: no email column: expected 'email' (a plain file), 'Email Address' "
            "(Mailchimp) or 'email' (Substack); found 'first', 'last', 'phone'",
        ),
        (
            "latin1.csv",
            None,
            ":2: error: not UTF-8 text (byte 0xe9); save it as UTF-8 (Excel: 'CSV UTF-8') "
            "and import it again",
        ),
        ("empty.csv", b"", ": error: the file is empty: expected a header such as 'email,name'"),
        (
            "blank.csv",
            b"\xef\xbb\xbf\r\n \n",
            ": error: the file is empty: expected a header such as 'email,name'",
        ),
    ],
)
def test_whole_file_errors_write_nothing(
    subscribers: SubscriberList, tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    path = DATA / name
    if content is not None:
        path = tmp_path / name
        path.write_bytes(content)
    with pytest.raises(SubscriberError) as error:
        import_file(subscribers, path)
    where = f"{error.value.path}:{error.value.line}" if error.value.line else error.value.path
    assert f"{where}: error: {error.value.message}" == f"{path}{message}"
    assert subscribers.store.list("") == []


def test_a_file_over_1_gb_is_refused_before_reading(
    subscribers: SubscriberList, tmp_path: Path
) -> None:
    big = tmp_path / "big.csv"
    with big.open("wb") as out:  # sparse: 1.5 GB that take no disk
        out.write(b"email,name\nsomeone@example.com,Some One\n")
        out.truncate(3 * 2**29)
    assert big.stat().st_size > MAX_BYTES
    with pytest.raises(SubscriberError, match=r"the file is 1536\.0 MB, more than the 1024 MB"):
        import_file(subscribers, big)
    assert subscribers.store.list("") == []


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SubscriberError, match="cannot read the file: No such file or directory"):
        read_csv(tmp_path / "nope.csv")


def test_consent_times_must_be_times(subscribers: SubscriberList, tmp_path: Path) -> None:
    """They are kept as evidence and exported: text there could be a formula, or a lie."""
    path = tmp_path / "times.csv"
    path.write_text(
        "Email Address,First Name,OPTIN_TIME,CONFIRM_TIME\n"
        "ok@example.com,Ok,2021-03-01 09:00:00,2021-03-01T09:05:00Z\n"
        'bad@example.com,Bad,2021-03-01 09:00:00,=HYPERLINK("x")\n'
        "late@example.com,Late,yesterday,\n"
        "none@example.com,None,,\n",
        encoding="utf-8",
    )
    report = import_file(subscribers, path)
    assert [(e.line, e.message) for e in report.rejected] == [
        (3, "CONFIRM_TIME '=HYPERLINK(\"x\")' is not a date and time (YYYY-MM-DD HH:MM:SS)"),
        (4, "OPTIN_TIME 'yesterday' is not a date and time (YYYY-MM-DD HH:MM:SS)"),
    ]
    assert [r.email for r in subscribers.all()] == ["none@example.com", "ok@example.com"]


def test_names_that_would_reorder_a_terminal_are_rejected(
    subscribers: SubscriberList, tmp_path: Path
) -> None:
    path = tmp_path / "names.csv"
    path.write_text(
        "email,name\na@example.com,Ann\u202eeman\nb@example.com,B\x9b31m\nc@example.com,C\n",
        encoding="utf-8",
    )
    report = import_file(subscribers, path)
    assert [(e.line, e.message) for e in report.rejected] == [
        (2, "the name contains a bidirectional text override"),
        (3, "the name contains a control character"),
    ]
    assert [r.email for r in subscribers.all()] == ["c@example.com"]


def test_a_bad_byte_deep_in_a_big_file_is_found_before_anything_is_written(
    subscribers: SubscriberList, tmp_path: Path
) -> None:
    """The file is checked in 1 MB chunks: the line is still right past the first one."""
    path = tmp_path / "big.csv"
    rows = [f"person{n}@example.com,Person {n}\n".encode() for n in range(80_000)]
    rows[70_000] = b"jos\xe9@example.com,Jos\xe9\n"
    path.write_bytes(b"email,name\n" + b"".join(rows))
    assert path.stat().st_size > 2**21
    with pytest.raises(SubscriberError) as error:
        import_file(subscribers, path)
    assert (error.value.line, error.value.message) == (
        70_002,
        "not UTF-8 text (byte 0xe9); save it as UTF-8 (Excel: 'CSV UTF-8') and import it again",
    )
    assert subscribers.store.list("") == []
