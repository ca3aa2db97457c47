#!/usr/bin/env bash
# Standard input as a Markdown code block that nothing inside can close: fenced by more
# backticks than the longest run of them inside (CommonMark), with control characters (ANSI
# escapes) removed but tab and newline. For job summaries that show a command's output.
set -uo pipefail

text=$(LC_ALL=C tr -d '\000-\010\013-\037\177')
longest=$(printf '%s\n' "$text" | grep -o '`\+' | awk '{ if (length($0) > n) n = length($0) } END { print n + 0 }')
ticks='```'
while [ "${#ticks}" -le "$longest" ]; do ticks+='`'; done
printf '%s\n%s\n%s\n' "$ticks" "$text" "$ticks"
