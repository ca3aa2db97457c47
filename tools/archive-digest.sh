#!/usr/bin/env bash
# The SHA-256 of a built public archive (folder $1): every file's path and bytes, in a fixed
# order, without Sphere's deploy manifest. A build is reproducible (docs/publishing.md), so
# the same public issues give the same digest on any day: publish.yml's Pages job deploys
# only an archive whose digest it has not deployed before.
set -euo pipefail

cd "$1"
find . -type f ! -name .sphere-deploy.json -print0 | LC_ALL=C sort -z | xargs -0r sha256sum |
  sha256sum | cut -c1-64
