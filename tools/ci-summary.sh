#!/usr/bin/env bash
# A pull request's job summary (docs/ci.md): the content check, each email's size against
# Gmail's clipping limit, and the preview artifact with its screenshots. Appends Markdown to
# $GITHUB_STEP_SUMMARY (standard output when run by hand). PREVIEW_URL: the artifact's link.
set -uo pipefail

out="${GITHUB_STEP_SUMMARY:-/dev/stdout}"
limit=$((102 * 1024))  # Gmail clips an email whose HTML is larger

{
    echo "## Content check"
    echo
    echo '```'
    uv run sphere check 2>&1 || true
    echo '```'
    echo
    echo "## Emails"
    echo
    shopt -s nullglob
    emails=(dist/email/*.html)
    if [ ${#emails[@]} -eq 0 ]; then
        echo "_No emails: the build did not get that far._"
    else
        echo "| issue | HTML size | Gmail (clips above 102 KB) |"
        echo "|---|---:|---|"
        for file in "${emails[@]}"; do
            size=$(wc -c <"$file")
            verdict="fits"
            if [ "$size" -gt "$limit" ]; then verdict="**clipped**: shorten it"; fi
            printf '| `%s` | %d KB | %s |\n' "$(basename "$file" .html)" $(((size + 1023) / 1024)) "$verdict"
        done
    fi
    echo
    echo "## Preview"
    echo
    if [ -n "${PREVIEW_URL:-}" ]; then
        echo "[Download the preview]($PREVIEW_URL) (the email as HTML, text and .eml, the web archive, and these screenshots):"
    else
        echo "The \`preview\` artifact of this run holds the email (HTML, text), the web archive and these screenshots:"
    fi
    echo
    shots=(dist/screenshots/*.png)
    if [ ${#shots[@]} -eq 0 ]; then
        echo "_No screenshots: the build did not get that far._"
    else
        printf -- '- `%s`\n' "${shots[@]#dist/}"
    fi
} >>"$out"
