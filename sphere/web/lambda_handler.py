"""The endpoints on AWS Lambda, behind a function URL: `sphere.web.lambda_handler.handler`.

apig-wsgi turns the function URL's event (payload format 2.0) into a WSGI request and the
answer back; its REMOTE_ADDR is the event's `requestContext.http.sourceIp`, which AWS sets
(never a header the client chose), so the consent evidence records the real address.

Settings come from the bundled pyproject.toml and the function's environment, as everywhere.
The signing secret is SPHERE_SECRET, or, better, the SecureString SSM parameter that
SPHERE_SECRET_PARAMETER names (read once per container, decrypted by SSM: the secret is then
in no template, no console and no environment listing). See docs/aws.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sphere.errors import SettingsError

SECRET_PARAMETER = "SPHERE_SECRET_PARAMETER"  # noqa: S105 (a variable's name, not a secret)
# apig-wsgi answers only once the app's work is done, so a subscribe's answer would take longer
# for a new address (a record, an email) than for a known one: every subscribe answer takes
# this long instead. Above the work's usual time on S3 and SES (a few hundred ms).
ANSWER_FLOOR = 1.5
_handler: list[Callable[[dict[str, Any], Any], dict[str, Any]]] = []  # made on the first call


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point; the app is built on the first request and kept warm."""
    if not _handler:
        _handler.append(make_handler(os.environ))
    return _handler[0](event, context)


def make_handler(
    environ: Mapping[str, str], *, ssm: Any = None, answer_floor: float = ANSWER_FLOOR
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """A Lambda handler for the settings `environ` describes (an SSM client may be passed);
    every subscribe answer takes `answer_floor` seconds at least."""
    from apig_wsgi import make_lambda_handler

    from sphere.settings import load_settings
    from sphere.web import make_app

    env = dict(environ)
    if env.get(SECRET_PARAMETER):
        env["SPHERE_SECRET"] = secret_from_ssm(env[SECRET_PARAMETER], ssm)
    root = env.get("SPHERE_ROOT") or env.get("LAMBDA_TASK_ROOT")
    settings = load_settings(None if root is None else Path(root), env)
    app = make_app(settings, answer_floor=answer_floor)
    return make_lambda_handler(app, binary_support=False)


def secret_from_ssm(name: str, ssm: Any = None) -> str:
    """The decrypted value of the SSM parameter `name` (SettingsError if it cannot be read)."""
    if ssm is None:
        from sphere.store import aws

        ssm = aws.client("ssm")
    try:
        value = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    except Exception as error:  # noqa: BLE001 (botocore's, sorted by code without importing it)
        code = getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__)
        raise SettingsError(
            f"{SECRET_PARAMETER}: cannot read the parameter {name} ({code})"
        ) from None
    if not isinstance(value, str) or not value.strip():
        raise SettingsError(f"{SECRET_PARAMETER}: the parameter {name} is empty")
    return value.strip()


__all__ = ["SECRET_PARAMETER", "handler", "make_handler", "secret_from_ssm"]
