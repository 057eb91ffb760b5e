package compliance.soc2_test

import data.compliance.lib_test
import data.compliance.soc2

test_complete_evidence_is_compliant if {
	e := lib_test.evidence
	soc2.compliant with input as e
	soc2.controls["CC8.1"] == {"status": "pass", "title": "Change management", "reasons": []} with input as e
	count(soc2.controls) == 5 with input as e
}

test_no_evidence_is_not_compliant if {
	not soc2.compliant
	every result in soc2.controls {
		result.status == "fail"
	}
}

test_cc6_1_fails_without_mfa if {
	e := lib_test.with_evidence({"access": {"mfa_enforced": false}})
	not soc2.compliant with input as e
	soc2.controls["CC6.1"] == {
		"status": "fail",
		"title": "Logical access security",
		"reasons": ["MFA is not enforced for interactive access"],
	} with input as e
	soc2.controls["CC8.1"].status == "pass" with input as e
}

test_cc6_2_fails_on_terminated_user_with_roles if {
	users := [{"id": "mallory", "roles": ["admin"], "terminated": true}]
	e := lib_test.with_evidence({"access": {"users": users}})
	soc2.controls["CC6.2"].reasons == ["terminated user mallory still holds roles: admin"] with input as e
}

test_cc6_3_fails_on_stale_review_and_conflict if {
	e := lib_test.with_evidence({
		"as_of": "2027-03-01T00:00:00Z",
		"access": {"users": [{"id": "dan", "roles": ["developer", "release_manager"], "mfa": true}]},
	})
	soc2.controls["CC6.3"].reasons == [
		"latest access review is 151 days old; at most 90 days allowed",
		"user dan holds conflicting roles developer and release_manager",
	] with input as e
}

test_cc7_2_fails_when_log_not_verified if {
	e := lib_test.with_evidence({"audit_log": {"verified": false}, "monitoring": {"runtime_monitoring": false}})
	soc2.controls["CC7.2"].reasons == [
		"audit log integrity was not verified",
		"runtime (syscall) monitoring is not enabled",
	] with input as e
}

test_cc8_1_fails_on_self_approved_change if {
	change := {"id": "PR-9", "author": "alice", "approvers": ["alice"], "protected_branch": true, "tests_passed": true}
	soc2.controls["CC8.1"].reasons == [
		"change PR-9 has 0 independent approvals; 1 required",
		"change PR-9 was approved by its author alice",
	] with input as lib_test.with_evidence({"changes": [change]})
}
