"""The endpoints' pages: rendered from the theme's templates/web/, with the archive's look.

Every page extends the archive's `web/base.html.j2` with `root` set to the archive's absolute
URL, so its stylesheet, feed and links lead to the archive itself; nothing on a page is built
from the request (not the Host header, not a path): only from settings and the signed token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import jinja2

from sphere.render.environment import make_environment, site_fields, template_error

if TYPE_CHECKING:
    from sphere.settings import Settings

PAGES = "web/endpoint/"  # templates/web/endpoint/NAME.html.j2


def origin(url: str) -> str:
    """The scheme and host of an absolute URL: `https://example.org`."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def security_headers(settings: Settings) -> list[tuple[str, str]]:
    """The headers every answer carries.

    No script at all; styles and images only from the archive; forms only to the endpoints;
    never framed (a hidden unsubscribe button under a decoy is the attack); no Referer, so a
    token in the page's URL never leaves with a request for the stylesheet; never cached, so a
    shared cache never shows one reader's page to another.
    """
    archive = origin(settings.base_url)
    policy = (
        f"default-src 'none'; style-src {archive}; img-src {archive}; "
        f"form-action {settings.endpoint_url}; frame-ancestors 'none'; base-uri 'none'"
    )
    headers = [
        ("Content-Security-Policy", policy),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-store"),
    ]
    if settings.endpoint_url.startswith("https://"):
        headers.append(("Strict-Transport-Security", "max-age=31536000"))
    return headers


@dataclass
class Pages:
    """Renders the endpoint pages of one project's theme (templates are loaded once)."""

    settings: Settings
    env: jinja2.Environment = field(init=False)
    _site: dict[str, Any] = field(init=False)
    _static: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        from sphere.archive import static_names, themed_static

        self.env = make_environment(self.settings.templates_dir)
        self._site = site_fields(self.settings)
        # The archive's stylesheet, by the name the archive deploys it under.
        self._static = static_names(themed_static(self.settings, self.env, self._site))

    def render(self, name: str, **context: Any) -> bytes:
        """The page `name` as UTF-8 bytes; `context` adds to what every page gets."""
        template = f"{PAGES}{name}.html.j2"
        try:
            text = self.env.get_template(template).render(
                site=self._site,
                root=self.settings.base_url,
                endpoint=self.settings.endpoint_url,
                canonical=None,
                card=None,
                static=self._static,
                **context,
            )
        except jinja2.TemplateError as error:
            raise template_error(error, self.settings.templates_dir, template) from None
        return text.encode("utf-8")


__all__ = ["PAGES", "Pages", "origin", "security_headers"]
