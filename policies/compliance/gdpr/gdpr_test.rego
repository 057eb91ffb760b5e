package compliance.gdpr_test

import data.compliance.gdpr
import data.compliance.lib_test

activity := {
	"id": "analytics",
	"purpose": "Usage analytics",
	"lawful_basis": "legitimate_interests",
	"data_categories": ["usage"],
	"retention": "P1Y",
}

with_activity(overrides) := lib_test.with_evidence({"processing_activities": [object.union(activity, overrides)]})

with_requests(requests) := lib_test.with_evidence({"erasure_requests": requests})

test_complete_evidence_is_compliant if {
	gdpr.compliant with input as lib_test.evidence
	gdpr.controls == {
		"Art.6": {"status": "pass", "title": "Lawfulness of processing", "reasons": []},
		"Art.17": {"status": "pass", "title": "Right to erasure", "reasons": []},
		"Art.30": {"status": "pass", "title": "Records of processing activities", "reasons": []},
		"Art.32": {"status": "pass", "title": "Security of processing", "reasons": []},
	} with input as lib_test.evidence
}

test_no_evidence_is_not_compliant if {
	not gdpr.compliant with input as {}
	gdpr.controls["Art.6"].reasons == ["evidence has no processing_activities list"] with input as {}
	gdpr.controls["Art.17"].reasons == ["evidence has no erasure_requests list"] with input as {}
}

test_art_6_missing_lawful_basis if {
	e := lib_test.with_evidence({"processing_activities": [object.remove(activity, ["lawful_basis"])]})
	gdpr.controls["Art.6"].reasons == ["processing activity analytics has no lawful basis"] with input as e
	not gdpr.compliant with input as e
}

test_art_6_unrecognised_lawful_basis if {
	e := with_activity({"lawful_basis": "business_need"})
	gdpr.controls["Art.6"].reasons == [
		"processing activity analytics has unrecognised lawful basis business_need",
	] with input as e
}

test_art_6_consent_without_records if {
	e := with_activity({"lawful_basis": "consent"})
	gdpr.controls["Art.6"].reasons == [
		"processing activity analytics relies on consent without consent records",
	] with input as e
}

test_art_17_completed_late if {
	requests := [{"id": "ER-1", "received": "2026-09-01T00:00:00Z", "completed": "2026-10-01T12:00:00Z"}]
	gdpr.controls["Art.17"] == {
		"status": "fail",
		"title": "Right to erasure",
		"reasons": ["erasure request ER-1 was completed after 31 days; the deadline is 30 days"],
	} with input as with_requests(requests)
}

test_art_17_completed_on_day_30 if {
	requests := [{"id": "ER-1", "received": "2026-09-01T00:00:00Z", "completed": "2026-10-01T00:00:00Z"}]
	gdpr.controls["Art.17"].status == "pass" with input as with_requests(requests)
}

test_art_17_open_past_deadline if {
	requests := [{"id": "ER-2", "received": "2026-10-01T00:00:00Z"}]
	e := with_requests(requests)
	gdpr.controls["Art.17"].reasons == [
		"erasure request ER-2 has been open for 55 days; the deadline is 30 days",
	] with input as e
}

test_art_17_open_without_as_of if {
	e := object.remove(with_requests([{"id": "ER-3", "received": "2026-11-20T00:00:00Z"}]), ["as_of"])
	gdpr.controls["Art.17"].reasons == ["erasure request ER-3 is open and the evidence has no as_of time"] with input as e
}

test_art_17_invalid_times if {
	requests := [
		{"id": "ER-4", "completed": "2026-10-01T00:00:00Z"},
		{"id": "ER-5", "received": "2026-11-01T00:00:00Z", "completed": "soon"},
	]
	gdpr.controls["Art.17"].reasons == [
		"erasure request ER-4 has no valid received time",
		"erasure request ER-5 has an invalid completed time",
	] with input as with_requests(requests)
}

test_art_30_incomplete_record if {
	e := with_activity({"data_categories": [], "retention": ""})
	gdpr.controls["Art.30"].reasons == [
		"processing activity analytics record lacks data_categories",
		"processing activity analytics record lacks retention",
	] with input as e
	gdpr.controls["Art.6"].status == "pass" with input as e
}

test_art_32_security_of_processing if {
	e := lib_test.with_evidence({"security": {"encryption_at_rest": false}, "audit_log": {"enabled": false}})
	gdpr.controls["Art.32"].reasons == [
		"audit logging is not enabled",
		"data is not encrypted at rest",
	] with input as e
}
