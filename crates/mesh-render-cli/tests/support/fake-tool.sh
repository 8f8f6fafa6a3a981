#!/bin/sh
# A stand-in for kubectl or helm in the tests: appends its name and arguments to $FAKE_LOG (one
# line per call), fails when the call starts with $FAKE_FAIL, and prints the canned output of the
# first line of $FAKE_RESPONSES (`pattern<TAB>output`) whose pattern is part of the call.
line="$(basename "$0")"
for arg in "$@"; do
  line="$line $arg"
done
printf '%s\n' "$line" >>"$FAKE_LOG"
if [ -n "${FAKE_FAIL:-}" ]; then
  case "$line" in
    "$FAKE_FAIL"*)
      echo "fake: failing on purpose: $line" >&2
      exit 1
      ;;
  esac
fi
if [ -n "${FAKE_RESPONSES:-}" ] && [ -f "$FAKE_RESPONSES" ]; then
  tab="$(printf '\t')"
  while IFS="$tab" read -r pattern output; do
    case "$line" in
      *"$pattern"*)
        printf '%s' "$output"
        break
        ;;
    esac
  done <"$FAKE_RESPONSES"
fi
exit 0
