"""`sphere deploy`: the archive goes to SPHERE_SITE (moto's S3, or a folder) with the right
types and caching, only what changed is uploaded, and only Sphere's own files are removed."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fixtures_project import Result, write_issue

from sphere.errors import DeployError
from sphere.settings import load_settings
from sphere.site.deploy import DEPLOYS, MANIFEST, StoredManifest, deploy
from sphere.site.files import ASSET_CACHE, LONG_CACHE, SHORT_CACHE, cache_control, content_type
from sphere.site.targets import FolderSite
from sphere.store import aws
from sphere.store.local import LocalStore

SLUG = "hard-sell-or-soft-sell"  # the seed issue, due 2026-12-01 (the project's today)


def _objects(bucket: str, prefix: str = "site/") -> dict[str, dict[str, Any]]:
    """Every object under `prefix` with the headers S3 serves it with."""
    client = aws.client("s3")
    found = {}
    for item in client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
        head = client.head_object(Bucket=bucket, Key=item["Key"])
        found[item["Key"][len(prefix) :]] = head
    return found


@pytest.fixture
def site_bucket(project: Path, s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SPHERE_SITE", f"s3://{s3_bucket}/site")
    return s3_bucket


def test_the_archive_lands_in_s3_with_types_and_caching(
    site_bucket: str, project: Path, sphere: Callable[..., Result]
) -> None:
    result = sphere("deploy")

    assert result.status == 0, result.err
    assert result.out.startswith(f"s3://{site_bucket}/site/: 19 files uploaded (")
    objects = _objects(site_bucket)
    (stylesheet,) = [key for key in objects if key.startswith("static/style.")]
    search = sorted(key for key in objects if key.startswith("pagefind/"))
    assert sorted(key for key in objects if not key.startswith("pagefind/")) == [
        "404.html",
        "feed.xml",
        "images/card.png",
        "index.html",
        f"issues/{SLUG}/index.html",
        "sitemap.xml",
        "static/apple-touch-icon.png",
        "static/favicon-32.png",
        "static/favicon.svg",
        "static/search.js",
        stylesheet,
    ]  # fmt: skip (the manifest is not public: it is in the store)
    # The search index: what the archive's script loads, and nothing of Pagefind's own UI.
    names = [re.sub(r"_[0-9a-f]{7,}\.", "_HASH.", key) for key in search]
    assert names == [
        "pagefind/fragment/en-gb_HASH.pf_fragment",
        "pagefind/index/en-gb_HASH.pf_index",
        "pagefind/pagefind-entry.json",
        "pagefind/pagefind-worker.js",
        "pagefind/pagefind.en-gb_HASH.pf_meta",
        "pagefind/pagefind.js",
        "pagefind/wasm.en-gb.pagefind",
        "pagefind/wasm.unknown.pagefind",
    ]
    served = {key: (head["ContentType"], head["CacheControl"]) for key, head in objects.items()}
    for key in search:  # chunks named by their content: a year; the rest change together
        kept = (
            LONG_CACHE if key.endswith((".pf_fragment", ".pf_index", ".pf_meta")) else SHORT_CACHE
        )
        assert served[key][1] == kept, key
    assert served["pagefind/pagefind.js"][0] == "text/javascript; charset=utf-8"
    assert served["pagefind/wasm.en-gb.pagefind"][0] == "application/octet-stream"
    assert served["static/favicon-32.png"] == ("image/png", ASSET_CACHE)
    assert served["static/search.js"] == ("text/javascript; charset=utf-8", ASSET_CACHE)
    assert served["index.html"] == ("text/html; charset=utf-8", SHORT_CACHE)
    assert served[f"issues/{SLUG}/index.html"] == ("text/html; charset=utf-8", SHORT_CACHE)
    assert served["feed.xml"] == ("application/atom+xml; charset=utf-8", SHORT_CACHE)
    assert served["sitemap.xml"] == ("application/xml; charset=utf-8", SHORT_CACHE)
    # Named by its content: kept a year, and a changed theme gets a new name.
    assert served[stylesheet] == ("text/css; charset=utf-8", LONG_CACHE)
    assert served["static/favicon.svg"] == ("image/svg+xml; charset=utf-8", ASSET_CACHE)
    assert served["images/card.png"] == ("image/png", ASSET_CACHE)
    (stored,) = (project / ".sphere" / "store" / "deploys").glob("*.json")
    assert json.loads(stored.read_bytes())["site"] == f"s3://{site_bucket}/site/"


def test_fingerprinted_assets_are_cached_for_a_year() -> None:
    assert cache_control("static/style.3f2a9c1d.css") == LONG_CACHE
    assert cache_control("static/style.css") == ASSET_CACHE
    assert content_type("static/app.3f2a9c1d.js") == "text/javascript; charset=utf-8"
    assert content_type("downloads/thing.bin") == "application/octet-stream"


def test_a_second_deploy_uploads_nothing_in_two_requests(
    site_bucket: str, sphere: Callable[..., Result]
) -> None:
    assert sphere("deploy").status == 0
    before = {key: head["ETag"] for key, head in _objects(site_bucket).items()}

    again = sphere("deploy", "--json")

    assert again.status == 0, again.err
    report = json.loads(again.out)
    assert (report["upload"], report["remove"], report["unchanged"]) == ([], [], 19)
    assert report["requests"] == 1  # one listing (the manifest is in the store): never one per file
    assert {key: head["ETag"] for key, head in _objects(site_bucket).items()} == before


def test_only_the_changed_page_and_what_lists_it_are_uploaded(
    site_bucket: str, project: Path, sphere: Callable[..., Result]
) -> None:
    assert sphere("deploy").status == 0
    issue = project / "content" / "issues" / f"2026-12-01-{SLUG}.md"
    issue.write_text(issue.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")

    result = json.loads(sphere("deploy", "--json").out)

    pages = [key for key in result["upload"] if not key.startswith("pagefind/")]
    assert sorted(pages) == ["feed.xml", f"issues/{SLUG}/index.html"]
    # The search index follows the page's new text: its entry, and the chunks that hold it.
    index = sorted(
        re.sub(r"_[0-9a-f]{7,}\.", "_HASH.", k) for k in result["upload"] if k not in pages
    )
    assert index == [
        "pagefind/fragment/en-gb_HASH.pf_fragment",
        "pagefind/index/en-gb_HASH.pf_index",
        "pagefind/pagefind-entry.json",
        "pagefind/pagefind.en-gb_HASH.pf_meta",
    ]


def test_a_removed_page_goes_and_a_foreign_object_stays(
    site_bucket: str, project: Path, sphere: Callable[..., Result]
) -> None:
    write_issue(project, "2026-10-01-older", title="Older")
    client = aws.client("s3")
    client.put_object(Bucket=site_bucket, Key="site/keep/notes.txt", Body=b"not Sphere's")
    assert sphere("deploy").status == 0
    assert "issues/older/index.html" in _objects(site_bucket)

    (project / "content" / "issues" / "2026-10-01-older.md").unlink()
    result = sphere("deploy")

    assert result.status == 0, result.err
    assert "  - issues/older/index.html\n" in result.out
    objects = _objects(site_bucket)
    assert "issues/older/index.html" not in objects
    assert "keep/notes.txt" in objects  # never deployed by Sphere: never removed


def test_a_foreign_file_in_the_way_is_not_overwritten(
    site_bucket: str, sphere: Callable[..., Result]
) -> None:
    client = aws.client("s3")
    client.put_object(Bucket=site_bucket, Key="site/index.html", Body=b"someone's own page")

    result = sphere("deploy")

    assert result.status == 1
    assert result.err == (
        f"error: s3://{site_bucket}/site/ already holds files Sphere did not deploy: index.html; "
        "refusing to overwrite them: move them away, or set SPHERE_SITE to a folder or prefix "
        "of its own\n"
    )
    body = client.get_object(Bucket=site_bucket, Key="site/index.html")["Body"].read()
    assert body == b"someone's own page"
    assert list(_objects(site_bucket)) == ["index.html"]  # nothing else written either


def test_dry_run_prints_the_plan_and_changes_nothing(
    site_bucket: str, sphere: Callable[..., Result]
) -> None:
    result = sphere("deploy", "--dry-run")

    assert result.status == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith(f"s3://{site_bucket}/site/: 19 files to upload (")
    assert lines[0].endswith(" bytes), 0 to remove, 0 unchanged")
    (stylesheet,) = [line for line in lines if line.startswith("  + static/style.")]
    assert "  + index.html" in lines
    assert lines.index(stylesheet) < lines.index("  + index.html")  # assets first
    assert lines[-1] == "dry run: nothing was changed"
    assert _objects(site_bucket) == {}


def test_drafts_and_scheduled_issues_are_never_deployed(
    site_bucket: str, project: Path, sphere: Callable[..., Result]
) -> None:
    write_issue(project, "2026-11-15-a-draft", title="Unfinished", status="draft")
    write_issue(project, "2027-02-01-later", title="Later", date="2027-02-01")

    assert sphere("deploy").status == 0

    objects = _objects(site_bucket)
    assert f"issues/{SLUG}/index.html" in objects
    assert not [key for key in objects if "a-draft" in key or "later" in key]
    feed = aws.client("s3").get_object(Bucket=site_bucket, Key="site/feed.xml")["Body"].read()
    assert b"Later" not in feed and b"Unfinished" not in feed


def test_a_preview_build_with_drafts_is_refused(project: Path) -> None:
    from sphere.build.pipeline import build_all
    from sphere.site.deploy import deploy_archive

    write_issue(project, "2026-11-15-a-draft", title="Unfinished", status="draft")
    settings = load_settings()
    build_all(settings, drafts=True)

    with pytest.raises(DeployError, match=r"holds issues that must not be public yet: a-draft"):
        deploy_archive(settings, project / "dist" / "site")
    assert not (project / ".sphere" / "site").exists()


class _Dies(FolderSite):
    """A folder target whose process 'dies' (KeyboardInterrupt) after `left` page writes.

    Killing a real process at an exact point is not reproducible; this stops it between two
    writes, which is where a kill would leave the site."""

    def __init__(self, root: Path, left: int):
        super().__init__(root)
        self.left = left
        self.written: list[str] = []

    def write(self, key: str, data: bytes, *, content_type: str, cache_control: str) -> None:
        if key != MANIFEST:
            if self.left == 0:
                raise KeyboardInterrupt
            self.left -= 1
            self.written.append(key)
        super().write(key, data, content_type=content_type, cache_control=cache_control)


def _site(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}  # fmt: skip


def _kept(tmp: Path, target: FolderSite) -> StoredManifest:
    """The target's manifest, in a store folder of the test's own."""
    return StoredManifest(LocalStore(tmp / "store"), target.url)


def _build(tmp: Path, files: dict[str, str]) -> Path:
    for key, text in files.items():
        (tmp / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp / key).write_text(text, encoding="utf-8")
    return tmp


def test_an_interrupted_deploy_completes_on_the_next_run(tmp_path: Path) -> None:
    first = _build(tmp_path / "one", {"index.html": "1", "issues/a/index.html": "a", "issues/b/index.html": "b"})  # fmt: skip
    target_folder = tmp_path / "public"
    target_folder.mkdir()
    (target_folder / "mine.txt").write_text("the web server's own", encoding="utf-8")
    deploy(first, FolderSite(target_folder), manifest=_kept(tmp_path, FolderSite(target_folder)))
    second = _build(
        tmp_path / "two",
        {"index.html": "2", "issues/a/index.html": "a2", "style.css": "s", "issues/c/index.html": "c"},
    )  # fmt: skip

    dying = _Dies(target_folder, left=2)
    with pytest.raises(KeyboardInterrupt):
        deploy(second, dying, manifest=_kept(tmp_path, dying))
    assert dying.written == ["style.css", "issues/a/index.html"]  # assets, then pages

    resumed = _Dies(target_folder, left=100)
    plan = deploy(second, resumed, manifest=_kept(tmp_path, resumed))

    assert resumed.written == ["issues/c/index.html", "index.html"]  # the rest, not again
    assert plan.remove == ["issues/b/index.html"]
    site = _site(target_folder)
    manifest = json.loads(_kept(tmp_path, resumed).read() or b"")
    assert sorted(manifest["files"]) == sorted(_site(second))
    assert site == {**_site(second), "mine.txt": b"the web server's own"}
    assert not (target_folder / "issues" / "b").exists()  # emptied folders go too


def test_a_file_removed_during_an_interrupted_deploy_is_removed_later(tmp_path: Path) -> None:
    target = tmp_path / "public"
    kept = _kept(tmp_path, FolderSite(target))
    deploy(
        _build(tmp_path / "one", {"a.html": "a", "b.html": "b"}), FolderSite(target), manifest=kept
    )
    smaller = _build(tmp_path / "two", {"a.html": "a2"})
    with pytest.raises(KeyboardInterrupt):
        deploy(smaller, _Dies(target, left=0), manifest=kept)  # died before its first write

    deploy(smaller, FolderSite(target), manifest=kept)

    assert sorted(_site(target)) == ["a.html"]


def test_bad_site_settings_are_one_line_errors(
    project: Path, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, aws: str
) -> None:
    monkeypatch.setenv("SPHERE_SITE", "ftp://example.org/site")
    result = sphere("deploy")
    assert (result.status, result.err) == (
        1,
        "error: SPHERE_SITE='ftp://example.org/site': expected s3://BUCKET/PREFIX or a folder\n",
    )

    monkeypatch.setenv("SPHERE_SITE", "s3://no-such-bucket-for-sphere/site")
    result = sphere("deploy")
    assert result.status == 3
    assert result.err.startswith("error: the S3 bucket 'no-such-bucket-for-sphere' does not exist")


def test_a_damaged_manifest_stops_the_deploy(tmp_path: Path) -> None:
    target = tmp_path / "public"
    target.mkdir()
    (target / MANIFEST).write_text("{not json", encoding="utf-8")

    with pytest.raises(DeployError, match=r"\.sphere-deploy\.json is damaged"):
        deploy(
            _build(tmp_path / "one", {"a.html": "a"}), FolderSite(target),
            manifest=_kept(tmp_path, FolderSite(target)),
        )  # fmt: skip
    assert sorted(_site(target)) == [MANIFEST]


def test_an_older_sites_manifest_is_adopted_and_taken_off_the_site(tmp_path: Path) -> None:
    """Older Sphere kept the manifest at the (public) site: it moves into the store."""
    target = tmp_path / "public"
    target.mkdir()
    (target / "old.html").write_text("deployed by an older Sphere", encoding="utf-8")
    (target / "mine.txt").write_text("the web server's own", encoding="utf-8")
    legacy = {"format": 1, "files": {"old.html": "x text/html; charset=utf-8 short"}}
    (target / MANIFEST).write_text(json.dumps(legacy), encoding="utf-8")
    kept = _kept(tmp_path, FolderSite(target))

    plan = deploy(_build(tmp_path / "one", {"a.html": "a"}), FolderSite(target), manifest=kept)

    assert plan.remove == ["old.html"]  # it was Sphere's: the old manifest said so
    assert sorted(_site(target)) == ["a.html", "mine.txt"]
    assert sorted(json.loads(kept.read() or b"")["files"]) == ["a.html"]
    assert kept.key.startswith(DEPLOYS)


KILL_AFTER_UPLOADS = """
import os, signal, sys
import sphere.store.aws as aws
real, uploads = aws.client, []
def killing(service, **options):
    client = real(service, **options)
    def note_key(params, context, **_):
        context["key"] = params["Key"]
    def after_put(context, **_):
        if not context["key"].endswith(".sphere-deploy.json"):
            uploads.append(context["key"])
            if len(uploads) == 3:  # no cleanup, no finally: as `kill -9` leaves it
                os.kill(os.getpid(), signal.SIGKILL)
    client.meta.events.register("before-parameter-build.s3.PutObject", note_key)
    client.meta.events.register("after-call.s3.PutObject", after_put)
    return client
aws.client = killing
from sphere.cli import main
main(["deploy"], prog_name="sphere")
"""


def test_a_deploy_killed_midway_completes_on_the_next_run(
    site_bucket: str, project: Path, sphere: Callable[..., Result]
) -> None:
    import os
    import signal
    import subprocess
    import sys

    for n in range(12):
        write_issue(project, f"2026-0{1 + n % 9}-1{n % 10}-more-{n}", title=f"More {n}")
    killed = subprocess.run(
        [sys.executable, "-c", KILL_AFTER_UPLOADS], cwd=project, env=os.environ.copy(),
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    partial = _objects(site_bucket)
    assert 3 <= len(partial) < 20  # died midway

    resumed = json.loads(sphere("deploy", "--json").out)

    every = sorted(_objects(site_bucket))
    # 13 issue pages, index, feed, sitemap, 404, style, 3 icons, card, search.js; the search
    # index: 13 fragments, an index chunk, its entry, meta, script, worker, 2 WebAssembly.
    assert len(every) == 43
    assert sorted(resumed["upload"]) == sorted(set(every) - set(partial))  # the rest only
    (manifest,) = (project / ".sphere" / "store" / "deploys").glob("*.json")
    assert sorted(json.loads(manifest.read_bytes())["files"]) == every


@pytest.mark.parametrize(
    ("store", "site"), [("s3://b/data", "s3://b/"), ("s3://b/", "s3://b/www/")]
)
def test_the_site_never_overlaps_the_store(
    project: Path,
    sphere: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    store: str,
    site: str,
) -> None:
    monkeypatch.setenv("SPHERE_STORE", store)
    monkeypatch.setenv("SPHERE_SITE", site)

    result = sphere("deploy")

    assert result.status == 1
    assert result.err.startswith(f"error: SPHERE_SITE ({site}) overlaps SPHERE_STORE (")
    assert "holds the subscriber list" in result.err
