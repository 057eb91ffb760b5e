# METADATA
# title: Hierarchical RBAC with request context
# description: >-
#   Role-based access control with role inheritance, permission conditions
#   (resource ownership, tenant membership) and request context (per-role time
#   windows, allowed source networks). Configuration is read from
#   data.config.authz. Decisions depend only on input and data: the request
#   time comes from input.context.time, never from the clock.
# custom:
#   component: authz
#   severity: high
package security.authz

cfg := data.config.authz

# Roles assigned to the subject, from the request and from data bindings.
assigned_roles contains role if some role in input.subject.roles

assigned_roles contains role if some role in cfg.bindings[input.subject.id]

# Role name -> parent role names.
role_graph := {name: object.get(role, "parents", []) | some name, role in cfg.roles}

# Every defined role the subject holds, directly or by inheritance, ignoring
# time windows.
held_roles := graph.reachable(role_graph, assigned_roles)

request_ns := time.parse_rfc3339_ns(input.context.time)

# window_open holds when the request time falls inside a time window:
# {"days": ["Monday", ...], "start_hour": 8, "end_hour": 18, "timezone": "UTC"}.
window_open(window) if {
	zone := object.get(window, "timezone", "UTC")
	time.weekday([request_ns, zone]) in window.days
	[hour, _, _] := time.clock([request_ns, zone])
	hour >= window.start_hour
	hour < window.end_hour
}

# Defined roles usable right now: no time window, or an open one.
open_roles contains name if {
	some name, _ in cfg.roles
	not cfg.time_windows[name]
}

open_roles contains name if {
	some name, _ in cfg.roles
	window_open(cfg.time_windows[name])
}

# A role outside its window grants nothing and passes nothing on to parents.
active_graph := {name: [parent | some parent in role_graph[name]; parent in open_roles] | some name in open_roles}

effective_roles := graph.reachable(active_graph, {role | some role in assigned_roles; role in open_roles})

# Permissions of the effective roles that match the resource type and action.
grants contains perm if {
	some role in effective_roles
	some perm in cfg.roles[role].permissions
	perm.resource in {input.resource.type, "*"}
	perm.action in {input.action, "*"}
}

condition_met("owner") if {
	is_string(input.subject.id)
	input.subject.id == input.resource.owner
}

condition_met("tenant_member") if {
	is_string(input.subject.tenant)
	input.subject.tenant == input.resource.tenant
}

permitted if {
	some perm in grants
	every condition in object.get(perm, "conditions", []) {
		condition_met(condition)
	}
}

# Source networks: the subject tenant's own list, else the global one.
allowed_cidrs := ranges if {
	ranges := cfg.tenants[input.subject.tenant].allowed_cidrs
} else := cfg.network.allowed_cidrs

source_ip_allowed if {
	some cidr in allowed_cidrs
	net.cidr_contains(cidr, input.context.source_ip)
}

# METADATA
# title: Allow
# scope: document
# description: >-
#   True when an effective role grants the action on the resource with all its
#   conditions met, from an allowed source network.
# entrypoint: true
default allow := false

allow if {
	permitted
	source_ip_allowed
}

# METADATA
# title: Denial reasons
# description: Human-readable reasons for a denial; empty when the request is allowed.
reasons contains msg if {
	not allow
	some msg in denials
}

# METADATA
# title: Decision
# description: The allow flag with its denial reasons.
# entrypoint: true
decision := {"allow": allow, "reasons": reasons}

subject_name := object.get(input, ["subject", "id"], "<unknown>")

denials contains "request has no subject" if not input.subject

denials contains sprintf("subject %v has no roles", [subject_name]) if {
	input.subject
	count(assigned_roles) == 0
}

denials contains sprintf("role %v is not defined", [role]) if {
	some role in assigned_roles
	not cfg.roles[role]
}

denials contains sprintf("role %v is limited to a time window and the request has no valid context.time", [role]) if {
	some role in held_roles
	cfg.time_windows[role]
	not request_ns
}

denials contains msg if {
	some role in held_roles
	window := cfg.time_windows[role]
	request_ns
	not window_open(window)
	msg := sprintf("role %v is outside its time window (%v, %v:00-%v:00 %v)", [
		role,
		concat(",", window.days),
		window.start_hour,
		window.end_hour,
		object.get(window, "timezone", "UTC"),
	])
}

denials contains msg if {
	count(grants) == 0
	msg := sprintf("no active role grants %v on %v", [
		object.get(input, "action", "<none>"),
		object.get(input, ["resource", "type"], "<none>"),
	])
}

denials contains condition_failure(condition) if {
	not permitted
	some perm in grants
	some condition in object.get(perm, "conditions", [])
	not condition_met(condition)
}

condition_failure("owner") := sprintf("subject %v does not own %v %v", [
	subject_name,
	object.get(input, ["resource", "type"], "<none>"),
	object.get(input, ["resource", "id"], "<none>"),
])

condition_failure("tenant_member") := sprintf("subject tenant %v does not match resource tenant %v", [
	object.get(input, ["subject", "tenant"], "<none>"),
	object.get(input, ["resource", "tenant"], "<none>"),
])

condition_failure(condition) := sprintf("permission condition %v is not supported", [condition]) if {
	not condition in {"owner", "tenant_member"}
}

denials contains "request has no context.source_ip" if not input.context.source_ip

denials contains sprintf("source IP %v is outside the allowed networks", [input.context.source_ip]) if {
	input.context.source_ip
	not source_ip_allowed
}
