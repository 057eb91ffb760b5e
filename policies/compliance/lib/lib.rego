# METADATA
# title: Shared compliance evidence checks
# description: >-
#   Checks over the compliance evidence document (input) that several
#   frameworks map to their own controls: authentication, access rights,
#   segregation of duties, audit logging, monitoring, change management and
#   encryption. Each check is a set of failure reasons; an empty set passes.
#   Missing evidence fails. Thresholds are read from data.config.compliance.
# custom:
#   component: compliance
#   severity: medium
#   framework: common
#   controls: []
package compliance.lib

cfg := data.config.compliance

# The evidence document; {} when there is no input, so that every check fails
# instead of silently passing.
evidence := input if is_object(input)

else := {}

day_ns := 86400000000000

as_of_ns := time.parse_rfc3339_ns(evidence.as_of)

# control turns a set of failure reasons into a control result.
control(title, failures) := {"status": "pass", "title": title, "reasons": []} if {
	count(failures) == 0
} else := {"status": "fail", "title": title, "reasons": sort(failures)}

# not_true holds when the value at path is missing or anything but true.
not_true(path) if object.get(evidence, path, false) != true

# list returns the array at path, or [] when there is none.
list(path) := value if {
	value := object.get(evidence, path, [])
	is_array(value)
} else := []

missing_list(path) := sprintf("evidence has no %v list", [concat(".", path)]) if {
	not is_array(object.get(evidence, path, null))
}

users := list(["access", "users"])

active_users := [user | some user in users; object.get(user, "terminated", false) != true]

# --- Authentication -----------------------------------------------------------

mfa_failures contains "MFA is not enforced for interactive access" if not_true(["access", "mfa_enforced"])

mfa_failures contains sprintf("privileged user %v has no MFA", [user.id]) if {
	some user in active_users
	user.privileged == true
	object.get(user, "mfa", false) != true
}

# --- Access rights ------------------------------------------------------------

role_based_failures contains missing_list(["access", "users"])

role_based_failures contains sprintf("user %v has permissions granted outside roles", [user.id]) if {
	some user in active_users
	count(object.get(user, "direct_permissions", [])) > 0
}

deprovisioning_failures contains missing_list(["access", "users"])

deprovisioning_failures contains msg if {
	some user in users
	user.terminated == true
	count(object.get(user, "roles", [])) > 0
	msg := sprintf("terminated user %v still holds roles: %v", [user.id, concat(", ", user.roles)])
}

review_times contains time.parse_rfc3339_ns(review.completed) if some review in list(["access", "reviews"])

access_review_failures contains "no completed access review in evidence" if count(review_times) == 0

access_review_failures contains "evidence has no as_of time to judge the access review age" if {
	count(review_times) > 0
	not as_of_ns
}

access_review_failures contains msg if {
	age := floor((as_of_ns - max(review_times)) / day_ns)
	age > cfg.access_review_max_age_days
	msg := sprintf("latest access review is %v days old; at most %v days allowed", [age, cfg.access_review_max_age_days])
}

sod_failures contains missing_list(["access", "users"])

sod_failures contains sprintf("user %v holds conflicting roles %v and %v", [user.id, first, second]) if {
	some user in active_users
	some [first, second] in cfg.sod_conflicts
	first in user.roles
	second in user.roles
}

# --- Audit logging and monitoring -----------------------------------------------

logging_failures contains "audit logging is not enabled" if not_true(["audit_log", "enabled"])

logging_failures contains "audit log is not tamper-evident" if not_true(["audit_log", "tamper_evident"])

logging_failures contains "audit log integrity was not verified" if not_true(["audit_log", "verified"])

retention_days := object.get(evidence, ["audit_log", "retention_days"], 0)

retention_sufficient if {
	is_number(retention_days)
	retention_days >= cfg.log_retention_min_days
}

logging_failures contains msg if {
	not retention_sufficient
	msg := sprintf("audit log retention is %v days; at least %v days required", [
		retention_days,
		cfg.log_retention_min_days,
	])
}

monitoring_failures contains "security alerting is not enabled" if not_true(["monitoring", "alerting_enabled"])

monitoring_failures contains "runtime (syscall) monitoring is not enabled" if {
	not_true(["monitoring", "runtime_monitoring"])
}

# --- Change management ----------------------------------------------------------

changes := list(["changes"])

change_failures contains missing_list(["changes"])

change_failures contains msg if {
	some change in changes
	approvals := count({approver | some approver in object.get(change, "approvers", []); approver != change.author})
	approvals < cfg.min_independent_approvals
	msg := sprintf("change %v has %v independent approvals; %v required", [
		change.id,
		approvals,
		cfg.min_independent_approvals,
	])
}

change_failures contains sprintf("change %v bypassed the protected branch", [change.id]) if {
	some change in changes
	object.get(change, "protected_branch", false) != true
}

change_failures contains sprintf("change %v was merged without passing tests", [change.id]) if {
	some change in changes
	object.get(change, "tests_passed", false) != true
}

change_sod_failures contains missing_list(["changes"])

change_sod_failures contains sprintf("change %v was approved by its author %v", [change.id, change.author]) if {
	some change in changes
	change.author in object.get(change, "approvers", [])
}

change_sod_failures contains sprintf("change %v was deployed by its author %v", [change.id, change.author]) if {
	some change in changes
	change.deployed_by == change.author
}

# --- Encryption -------------------------------------------------------------------

encryption_failures contains "data is not encrypted at rest" if not_true(["security", "encryption_at_rest"])

encryption_failures contains "data is not encrypted in transit" if not_true(["security", "encryption_in_transit"])
