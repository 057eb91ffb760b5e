package compliance.nist_csf_test

import data.compliance.lib_test
import data.compliance.nist_csf

test_complete_evidence_is_compliant if {
	nist_csf.compliant with input as lib_test.evidence
	count(nist_csf.controls) == 6 with input as lib_test.evidence
}

test_no_evidence_is_not_compliant if {
	not nist_csf.compliant with input as {}
}

test_pr_aa_01_identities_managed if {
	users := [{"id": "mallory", "roles": ["viewer"], "terminated": true}]
	nist_csf.controls["PR.AA-01"] == {
		"status": "fail",
		"title": "Identities and credentials for authorized users are managed",
		"reasons": ["terminated user mallory still holds roles: viewer"],
	} with input as lib_test.with_evidence({"access": {"users": users}})
}

test_pr_aa_03_authentication if {
	e := lib_test.with_evidence({"access": {"mfa_enforced": "yes"}})
	nist_csf.controls["PR.AA-03"].reasons == ["MFA is not enforced for interactive access"] with input as e
}

test_pr_aa_05_access_permissions if {
	users := [{
		"id": "eve",
		"roles": ["admin", "auditor"],
		"mfa": true,
		"direct_permissions": ["billing:read"],
	}]
	nist_csf.controls["PR.AA-05"].reasons == [
		"user eve has permissions granted outside roles",
		"user eve holds conflicting roles admin and auditor",
	] with input as lib_test.with_evidence({"access": {"users": users}})
}

test_pr_ps_01_configuration_management if {
	change := {"id": "PR-7", "author": "bob", "approvers": ["carol"], "protected_branch": true}
	e := lib_test.with_evidence({"changes": [change]})
	nist_csf.controls["PR.PS-01"].reasons == ["change PR-7 was merged without passing tests"] with input as e
}

test_pr_ps_04_log_records if {
	e := lib_test.with_evidence({"audit_log": {"enabled": false}})
	nist_csf.controls["PR.PS-04"].reasons == ["audit logging is not enabled"] with input as e
}

test_de_cm_09_runtime_monitoring if {
	e := lib_test.with_evidence({"monitoring": {"alerting_enabled": false}})
	nist_csf.controls["DE.CM-09"].reasons == ["security alerting is not enabled"] with input as e
}
