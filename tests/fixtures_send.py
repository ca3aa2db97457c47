"""Subscribers for send tests, written in bulk through the subscriber list's own events.

One place that knows how to make many subscribers quickly (adding them one by one folds the
whole list each time); re-point it here if the subscriber package changes.
"""

from __future__ import annotations

from collections import Counter
from email import message_from_bytes, policy
from pathlib import Path

from sphere.settings import Settings
from sphere.subscribers.events import creation_event
from sphere.subscribers.list import open_list


def add_subscribers(settings: Settings, people: list[tuple[str, str]]) -> dict[str, str]:
    """Subscribe (address, name) pairs in one change object; return {address: subscriber id}."""
    subscribers = open_list(settings)
    now = subscribers.now()
    events = [
        creation_event(
            "add",
            email,
            id=subscribers.id_for(email),
            at=now,
            status="subscribed",
            name=name,
            consent=(now, "cli", "test"),
        )
        for email, name in people
    ]
    subscribers.append(events)
    return {event["email"]: event["id"] for event in events}


def mailed(folder: Path) -> Counter[str]:
    """How many messages each address got in an outbox folder."""
    found: Counter[str] = Counter()
    for path in folder.glob("*.eml"):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        found[message["To"].addresses[0].addr_spec] += 1
    return found
