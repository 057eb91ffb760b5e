# METADATA
# title: Authorization with problems
# description: Compiles and its tests pass, but it trips validator rules on purpose.
# custom:
#   severity: high
package authz

import data.helpers.is_admin

# TODO: tighten this before release
default allow := true

isManager if input.user.role == "manager"

allow if {
	is_admin
	print("checking admin", input.user.name)
}

allow if {
	isManager
	input.roles[_] != "guest"
}

deny if {
	1 == 1
	input.path == "/a/very/long/path/that/goes/on/and/on/and/on/and/on/and/on/and/on/and/on/and/on/and/on/and/ends/here"
}

# belladonna:ignore style/todo-comment -- silenced on purpose, to show the directive
# TODO: this one is not reported
max := 3
