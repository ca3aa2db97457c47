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
        refuse_a_wrong_store(settings, store, sends)
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


def refuse_a_wrong_store(settings: Settings, store: BlobStore, sends: Sends | None) -> None:
    """SettingsError, before anything is deployed or sent, for a SPHERE_STORE that cannot be
    the newsletter's: one with no subscriber list where earlier sends from it recorded one,
    or one named in SPHERE_STORE that holds nothing at all (a typo, a wrong prefix). An
    empty list in a store that has one, or the local default on a fresh project, is only
    held back (the warning): nobody may have subscribed yet."""
    from sphere.errors import SettingsError

    if store.list("subscribers/"):
        return
    sends = sends or _read_sends(store)
    earlier = sends.started | sends.complete
    if earlier:
        raise SettingsError(
            f"SPHERE_STORE ({store.url}) has no subscriber list, but {len(earlier)} earlier "
            "sends from it recorded one: is it the right store? Nothing was deployed or sent"
        )
    if "store" in settings.from_env and not store.list(""):
        raise SettingsError(
            f"SPHERE_STORE ({store.url}) holds nothing: no subscriber list and no earlier "
            "send (a typo?); check it, or add subscribers there first. Nothing was deployed "
            "or sent"
        )


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
