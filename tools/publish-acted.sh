#!/usr/bin/env bash
# `acted=true` when the publish whose `sphere publish --json` output is in $1 sent an issue or
# changed the deployed archive, else `acted=false`: publish.yml runs the report, the status
# summary and the report upload only then (an idle hourly run stays cheap). With GitHub
# Pages ($SITE_HOST=pages) the publish job deploys into a fresh folder, which always looks
# changed: the Pages job's own answer ($PAGES_CHANGED) counts instead.
set -euo pipefail

sent=$(jq '.sent | length' "$1")
if [ "${SITE_HOST:-}" = pages ]; then
  deployed=$([ "${PAGES_CHANGED:-}" = true ] && echo 1 || echo 0)
else
  deployed=$(jq '(.deploy.upload | length) + (.deploy.remove | length)' "$1")
fi
if [ "$sent" -gt 0 ] || [ "$deployed" -gt 0 ]; then echo acted=true; else echo acted=false; fi
