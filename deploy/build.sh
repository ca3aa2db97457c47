#!/bin/sh
# Build deploy/build/package/: Sphere, its runtime dependencies (Linux x86_64 wheels for
# Python 3.11, whatever machine this runs on) and the project's settings and theme.
set -eu
cd "$(dirname "$0")/.."
rm -rf deploy/build
mkdir -p deploy/build/package
uv export --frozen --no-dev --no-hashes --no-emit-project -o deploy/build/requirements.txt
uv pip install --quiet --requirements deploy/build/requirements.txt \
  --target deploy/build/package --python-platform x86_64-manylinux2014 --python-version 3.11
# content/: the welcome email (welcome.md) and the issues it links the latest of
cp -R sphere pyproject.toml templates content deploy/build/package/
echo "built deploy/build/package/; now: sam deploy --guided --template-file deploy/template.yaml"
