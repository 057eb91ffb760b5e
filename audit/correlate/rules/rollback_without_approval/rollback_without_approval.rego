# METADATA
# title: Rollback without approval
# description: >-
#   Raises an incident when a policy rollback is recorded and no approval event
#   was recorded in the hour before it: rollbacks bypass review, so each one
#   should follow an explicit approval.
# custom:
#   component: correlate
#   severity: high
#   window: 1h
#   group_by: ""
#   match:
#     type: [rollback, approval]
package correlate.rollback_without_approval

approvals := [e |
	some e in input.window
	e.type == "approval"
	e.index < input.event.index
]

target := r if {
	r := input.event.revision
	r != ""
} else := b if {
	b := input.event.attrs.bundle
} else := "an earlier revision"

incident := {
	"message": sprintf("rollback to %s without an approval in the preceding hour", [target]),
	"indexes": [input.event.index],
} if {
	input.event.type == "rollback"
	count(approvals) == 0
}
