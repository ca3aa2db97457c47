"""Every URL Sphere builds comes from sphere.render.urls: at a sub-path, with tokens quoted."""

from __future__ import annotations

from pathlib import Path

from sphere.render import urls
from sphere.settings import load_settings


def test_urls_at_a_sub_path_with_tokens_quoted(project: Path) -> None:
    settings = load_settings(
        project,
        env={
            "SPHERE_BASE_URL": "https://example.org/news/sphere",
            "SPHERE_ENDPOINT_URL": "https://api.example.org/sphere",
        },
    )
    assert urls.archive_url(settings, "a-slug") == "https://example.org/news/sphere/issues/a-slug/"
    assert urls.feed_url(settings) == "https://example.org/news/sphere/feed.xml"
    assert (
        urls.asset_url(settings, "images/c.png") == "https://example.org/news/sphere/images/c.png"
    )
    assert urls.unsubscribe_url(settings, "Ab+/=&x") == (
        "https://api.example.org/sphere/unsubscribe?t=Ab%2B%2F%3D%26x"
    )
    assert urls.confirm_url(settings, "t.k") == "https://api.example.org/sphere/confirm?t=t.k"
    assert urls.preview_unsubscribe_url(settings) == (
        "https://api.example.org/sphere/unsubscribe?t=PREVIEW-PERSONAL-LINK"
    )
