package compliance.lib_test

import data.compliance.lib

# A complete, passing evidence document shared by the framework tests. The same
# document ships as testdata/inputs/compliance-evidence.json.
evidence := {
	"as_of": "2026-11-25T00:00:00Z",
	"access": {
		"mfa_enforced": true,
		"users": [
			{"id": "alice", "roles": ["developer"], "mfa": true, "privileged": false},
			{"id": "carol", "roles": ["admin"], "mfa": true, "privileged": true},
			{"id": "mallory", "roles": [], "terminated": true},
		],
		"reviews": [
			{"id": "2026-Q2", "completed": "2026-07-02T00:00:00Z", "reviewer": "carol"},
			{"id": "2026-Q3", "completed": "2026-10-01T00:00:00Z", "reviewer": "carol"},
		],
	},
	"audit_log": {"enabled": true, "tamper_evident": true, "verified": true, "retention_days": 400},
	"monitoring": {"alerting_enabled": true, "runtime_monitoring": true},
	"changes": [{
		"id": "PR-101",
		"author": "alice",
		"approvers": ["bob"],
		"protected_branch": true,
		"tests_passed": true,
		"deployed_by": "release-bot",
	}],
	"processing_activities": [
		{
			"id": "billing",
			"purpose": "Invoice customers",
			"lawful_basis": "contract",
			"data_categories": ["contact", "payment"],
			"retention": "P10Y",
		},
		{
			"id": "newsletter",
			"purpose": "Product news",
			"lawful_basis": "consent",
			"consent_records": true,
			"data_categories": ["email"],
			"retention": "until consent is withdrawn",
		},
	],
	"erasure_requests": [
		{"id": "ER-7", "received": "2026-10-01T00:00:00Z", "completed": "2026-10-20T00:00:00Z"},
		{"id": "ER-8", "received": "2026-11-20T00:00:00Z"},
	],
	"security": {"encryption_at_rest": true, "encryption_in_transit": true},
}

with_evidence(overrides) := object.union(evidence, overrides)

all_failures := {
	"mfa": lib.mfa_failures,
	"role_based": lib.role_based_failures,
	"deprovisioning": lib.deprovisioning_failures,
	"access_review": lib.access_review_failures,
	"sod": lib.sod_failures,
	"logging": lib.logging_failures,
	"monitoring": lib.monitoring_failures,
	"change": lib.change_failures,
	"change_sod": lib.change_sod_failures,
	"encryption": lib.encryption_failures,
}

test_complete_evidence_has_no_failures if {
	every failures in all_failures {
		failures == set()
	} with input as evidence
}

test_control_result if {
	lib.control("T", set()) == {"status": "pass", "title": "T", "reasons": []}
	lib.control("T", {"b", "a"}) == {"status": "fail", "title": "T", "reasons": ["a", "b"]}
}

test_missing_input_fails_every_check if {
	every failures in all_failures {
		count(failures) > 0
	}
}

test_empty_evidence_reasons if {
	lib.mfa_failures == {"MFA is not enforced for interactive access"} with input as {}
	lib.deprovisioning_failures == {"evidence has no access.users list"} with input as {}
	lib.access_review_failures == {"no completed access review in evidence"} with input as {}
	lib.change_failures == {"evidence has no changes list"} with input as {}
	lib.logging_failures == {
		"audit logging is not enabled",
		"audit log is not tamper-evident",
		"audit log integrity was not verified",
		"audit log retention is 0 days; at least 365 days required",
	} with input as {}
	lib.monitoring_failures == {
		"security alerting is not enabled",
		"runtime (syscall) monitoring is not enabled",
	} with input as {}
	lib.encryption_failures == {
		"data is not encrypted at rest",
		"data is not encrypted in transit",
	} with input as {}
}

test_privileged_user_without_mfa if {
	users := [{"id": "root-op", "roles": ["admin"], "privileged": true}]
	e := with_evidence({"access": {"users": users}})
	lib.mfa_failures == {"privileged user root-op has no MFA"} with input as e
}

test_direct_permissions if {
	users := [{"id": "alice", "roles": [], "direct_permissions": ["repo:write"]}]
	e := with_evidence({"access": {"users": users}})
	lib.role_based_failures == {"user alice has permissions granted outside roles"} with input as e
}

test_terminated_user_with_roles if {
	users := [{"id": "mallory", "roles": ["developer", "viewer"], "terminated": true}]
	e := with_evidence({"access": {"users": users}})
	lib.deprovisioning_failures == {"terminated user mallory still holds roles: developer, viewer"} with input as e
}

test_stale_access_review if {
	reviews := [{"id": "2026-Q1", "completed": "2026-04-01T00:00:00Z"}]
	e := with_evidence({"access": {"reviews": reviews}})
	lib.access_review_failures == {"latest access review is 238 days old; at most 90 days allowed"} with input as e
}

test_access_review_without_as_of if {
	e := object.remove(evidence, ["as_of"])
	lib.access_review_failures == {"evidence has no as_of time to judge the access review age"} with input as e
}

test_conflicting_roles if {
	users := [
		{"id": "dan", "roles": ["developer", "release_manager"]},
		{"id": "ex", "roles": ["admin", "auditor"], "terminated": true},
	]
	e := with_evidence({"access": {"users": users}})
	lib.sod_failures == {"user dan holds conflicting roles developer and release_manager"} with input as e
}

test_short_retention if {
	short := with_evidence({"audit_log": {"retention_days": 30}})
	lib.logging_failures == {"audit log retention is 30 days; at least 365 days required"} with input as short
	text := with_evidence({"audit_log": {"retention_days": "400"}})
	lib.logging_failures == {"audit log retention is 400 days; at least 365 days required"} with input as text
}

test_unapproved_change if {
	change := {
		"id": "PR-9",
		"author": "alice",
		"approvers": ["alice"],
		"protected_branch": false,
		"deployed_by": "alice",
	}
	e := with_evidence({"changes": [change]})
	lib.change_failures == {
		"change PR-9 has 0 independent approvals; 1 required",
		"change PR-9 bypassed the protected branch",
		"change PR-9 was merged without passing tests",
	} with input as e
	lib.change_sod_failures == {
		"change PR-9 was approved by its author alice",
		"change PR-9 was deployed by its author alice",
	} with input as e
}

test_non_list_evidence_counts_as_missing if {
	lib.change_failures == {"evidence has no changes list"} with input as with_evidence({"changes": "none"})
	lib.changes == [] with input as with_evidence({"changes": "none"})
}
