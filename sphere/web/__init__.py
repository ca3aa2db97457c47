"""The subscriber endpoints: unsubscribe, subscribe and confirm (see docs/endpoints.md).

`make_app(settings)` wires the WSGI app to the subscriber list, the signing secret and the
mail transport the settings name; `sphere serve` runs it locally (sphere/web/server.py) and
sphere/web/lambda_handler.py on AWS Lambda.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sphere.settings import Settings
    from sphere.web.app import Endpoints


def make_app(settings: Settings, *, answer_floor: float = 0.0) -> Endpoints:
    """The endpoints' WSGI app for these settings (SPHERE_SECRET required but for the outbox).

    `answer_floor`: the seconds every subscribe answer takes at least, for servers that answer
    only once the work behind it is done (Lambda; see sphere/web/app.py)."""
    from sphere.mail.personalise import tokens_for
    from sphere.subscribers.members import Members
    from sphere.subscribers.welcomes import WelcomeQueue
    from sphere.web.app import Endpoints
    from sphere.web.optin import TransportMailer
    from sphere.welcome.deliver import Welcomer

    members = Members.open(settings)
    mailer = TransportMailer(settings)
    queue = WelcomeQueue(members.subscribers.store, clock=members.clock)
    welcomer = Welcomer(settings, queue=queue, transport=mailer.transport, lookup=members.by_id)
    return Endpoints(
        settings,
        members=members,
        tokens=tokens_for(settings),
        mailer=mailer,
        answer_floor=answer_floor,
        welcomer=welcomer,
    )
