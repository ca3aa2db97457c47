"""`sphere deploy`: make SPHERE_SITE hold exactly the built archive, touching only its own files.

A manifest records every key Sphere wrote to a site and the fingerprint (MD5, type, cache rule)
it wrote it with. It is kept in the store (`deploys/<hash of the site's URL>.json`), never at
the site: the site is public, and the manifest is for Sphere alone. (Older Sphere kept it at
the site as `.sphere-deploy.json`: the first deploy reads it from there, and removes it.) A
deploy

1. takes one inventory of the site and plans: upload what is missing or differs, remove what
   Sphere deployed earlier and the archive no longer has. A file Sphere did not deploy is never
   removed, nor overwritten (the deploy stops and names it), unless it already holds the very
   bytes the archive has;
2. writes the manifest first with every key it is about to write or remove, so a deploy killed
   midway leaves nothing it wrote unrecorded, and the next run finishes the job (what was
   already uploaded matches and is not sent again);
3. uploads, assets before the pages that link to them; removes; writes the final manifest.

A deploy with nothing to do makes two requests: the listing and the manifest's read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sphere.errors import DeployError
from sphere.site.files import SiteFile, scan, upload_order
from sphere.site.targets import SiteTarget

if TYPE_CHECKING:
    from sphere.content.issues import Issue
    from sphere.settings import Settings
    from sphere.store.blobs import BlobStore

log = logging.getLogger(__name__)

MANIFEST = ".sphere-deploy.json"  # where older Sphere kept it, at the site
DEPLOYS = "deploys/"  # in the store
_FORMAT = 1
LIST_AT_MOST = 20  # keys named one by one in a plan


@dataclass
class Plan:
    """What a deploy will do (or did): keys to upload and remove, and how many stay."""

    site: str
    upload: list[SiteFile] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    unchanged: int = 0
    adopted: list[str] = field(default_factory=list)  # already there, byte for byte
    requests: int = 0  # made to the site (S3) while planning and deploying

    @property
    def empty(self) -> bool:
        return not self.upload and not self.remove

    def lines(self, *, done: bool) -> list[str]:
        """The plan for people: a count line, then the keys (a few of each)."""
        verb = ("uploaded", "removed") if done else ("to upload", "to remove")
        size = sum(file.size for file in self.upload)
        lines = [
            f"{self.site}: {len(self.upload)} files {verb[0]} ({size:,} bytes), "
            f"{len(self.remove)} {verb[1]}, {self.unchanged} unchanged"
        ]
        lines += [f"  + {file.key}" for file in self.upload[:LIST_AT_MOST]]
        lines += [f"  - {key}" for key in self.remove[:LIST_AT_MOST]]
        hidden = max(0, len(self.upload) - LIST_AT_MOST) + max(0, len(self.remove) - LIST_AT_MOST)
        if hidden:
            lines.append(f"  ... and {hidden} more")
        return lines

    def as_dict(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "upload": [file.key for file in self.upload],
            "remove": self.remove,
            "unchanged": self.unchanged,
            "adopted": self.adopted,
            "requests": self.requests,
        }


class Manifest(Protocol):
    """Where a site's manifest is kept: `where` names it in messages."""

    where: str

    def read(self) -> bytes | None: ...

    def write(self, data: bytes) -> None: ...


class StoredManifest:
    """A site's manifest in the store, one object per site (by a hash of the site's URL)."""

    def __init__(self, store: BlobStore, site_url: str):
        digest = hashlib.sha256(site_url.encode()).hexdigest()[:24]
        self.store, self.key = store, f"{DEPLOYS}{digest}.json"
        self.where = f"{store.url.rstrip('/')}/{self.key}"

    def read(self) -> bytes | None:
        blob = self.store.get(self.key)
        return None if blob is None else blob.data

    def write(self, data: bytes) -> None:
        self.store.put(self.key, data)


def read_manifest(target: SiteTarget, manifest: Manifest) -> tuple[dict[str, str], bool]:
    """The keys Sphere deployed to `target` with their fingerprints ({} before the first), and
    whether they came from an older Sphere's manifest at the site (to be moved)."""
    data, where, legacy = manifest.read(), manifest.where, False
    if data is None:
        data, where, legacy = target.read(MANIFEST), f"{target.url}{MANIFEST}", True
    if data is None:
        return {}, False
    try:
        parsed = json.loads(data)
        files = parsed["files"]
        if parsed.get("format") != _FORMAT or not isinstance(files, dict):
            raise ValueError("unknown format")
    except (ValueError, KeyError, TypeError) as problem:
        raise DeployError(
            f"{where} is damaged ({problem}); Sphere will not guess which files "
            "are its own: restore it, or deploy to an empty SPHERE_SITE"
        ) from None
    return {str(key): str(value) for key, value in files.items()}, legacy


def _manifest_bytes(site: str, files: dict[str, str]) -> bytes:
    body = {"format": _FORMAT, "site": site, "files": dict(sorted(files.items()))}
    return json.dumps(body, indent=1).encode("utf-8") + b"\n"


def plan(local: dict[str, SiteFile], target: SiteTarget, deployed: dict[str, str]) -> Plan:
    """Compare the built archive with one inventory of the site; refuse foreign files in the way."""
    there = target.inventory()
    there.pop(MANIFEST, None)
    result = Plan(site=target.url)
    foreign = []
    for key, file in local.items():
        if key not in there:
            result.upload.append(file)
        elif key not in deployed and there[key] == file.md5:
            result.adopted.append(key)  # the same bytes: taking it over destroys nothing
            result.upload.append(file)  # but its type and cache rule may differ
        elif key not in deployed:
            foreign.append(key)
        elif there[key] != file.md5 or deployed[key] != file.fingerprint:
            result.upload.append(file)
        else:
            result.unchanged += 1
    if foreign:
        shown = ", ".join(foreign[:5]) + (
            f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        )
        raise DeployError(
            f"{target.url} already holds files Sphere did not deploy: {shown}; refusing to "
            "overwrite them: move them away, or set SPHERE_SITE to a folder or prefix of its own"
        )
    result.remove = sorted(key for key in deployed if key not in local and key in there)
    result.upload.sort(key=lambda file: upload_order(file.key))
    return result


def apply(
    result: Plan,
    target: SiteTarget,
    manifest: Manifest,
    deployed: dict[str, str],
    final: dict[str, str],
) -> None:
    """Carry out `result`: manifest first (every key at stake), uploads, removals, and the
    `final` manifest (every key of the archive with its fingerprint)."""
    if result.empty:
        return
    claimed = dict(deployed)
    for file in result.upload:
        # A changed content is recorded as already new: if the upload happened, the site's
        # MD5 says so; a type-only change keeps its old entry until the upload is done.
        if claimed.get(file.key, "").split(" ")[0] != file.md5:
            claimed[file.key] = file.fingerprint
    manifest.write(_manifest_bytes(target.url, claimed))
    target.upload(result.upload)
    for key in result.remove:
        target.remove(key)
    manifest.write(_manifest_bytes(target.url, final))


def deploy(folder: Path, target: SiteTarget, *, manifest: Manifest, dry_run: bool = False) -> Plan:
    """Make `target` hold the archive built in `folder`, keeping what Sphere deployed in
    `manifest`; with `dry_run`, only plan."""
    local = scan(folder)
    deployed, legacy = read_manifest(target, manifest)
    result = plan(local, target, deployed)
    if not dry_run:
        final = {key: file.fingerprint for key, file in local.items()}
        if legacy:  # moved out of the public site: into the store first, then gone from there
            manifest.write(_manifest_bytes(target.url, deployed))
        apply(result, target, manifest, deployed, final)
        if legacy:
            target.remove(MANIFEST)
        log.info("deployed to %s: %d uploaded", target.url, len(result.upload))
    result.requests = target.requests
    return result


def refuse_undue_pages(folder: Path, issues: list[Issue], today: dt.date) -> None:
    """A built archive holding a draft's or a scheduled issue's page is never deployed.

    `issues` are every issue (drafts too); `build --drafts` makes such an archive for previews.
    """
    from sphere.render.urls import issue_path

    early = [issue for issue in issues if not issue.is_due(today)]
    found = [issue for issue in early if (folder / issue_path(issue.slug)).is_dir()]
    if found:
        names = ", ".join(f"{issue.slug} ({issue.state(today)})" for issue in found)
        raise DeployError(
            f"{folder} holds issues that must not be public yet: {names}; "
            "deploy an archive built without --drafts"
        )


def deploy_archive(
    settings: Settings,
    folder: Path,
    *,
    dry_run: bool = False,
    target: SiteTarget | None = None,
    exclude: Collection[Path] = (),
) -> Plan:
    """Deploy the archive built in `folder` to SPHERE_SITE, once sure it holds no early page
    (`exclude`: broken issue files publish passes over, as the build did)."""
    from sphere.content.issues import load_issues
    from sphere.site.targets import open_site

    issues = load_issues(settings.content_dir, drafts=True, exclude=exclude)
    refuse_undue_pages(folder, issues, settings.today())
    from sphere.store.blobs import open_store

    target = target or open_site(settings.site, root=settings.root)
    store = open_store(settings)
    _refuse_the_store(store, target)
    return deploy(folder, target, manifest=StoredManifest(store, target.url), dry_run=dry_run)


def _refuse_the_store(blobs: BlobStore, target: SiteTarget) -> None:
    """The public archive never goes into the store (subscribers, ledgers), nor around it."""
    store = blobs.url.rstrip("/") + "/"
    site = target.url.rstrip("/") + "/"
    if store.startswith(site) or site.startswith(store):
        raise DeployError(
            f"SPHERE_SITE ({target.url}) overlaps SPHERE_STORE ({store}), which holds the "
            "subscriber list: give the site a bucket, prefix or folder of its own"
        )
