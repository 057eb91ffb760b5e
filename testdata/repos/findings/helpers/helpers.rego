# METADATA
# title: Helpers
# description: Shared helpers, with a test in the wrong place.
# custom:
#   component: helpers
#   severity: low
package helpers

is_admin if "admin" in input.user.roles

test_is_admin if is_admin with input as {"user": {"roles": ["admin"]}}
