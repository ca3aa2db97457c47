"""What one more recipient costs: Sphere's substitution against building an EmailMessage.

    uv run python benchmarks/personalise.py [--recipients 5000]

Renders the seed issue once, then produces a complete message for each of N recipients in two
ways: `MessageTemplate.render` (substitution into bytes encoded once, what `send` uses) and the
straightforward way (a new `EmailMessage` per recipient, serialised with `as_bytes`).
"""

from __future__ import annotations

import argparse
import time
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from sphere.content.issues import load_issues
from sphere.mail.issue import issue_message
from sphere.mail.message import UNSUBSCRIBE_URL, Recipient, fill
from sphere.render.email import Renderer
from sphere.settings import load_settings

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=5000)
    args = parser.parse_args()
    settings = load_settings(REPO, env={})
    rendered = Renderer(settings).render(load_issues(settings.content_dir)[0])
    template = issue_message(settings, rendered)
    readers = [
        Recipient(
            address=f"reader{n}@example.org",
            name=f"Reader Number {n}",
            unsubscribe_url=f"{settings.endpoint_url}unsubscribe?t=Rdr{n:08d}.c2lnbmF0dXJlLXNpZ25hdHVyZQ",
            unsubscribe_mailto=f"mailto:{settings.unsubscribe_mailto}?subject=unsubscribe%20Rdr{n:08d}",
        )
        for n in range(args.recipients)
    ]

    start = time.perf_counter()
    for reader in readers:
        template.render(reader)
    ours = (time.perf_counter() - start) / len(readers)

    sample = readers[: max(1, len(readers) // 10)]
    start = time.perf_counter()
    for reader in sample:
        values = {UNSUBSCRIBE_URL: reader.unsubscribe_url}
        message = EmailMessage(policy=SMTP)
        message["From"], message["To"] = settings.sender, f"{reader.name} <{reader.address}>"
        message["Subject"] = rendered.issue.subject
        message["List-Unsubscribe"] = f"<{reader.unsubscribe_url}>, <{reader.unsubscribe_mailto}>"
        message.set_content(fill(rendered.email_text, values, escape_html=False))
        message.add_alternative(fill(rendered.email_html, values, escape_html=True), subtype="html")
        message.as_bytes()
    naive = (time.perf_counter() - start) / len(sample)

    size = len(template.render(readers[0]))
    print(f"message size {size / 1024:.1f} KiB")
    for label, cost in (("MessageTemplate.render", ours), ("EmailMessage per reader", naive)):
        print(f"{label:<24} {cost * 1e6:8.1f} µs per recipient ({1 / cost:,.0f}/s on one core)")
    print(f"speed-up: {naive / ours:.0f}x")


if __name__ == "__main__":
    main()
