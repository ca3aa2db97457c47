#!/usr/bin/env bash
# A pull request's job summary (docs/ci.md): the content check, each email's size against
# Gmail's clipping limit, and the preview artifact with its screenshots. Appends Markdown to
# $GITHUB_STEP_SUMMARY (standard output when run by hand). PREVIEW_URL: the artifact's link.
#
# A pull request chooses its files' names, and a name is shown here: so nothing printed can
# leave its code block or table cell (a name with a newline and ``` in it, or `|`), and no
# control character (an ANSI escape) reaches the summary or the log.
set -uo pipefail

out="${GITHUB_STEP_SUMMARY:-/dev/stdout}"
limit=$((102 * 1024))  # Gmail clips an email whose HTML is larger
read -r -a sphere <<<"${SPHERE:-uv run sphere}"  # how to run sphere (tests run it directly)

fenced() { bash "$(dirname "${BASH_SOURCE[0]}")/fenced.sh"; }  # a block nothing can close

# A file's name for a table cell or a list: letters, digits, dot, dash and underscore only.
plain_name() {
    printf '%s' "$1" | LC_ALL=C tr -c 'A-Za-z0-9._/-' '?'
}

{
    echo "## Content check"
    echo
    "${sphere[@]}" check 2>&1 | fenced
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
            printf '| `%s` | %d KB | %s |\n' "$(plain_name "$(basename "$file" .html)")" $(((size + 1023) / 1024)) "$verdict"
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
        for shot in "${shots[@]}"; do
            printf -- '- `%s`\n' "$(plain_name "${shot#dist/}")"
        done
    fi
} >>"$out"
