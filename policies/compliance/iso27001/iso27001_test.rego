package compliance.iso27001_test

import data.compliance.iso27001
import data.compliance.lib_test

test_complete_evidence_is_compliant if {
	iso27001.compliant with input as lib_test.evidence
	count(iso27001.controls) == 6 with input as lib_test.evidence
}

test_no_evidence_is_not_compliant if {
	not iso27001.compliant with input as {}
	iso27001.controls["A.8.32"].reasons == ["evidence has no changes list"] with input as {}
}

test_a5_3_segregation_of_duties if {
	change := {
		"id": "PR-5",
		"author": "bob",
		"approvers": ["carol"],
		"protected_branch": true,
		"tests_passed": true,
		"deployed_by": "bob",
	}
	e := lib_test.with_evidence({"changes": [change]})
	iso27001.controls["A.5.3"] == {
		"status": "fail",
		"title": "Segregation of duties",
		"reasons": ["change PR-5 was deployed by its author bob"],
	} with input as e
	iso27001.controls["A.8.32"].status == "pass" with input as e
}

test_a5_15_access_control if {
	users := [{"id": "alice", "roles": ["developer"], "direct_permissions": ["prod:ssh"]}]
	e := lib_test.with_evidence({"access": {"users": users}})
	iso27001.controls["A.5.15"].reasons == ["user alice has permissions granted outside roles"] with input as e
}

test_a5_18_access_rights if {
	e := lib_test.with_evidence({"access": {"reviews": []}})
	iso27001.controls["A.5.18"].reasons == ["no completed access review in evidence"] with input as e
}

test_a8_5_secure_authentication if {
	users := [{"id": "carol", "roles": ["admin"], "privileged": true, "mfa": false}]
	e := lib_test.with_evidence({"access": {"users": users}})
	iso27001.controls["A.8.5"].reasons == ["privileged user carol has no MFA"] with input as e
}

test_a8_15_logging if {
	e := lib_test.with_evidence({"audit_log": {"tamper_evident": false}})
	iso27001.controls["A.8.15"].reasons == ["audit log is not tamper-evident"] with input as e
}

test_a8_32_change_management if {
	change := {"id": "PR-6", "author": "bob", "approvers": ["carol"], "protected_branch": false, "tests_passed": true}
	e := lib_test.with_evidence({"changes": [change]})
	iso27001.controls["A.8.32"].reasons == ["change PR-6 bypassed the protected branch"] with input as e
}
