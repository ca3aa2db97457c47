"""An issue or a template from a guest author's pull request runs no code and reads no secret.

Issue bodies and the theme are rendered in Jinja's sandbox and see plain mappings of the public
settings: each attack below must give one `file:line: error:` from `build` and from `check`,
and leave no trace (the command it tries to run would create a file).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from fixtures_project import SEED_ISSUE, Result, write_issue

from sphere.checks import check_project
from sphere.content.issues import load_issue
from sphere.render.email import Renderer
from sphere.render.environment import DERIVED_SETTINGS, PRIVATE_SETTINGS, PUBLIC_SETTINGS
from sphere.settings import Settings, load_settings

SECRET = "sphere-test-secret-8c1f0e2a9d-7b3e5c4f"
NAME = "2026-10-01-guest"
ISSUE = f"content/issues/{NAME}.md"
BODY = 8  # the first body line of a write_issue file
MARKER = "ran-a-command"

ATTACKS = {
    "cycler globals": "{{ cycler.__init__.__globals__.os.popen('touch MARKER').read() }}",
    "lipsum globals": "{{ lipsum.__globals__['os'].popen('touch MARKER').read() }}",
    "joiner globals": "{{ joiner.__init__.__globals__.os.system('touch MARKER') }}",
    "__class__ walk": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "__subclasses__": "{{ ().__class__.__base__.__subclasses__() }}",
    "self": "{{ self.__init__.__globals__ }}",
    "self's context": "{{ self._TemplateReference__context }}",
    "config": "{{ config.items() }}",
    "issue's class": "{{ issue.__class__.__init__.__globals__ }}",
    "site's class": "{{ site.__class__.__subclasses__() }}",
    "a dict's method": "{{ site.clear() }}",
    "the secret": "{{ site.secret }}",
    "the store": "{{ site.store }}",
    "a path": "{{ site.content_dir }}",
    "the file": "{{ issue.path }}",
    "include outside": "{% include '../pyproject.toml' %}",
    "include absolute": "{% include '/etc/passwd' %}",
    "include the theme": "{% include 'email/issue.txt.j2' %}",
    "import": "{% from '../../pyproject.toml' import x %}",
    "extends": "{% extends 'web/base.html.j2' %}",
}


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch, project: Path) -> str:
    monkeypatch.setenv("SPHERE_SECRET", SECRET)
    return SECRET


def files_under(*folders: Path) -> Iterator[Path]:
    for folder in folders:
        yield from (path for path in folder.rglob("*") if path.is_file())


def assert_no_secret(project: Path) -> None:
    seen = list(files_under(project / "dist", project / ".sphere" / "cache"))
    assert seen, "nothing was written to look in"
    for path in seen:
        assert SECRET.encode() not in path.read_bytes(), path


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
def test_an_issue_cannot_run_code_or_reach_beyond_the_public_settings(
    project: Path, sphere: Callable[..., Result], attack: str
) -> None:
    write_issue(project, NAME, body=f"{attack.replace('MARKER', str(project / MARKER))}\n")
    built = sphere("build")
    assert built.status == 1
    assert built.err.startswith(f"{ISSUE}:{BODY}: error: "), built.err
    assert len(built.err.splitlines()) == 1
    assert "Traceback" not in built.err
    checked = sphere("check")
    assert checked.status == 1
    assert f"{ISSUE}:{BODY}: error: content/invalid " in checked.out
    assert not (project / MARKER).exists()
    assert not (project / "dist").exists()


def test_the_messages_say_what_is_not_allowed(project: Path, sphere: Callable[..., Result]) -> None:
    write_issue(project, NAME, body="{{ site.secret }}\n")
    assert sphere("build").err == (
        f"{ISSUE}:{BODY}: error: undefined template variable site.secret "
        "(templates see only the public settings)\n"
    )
    write_issue(project, NAME, body="{{ cycler.__init__ }}\n")
    assert sphere("build").err == (
        f"{ISSUE}:{BODY}: error: not allowed in a template: access to attribute '__init__' "
        "of 'type' object is unsafe.\n"
    )
    write_issue(project, NAME, body="Text.\n\n{% include 'email/issue.txt.j2' %}\n")
    assert sphere("build").err == (
        f"{ISSUE}:{BODY + 2}: error: an issue cannot include, import or extend templates "
        "('email/issue.txt.j2')\n"
    )


THEME_ATTACKS = {
    "the secret": "{{ site.secret }}",
    "cycler globals": "{{ cycler.__init__.__globals__.os.popen('touch MARKER').read() }}",
    "include outside": "{% include '../pyproject.toml' %}",
    "the issue's file": "{{ issue.path }}",
}


@pytest.mark.parametrize("attack", THEME_ATTACKS.values(), ids=THEME_ATTACKS.keys())
@pytest.mark.parametrize(
    ("template", "after"),
    [("email/issue.mjml.j2", "<mj-body"), ("web/issue.html.j2", "block main")],
)
def test_the_theme_is_sandboxed_too(
    project: Path, sphere: Callable[..., Result], attack: str, template: str, after: str
) -> None:
    path = project / "templates" / template
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    line = next(number for number, text in enumerate(lines, 1) if after in text) + 1
    lines.insert(line - 1, attack.replace("MARKER", str(project / MARKER)) + "\n")
    path.write_text("".join(lines), encoding="utf-8")
    built = sphere("build")
    assert built.status == 1
    assert built.err.startswith(f"templates/{template}:{line}: error: "), built.err
    assert not (project / MARKER).exists()
    assert not (project / "dist").exists()


def test_an_issue_may_still_use_the_public_settings(
    project: Path, sphere: Callable[..., Result]
) -> None:
    write_issue(project, NAME, body="Call {{ site.phone }} about {{ issue.title | upper }}.\n")
    assert sphere("build").status == 0
    text = (project / "dist/email/guest.txt").read_text(encoding="utf-8")
    assert "Call +44 (0)7747 624560 about A TEST ISSUE." in text


def test_the_secret_is_in_no_output_file_and_no_cache(
    project: Path, sphere: Callable[..., Result]
) -> None:
    write_issue(project, NAME, body="Call {{ site.phone }}.\n", status="draft")
    assert sphere("build", "--drafts").status == 0
    assert sphere("build").status == 0  # the cache is written and read
    assert (project / ".sphere/cache").is_dir()
    assert_no_secret(project)


def _values(value: Any, depth: int = 0) -> Iterator[Any]:
    """Every value reachable from a template context through mappings, lists and fields."""
    yield value
    if depth > 6:
        return
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _values(item, depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _values(item, depth + 1)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.asdict(value).values():
            yield from _values(item, depth + 1)


def test_no_template_context_holds_the_secret_a_path_or_the_settings(project: Path) -> None:
    settings = load_settings(project)
    renderer = Renderer(settings)
    issue = load_issue(project / SEED_ISSUE)
    for context in (renderer.context(issue), renderer.body_context(issue)):
        for value in _values(context):
            assert not isinstance(value, Settings | Path)
            assert value != SECRET
    report = check_project(settings, jobs=1)
    assert report.errors == 0


def test_every_setting_is_public_or_private_by_decision() -> None:
    fields = {field.name for field in dataclasses.fields(Settings)}
    assert fields == set(PUBLIC_SETTINGS) | set(PRIVATE_SETTINGS)
    assert not set(PUBLIC_SETTINGS) & set(PRIVATE_SETTINGS)
    assert "secret" in PRIVATE_SETTINGS
    for name in DERIVED_SETTINGS:
        assert isinstance(getattr(Settings, name), property)


def test_symlinks_under_templates_static_are_not_published(
    project: Path, sphere: Callable[..., Result], tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "id_rsa").write_text("PRIVATE KEY\n", encoding="utf-8")
    static = project / "templates" / "static"  # the author's own static files (fonts, pictures)
    static.mkdir(exist_ok=True)
    (static / "key.txt").symlink_to(elsewhere / "id_rsa")
    (static / "folder").symlink_to(elsewhere, target_is_directory=True)
    (static / "fonts").mkdir()
    (static / "fonts" / "note.txt").write_text("a regular file\n", encoding="utf-8")
    assert sphere("build").status == 0
    published = sorted(
        path.relative_to(project / "dist/site/static").as_posix()
        for path in files_under(project / "dist/site/static")
    )
    assert [re.sub(r"\.[0-9a-f]{10}\.", ".", name) for name in published] == [
        "apple-touch-icon.png", "favicon-32.png", "favicon.svg", "fonts/note.txt", "search.js",
        "style.css",
    ]  # fmt: skip


def test_a_symlink_loop_image_is_an_error_at_its_line(
    project: Path, sphere: Callable[..., Result]
) -> None:
    images = project / "content" / "images"
    images.mkdir(exist_ok=True)
    (images / "loop.png").symlink_to(images / "loop.png")
    write_issue(project, NAME, body="Text.\n\n![A loop](images/loop.png)\n")
    built = sphere("build")
    assert built.status == 1
    assert built.err == (
        f"{ISSUE}:{BODY + 2}: error: image 'images/loop.png' cannot be read "
        "(a symbolic link loop?)\n"
    )
    checked = sphere("check")
    assert f"{ISSUE}:{BODY + 2}: error: image/missing image 'images/loop.png'" in checked.out
    assert "Traceback" not in checked.err + checked.out


@pytest.mark.parametrize("slug", ['"trailing-newline\\n"', '"two\\nlines"', '"UPPER"'])
def test_a_slug_with_a_newline_or_capitals_is_refused(
    project: Path, sphere: Callable[..., Result], slug: str
) -> None:
    write_issue(project, NAME, slug=slug)
    built = sphere("build")
    assert built.status == 1
    assert built.err.startswith(f"{ISSUE}:6: error: slug "), built.err
    assert built.err.endswith(" must be lowercase words joined by hyphens (fix 'slug')\n")
    assert not (project / "dist").exists()


def test_a_bad_file_name_says_rename_the_file(project: Path, sphere: Callable[..., Result]) -> None:
    write_issue(project, "2026-10-01-Bad_Name")
    assert sphere("build").err == (
        "content/issues/2026-10-01-Bad_Name.md:1: error: slug 'Bad_Name' must be lowercase "
        "words joined by hyphens (rename the file)\n"
    )


def test_a_template_that_links_outside_templates_is_refused(
    project: Path, sphere: Callable[..., Result], tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "credentials"
    elsewhere.write_text(f"aws_secret_access_key = {SECRET}\n", encoding="utf-8")
    (project / "templates/email/sign-off.txt.j2").symlink_to(elsewhere)
    text = project / "templates/email/issue.txt.j2"
    lines = text.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(5, '{% include "email/sign-off.txt.j2" %}\n')
    text.write_text("".join(lines), encoding="utf-8")
    built = sphere("build")
    assert (built.status, built.err) == (
        1,
        "templates/email/issue.txt.j2:6: error: template 'email/sign-off.txt.j2' is a link to "
        "a file outside templates/\n",
    )
    assert not (project / "dist").exists()


def test_templates_render_in_jinjas_own_sandbox(tmp_path: Path) -> None:
    """Jinja's ImmutableSandboxedEnvironment with its own lookups and safety checks: no
    shortcut of ours, so a future fix to the sandbox reaches guest pull requests' templates
    unbypassed. The render limits (sphere.render.limits) read the clock in the hooks Jinja
    documents (`intercepted_binops`, `call_binop`, `call`) and in `getattr`/`getitem`, each
    then handing over to the sandbox's own; what is safe stays the sandbox's decision alone
    (the tests above try the unsafe look-ups through the real environment)."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from sphere.render.environment import make_body_environment, make_environment

    for environment in (make_environment(tmp_path), make_body_environment()):
        assert isinstance(environment, ImmutableSandboxedEnvironment)
        for name in ("is_safe_attribute", "is_safe_callable", "unsafe_undefined"):
            assert getattr(type(environment), name) is getattr(
                ImmutableSandboxedEnvironment, name
            ), name
