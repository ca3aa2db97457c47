"""New sends that `sphere publish` holds back, because they would mail the list by mistake.

Each is a warning, and the issue waits for the next run: an empty list (a wrong SPHERE_STORE
must not use an issue up on nobody), or a subject that went out already (a renamed issue file
looks like a new issue).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sphere.publish import Due, Sends
    from sphere.settings import Settings
    from sphere.store.blobs import BlobStore

log = logging.getLogger("sphere.publish")  # publish's warnings, under publish's name


def hold_back(settings: Settings, store: BlobStore, new: list[Due], sends: Sends | None) -> None:
    """Hold back new sends that would mail the list by mistake: with nobody subscribed (a
    wrong SPHERE_STORE), or with the subject of a campaign that went out already (a renamed
    issue file would otherwise look like a new issue). Only read when there is a new send."""
    if not new:
        return
    if not _anyone_subscribed(settings):
        for item in new:
            item.why = "nobody"
            log.warning(
                "nobody is subscribed in %s: not starting the send of %s (check SPHERE_STORE)",
                store.url, item.issue.slug,
            )  # fmt: skip
        return
    subjects = sent_subjects(store, (sends or _read_sends(store)).started)
    for item in new:
        earlier = subjects.get(item.issue.subject)
        if earlier is not None:
            item.why = "resent"
            log.warning(
                "%s has the subject of %s, which went out already: not sending it again "
                "(a new issue needs a subject of its own)",
                item.issue.slug, earlier,
            )  # fmt: skip


def sent_subjects(store: BlobStore, started: Collection[str]) -> dict[str, str]:
    """The subject of every campaign that started, to the slug it went out under."""
    from sphere.store.blobs import get_many

    slugs = sorted(started)
    keys = [f"campaigns/{slug}/campaign.json" for slug in slugs]
    return {
        json.loads(blob.data)["subject"]: slug
        for slug, blob in zip(slugs, get_many(store, keys), strict=True)
        if blob is not None
    }


def _anyone_subscribed(settings: Settings) -> bool:
    from sphere.send import seams

    return any(person.status == "subscribed" for person in seams.people(settings).values())


def _read_sends(store: BlobStore) -> Sends:
    from sphere.publish import Sends

    return Sends.read(store)
