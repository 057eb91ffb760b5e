#!/usr/bin/env bash
# Pull-request check for a policy repository, run by action.yml (and by the
# test suite against a fixture repository): validate the policies, measure
# the change against the base branch, write the markdown impact report to
# $GITHUB_STEP_SUMMARY and, with a token, post or update it as a PR comment.
#
# Environment: POLICY_PATH (default .), BASE_REF (default origin/main),
# FAIL_ON (error), FAIL_RISK (101: never), BELLADONNA (belladonna),
# VALIDATE_ARGS (more validate flags, split on spaces),
# GITHUB_STEP_SUMMARY, and for the comment GH_TOKEN + PR_NUMBER (gh CLI).
set -euo pipefail
path="${POLICY_PATH:-.}"
base="${BASE_REF:-origin/main}"
bd="${BELLADONNA:-belladonna}"
summary="${GITHUB_STEP_SUMMARY:-/dev/null}"
report="$(mktemp)"
trap 'rm -f "$report"' EXIT

status=0
# shellcheck disable=SC2086 # VALIDATE_ARGS is a list of flags
"$bd" validate --format github --fail-on "${FAIL_ON:-error}" ${VALIDATE_ARGS:-} \
  --base "$base" --impact-summary "$report" --fail-risk "${FAIL_RISK:-101}" "$path" || status=$?

if [ -s "$report" ]; then
  cat "$report" >> "$summary"
  if [ -n "${GH_TOKEN:-}" ] && [ -n "${PR_NUMBER:-}" ] && command -v gh >/dev/null; then
    # One comment per PR, updated on each push.
    gh pr comment "$PR_NUMBER" --edit-last --body-file "$report" 2>/dev/null ||
      gh pr comment "$PR_NUMBER" --body-file "$report"
  fi
fi
exit "$status"
