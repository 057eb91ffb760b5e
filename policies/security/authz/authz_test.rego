package security.authz_test

import data.security.authz

# Wednesday 10:00 UTC, from the corporate network.
base := {
	"subject": {"id": "alice", "roles": [], "tenant": "acme"},
	"action": "read",
	"resource": {"type": "repository", "id": "r1", "owner": "alice", "tenant": "acme"},
	"context": {"time": "2026-11-25T10:00:00Z", "source_ip": "10.1.2.3"},
}

req(overrides) := object.union(base, overrides)

test_developer_reads_own_tenant_repository if {
	authz.allow with input as base
	authz.reasons == set() with input as base
	authz.decision == {"allow": true, "reasons": set()} with input as base
}

test_developer_writes_owned_repository if {
	authz.allow with input as req({"action": "write"})
}

test_developer_cannot_write_repository_owned_by_someone_else if {
	r := req({"action": "write", "resource": {"owner": "bob"}})
	not authz.allow with input as r
	authz.reasons == {"subject alice does not own repository r1"} with input as r
}

test_maintainer_inherits_and_extends_developer if {
	r := req({"subject": {"id": "bob"}, "action": "write"})
	authz.allow with input as r
	authz.allow with input as req({"subject": {"id": "bob"}, "action": "merge"})
	authz.held_roles == {"maintainer", "developer", "viewer"} with input as r
}

test_developer_cannot_merge if {
	r := req({"action": "merge"})
	not authz.allow with input as r
	authz.reasons == {"no active role grants merge on repository"} with input as r
}

test_admin_wildcard_inside_tenant if {
	r := req({"subject": {"id": "carol"}, "action": "delete", "resource": {"type": "pipeline"}})
	authz.allow with input as r
	authz.held_roles == {"admin", "maintainer", "developer", "viewer"} with input as r
}

test_admin_denied_in_other_tenant if {
	r := req({"subject": {"id": "carol"}, "action": "delete", "resource": {"tenant": "globex"}})
	not authz.allow with input as r
	authz.reasons == {"subject tenant acme does not match resource tenant globex"} with input as r
}

test_roles_from_input_without_binding if {
	r := req({"subject": {"id": "zed", "roles": ["viewer"]}})
	authz.allow with input as r
	authz.assigned_roles == {"viewer"} with input as r
}

test_roles_from_input_and_binding_are_merged if {
	r := req({"subject": {"roles": ["auditor"]}})
	authz.assigned_roles == {"developer", "auditor"} with input as r
}

test_viewer_cannot_write if {
	r := req({"subject": {"id": "zed", "roles": ["viewer"]}, "action": "write"})
	not authz.allow with input as r
	authz.decision == {"allow": false, "reasons": {"no active role grants write on repository"}} with input as r
}

test_unknown_role_grants_nothing if {
	r := req({"subject": {"id": "zed", "roles": ["ghost"]}})
	not authz.allow with input as r
	authz.reasons == {"role ghost is not defined", "no active role grants read on repository"} with input as r
}

test_subject_without_roles if {
	r := req({"subject": {"id": "zed"}})
	not authz.allow with input as r
	authz.reasons == {"subject zed has no roles", "no active role grants read on repository"} with input as r
}

test_missing_subject if {
	r := json.remove(base, ["subject"])
	not authz.allow with input as r
	authz.reasons == {"request has no subject", "no active role grants read on repository"} with input as r
}

test_auditor_reads_audit_logs_of_any_tenant if {
	authz.allow with input as req({"subject": {"id": "erin"}, "resource": {"type": "audit_log", "tenant": "globex"}})
}

test_contractor_inside_business_hours if {
	r := req({"subject": {"id": "dave", "tenant": "acme"}, "action": "write", "resource": {"owner": "dave"}})
	authz.allow with input as r
}

test_contractor_on_saturday if {
	r := req({
		"subject": {"id": "dave"},
		"action": "write",
		"resource": {"owner": "dave"},
		"context": {"time": "2026-11-28T10:00:00Z"},
	})
	not authz.allow with input as r
	authz.reasons == {
		"role contractor is outside its time window (Monday,Tuesday,Wednesday,Thursday,Friday, 8:00-18:00 UTC)",
		"no active role grants write on repository",
	} with input as r
}

test_contractor_after_hours_loses_inherited_roles if {
	r := req({"subject": {"id": "dave"}, "context": {"time": "2026-11-25T18:00:00Z"}})
	not authz.allow with input as r
	authz.effective_roles == set() with input as r
}

test_contractor_without_request_time if {
	r := json.remove(req({"subject": {"id": "dave"}}), ["context/time"])
	not authz.allow with input as r
	authz.reasons == {
		"role contractor is limited to a time window and the request has no valid context.time",
		"no active role grants read on repository",
	} with input as r
}

test_time_window_in_local_timezone if {
	window := {"days": ["Wednesday"], "start_hour": 9, "end_hour": 17, "timezone": "America/New_York"}
	r := req({"subject": {"id": "dave"}, "context": {"time": "2026-11-25T15:00:00Z"}})
	authz.allow with input as r with data.config.authz.time_windows.contractor as window

	# 08:00 in New York.
	late := req({"subject": {"id": "dave"}, "context": {"time": "2026-11-25T13:00:00Z"}})
	not authz.allow with input as late with data.config.authz.time_windows.contractor as window
}

test_source_ip_outside_allowed_networks if {
	r := req({"context": {"source_ip": "198.51.100.7"}})
	not authz.allow with input as r
	authz.reasons == {"source IP 198.51.100.7 is outside the allowed networks"} with input as r
}

test_invalid_source_ip_is_denied if {
	not authz.allow with input as req({"context": {"source_ip": "not-an-ip"}})
}

test_missing_source_ip if {
	r := json.remove(base, ["context/source_ip"])
	not authz.allow with input as r
	authz.reasons == {"request has no context.source_ip"} with input as r
}

test_ipv6_loopback_allowed if {
	authz.allow with input as req({"context": {"source_ip": "::1"}})
}

test_tenant_specific_networks if {
	globex := {
		"subject": {"id": "gina", "roles": ["viewer"], "tenant": "globex"},
		"resource": {"tenant": "globex"},
	}
	authz.allow with input as req(object.union(globex, {"context": {"source_ip": "203.0.113.9"}}))
	r := req(globex)
	not authz.allow with input as r
	authz.reasons == {"source IP 10.1.2.3 is outside the allowed networks"} with input as r
}

test_denial_lists_every_failed_check if {
	r := req({
		"action": "write",
		"resource": {"owner": "bob", "tenant": "globex"},
		"context": {"source_ip": "198.51.100.7"},
	})
	authz.reasons == {
		"subject alice does not own repository r1",
		"subject tenant acme does not match resource tenant globex",
		"source IP 198.51.100.7 is outside the allowed networks",
	} with input as r
}

test_unsupported_condition_fails_closed if {
	roles := {"signer": {
		"parents": [],
		"permissions": [{"resource": "repository", "action": "read", "conditions": ["mfa"]}],
	}}
	r := req({"subject": {"id": "zed", "roles": ["signer"]}})
	not authz.allow with input as r with data.config.authz.roles as roles
	authz.reasons == {"permission condition mfa is not supported"} with input as r
		with data.config.authz.roles as roles
}

test_owner_condition_needs_a_subject_id if {
	owned := req({"subject": {"roles": ["developer"]}, "action": "write", "resource": {"owner": null}})
	r := json.remove(owned, ["subject/id"])
	not authz.allow with input as r
}
