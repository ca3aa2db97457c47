"""`sphere deploy`: build the public archive and make SPHERE_SITE hold it (sphere.site)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from sphere.cli.options import AsOf, DryRunFlag, Json

if TYPE_CHECKING:
    from sphere.publish import Sends
    from sphere.settings import Settings

DEPLOY_BUILD = ".sphere/deploy"  # the build deployed: never `dist/`, which may hold drafts


def build_public_archive(
    settings: Settings,
    *,
    exclude: Collection[Path] = (),
    sends: Sends | None = None,
    now: dt.datetime | None = None,
) -> Path:
    """Build the archive as the public may see it (no drafts, no scheduled issue, and none
    dated today whose send time has not come, unless its send started); its folder.

    It is built into a folder of its own, so a preview build in `dist/` (drafts included)
    can never be what gets deployed; and rendered afresh, never from the build cache: a cache
    committed to the repository or restored by CI could hold anything, and `sphere check`,
    which renders afresh, would not see it. `exclude`: broken issue files that publish passes
    over (sphere.broken). `sends`: the campaigns' state, if read already (the store is read
    only when an issue of today waits for its send time). `now`: the moment that decides
    (default the settings' clock); `sphere publish` passes the one its sends decide by.
    """
    from sphere.build.pipeline import build_all
    from sphere.publish import read_sends
    from sphere.schedule import waiting

    now = now or settings.now()
    early = waiting(settings, now=now, exclude=exclude)
    if early:  # a send already started (`send --now`) keeps its page up
        sends = sends or read_sends(settings)
        gone = sends.started | sends.complete
        exclude = {*exclude, *(path for slug, path in early.items() if slug not in gone)}
    out = settings.root / DEPLOY_BUILD
    build_all(
        settings, out=out, drafts=False, screenshots=False, cache=False,
        today=settings.today(now), exclude=exclude,
    )  # fmt: skip
    return out / "site"


def deploy(
    dry_run: DryRunFlag = False,
    as_json: Json = False,
    as_of: AsOf = None,
) -> None:
    """Upload the web archive to SPHERE_SITE: changed files only, removing only Sphere's own.

    The archive holds only issues whose date has come. --dry-run lists what would be uploaded
    and removed. See docs/publishing.md.
    """
    from sphere.cli import load
    from sphere.cli.options import decision_moment
    from sphere.site.deploy import deploy_archive

    settings = load()
    site = build_public_archive(settings, now=decision_moment(settings, as_of))
    plan = deploy_archive(settings, site, dry_run=dry_run)
    if as_json:
        print(json.dumps({**plan.as_dict(), "dry_run": dry_run}, indent=2))
        return
    for line in plan.lines(done=not dry_run):
        print(line)
    if dry_run:
        print("dry run: nothing was changed")


def register(app: typer.Typer) -> None:
    """Add `deploy` to the main app."""
    app.command()(deploy)
