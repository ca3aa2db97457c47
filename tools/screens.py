"""Screenshots of the corpus issue (tests/data/corpus) for review: the email and the archive
page at 320, 375 and 600 px, light and dark, into docs/screens/.

    uv run python tools/screens.py [--out docs/screens]

Each is the whole page, shot by sphere.screenshots in Debian's Chromium, then halved and
reduced to 64 colours with Pillow, so that the twelve stay small enough to keep in the
repository (a reviewer reads layout and colour from them, not fine type).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from test_corpus import SLUG, write_corpus  # noqa: E402 (the corpus lives with the tests)

from sphere.build.pipeline import build_all  # noqa: E402
from sphere.screenshots import Shot, take_screenshots  # noqa: E402
from sphere.settings import load_settings  # noqa: E402

WIDTHS = (320, 375, 600)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screens")
    parser.add_argument("--full", type=Path, help="also keep the full-size shots here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        shutil.copy(REPO / "pyproject.toml", root)
        for name in ("content", "templates"):
            shutil.copytree(REPO / name, root / name)
        write_corpus(root)
        settings = load_settings(root, env={"SPHERE_TODAY": "2026-12-01"})
        build_all(settings, cache=False)
        out = settings.output_dir
        shots = [
            Shot(f"{kind}-{width}-{scheme}", out / path, width, scheme, folder=out)
            for kind, path in (
                ("email", Path(f"email/{SLUG}.html")),
                ("archive", Path(f"site/issues/{SLUG}/index.html")),
            )
            for width in WIDTHS
            for scheme in ("light", "dark")
        ]
        args.out.mkdir(parents=True, exist_ok=True)
        for path in take_screenshots(shots, out_dir=args.full or root / "shots"):
            with Image.open(path) as shot:
                small = shot.resize((shot.width // 2, shot.height // 2), Image.Resampling.LANCZOS)
                small.quantize(colors=64).save(args.out / path.name, optimize=True)
    for path in sorted(args.out.glob("*.png")):
        print(f"{path.relative_to(REPO)}  {path.stat().st_size // 1024} KB")  # noqa: T201


if __name__ == "__main__":
    main()
