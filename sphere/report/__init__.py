"""`sphere report`: one page on how the list and the issues are doing (see docs/report.md).

`write_report` gathers the numbers (sphere.report.data), draws the page (sphere.report.page,
charts in sphere.report.charts) and puts it in a folder of its own, whole or not at all.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sphere.report.data import ReportData
    from sphere.settings import Settings

PAGE = "index.html"
SUMMARY = "summary.md"


def write_report(settings: Settings, out: Path) -> ReportData:
    """Write the report page and its Markdown table into `out`, replacing the folder whole.

    `out` must be a folder Sphere may replace (sphere.output): missing, empty or made by
    Sphere. The new folder is written beside it and swapped in, so a failure leaves the old
    report as it was.
    """
    from sphere.output import check_replaceable, mark, remove
    from sphere.report import page
    from sphere.report.data import gather

    out = out.resolve()
    check_replaceable(out, settings)
    data = gather(settings)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        mark(staging)
        (staging / PAGE).write_text(page.html(data), encoding="utf-8")
        (staging / SUMMARY).write_text(page.markdown(data), encoding="utf-8")
        # mkdtemp makes it 0700: a report page is no secret, and a web server must read it.
        os.chmod(staging, 0o755)  # noqa: S103
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}-old-", dir=out.parent))
            os.replace(out, old / out.name)
            os.replace(staging, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, out)
    except BaseException:
        remove(staging)
        raise
    return data


__all__ = ["PAGE", "SUMMARY", "write_report"]
