"""Keeping the list quick to read with nobody running `sphere subscribers compact`.

Every unsubscribe, bounce and confirmation is a change object of its own, and every reader
(the unsubscribe endpoint on each request) reads all the changes the snapshot has not folded:
about 1 s a request after 220 of them on S3. `sphere publish` runs on every merge and daily,
so it folds them in when there are enough to be worth a compaction's whole read of the list.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sphere.errors import PreconditionFailed, StoreError
from sphere.subscribers.events import CHANGES

if TYPE_CHECKING:
    from sphere.settings import Settings
    from sphere.subscribers.list import CompactReport, SubscriberList

log = logging.getLogger(__name__)

# Changes waiting before publish compacts: a reader then lists and reads at most this many
# small objects (a few tenths of a second on S3), and a daily publish compacts about weekly
# on a list that gets a handful of changes a day.
COMPACT_AFTER = 50


def compact_if_worth_it(
    subscribers: SubscriberList, *, threshold: int = COMPACT_AFTER
) -> CompactReport | None:
    """Compact the list if `threshold` changes or more are waiting; None if it did not.

    It never fails the caller: a compaction that loses a race to another (or that the store
    refuses half-way) leaves the list whole, as compaction always does, and the next run
    tries again. So the warning says what happened, and publishing goes on.
    """
    waiting = len(subscribers.store.list(CHANGES))
    if waiting < threshold:
        return None
    try:
        return subscribers.compact()
    except PreconditionFailed:
        log.info("another compaction ran at the same time: this one is left to it")
    except StoreError as error:
        log.warning("could not compact the subscriber list (%s): it is intact; the next "
                    "publish tries again", error)  # fmt: skip
    return None


def compact_settings_list(settings: Settings) -> CompactReport | None:
    """`compact_if_worth_it` on the list the settings name (publish's upkeep step)."""
    from sphere.subscribers.list import open_list

    return compact_if_worth_it(open_list(settings))
