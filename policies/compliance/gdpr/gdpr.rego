# METADATA
# title: GDPR
# description: >-
#   Evaluates GDPR articles on lawful basis (Art. 6), erasure (Art. 17),
#   records of processing (Art. 30) and security of processing (Art. 32) over
#   the compliance evidence document (see policies/README.md).
# custom:
#   component: compliance
#   severity: high
#   framework: gdpr
#   controls: ["Art.6", "Art.17", "Art.30", "Art.32"]
package compliance.gdpr

import data.compliance.lib

activities := lib.list(["processing_activities"])

requests := lib.list(["erasure_requests"])

deadline_days := lib.cfg.erasure_deadline_days

# --- Art. 6 -------------------------------------------------------------------

lawful_basis_failures contains lib.missing_list(["processing_activities"])

lawful_basis_failures contains sprintf("processing activity %v has no lawful basis", [activity.id]) if {
	some activity in activities
	not activity.lawful_basis
}

lawful_basis_failures contains msg if {
	some activity in activities
	not activity.lawful_basis in lib.cfg.lawful_bases
	msg := sprintf("processing activity %v has unrecognised lawful basis %v", [activity.id, activity.lawful_basis])
}

lawful_basis_failures contains msg if {
	some activity in activities
	activity.lawful_basis == "consent"
	object.get(activity, "consent_records", false) != true
	msg := sprintf("processing activity %v relies on consent without consent records", [activity.id])
}

# --- Art. 17 ------------------------------------------------------------------

received_ns(request) := time.parse_rfc3339_ns(object.get(request, "received", ""))

erasure_failures contains lib.missing_list(["erasure_requests"])

erasure_failures contains sprintf("erasure request %v has no valid received time", [request.id]) if {
	some request in requests
	not received_ns(request)
}

completed_ns(request) := time.parse_rfc3339_ns(request.completed)

erasure_failures contains sprintf("erasure request %v has an invalid completed time", [request.id]) if {
	some request in requests
	request.completed
	not completed_ns(request)
}

erasure_failures contains msg if {
	some request in requests
	elapsed := completed_ns(request) - received_ns(request)
	elapsed > deadline_days * lib.day_ns
	msg := sprintf("erasure request %v was completed after %v days; the deadline is %v days", [
		request.id,
		ceil(elapsed / lib.day_ns),
		deadline_days,
	])
}

erasure_failures contains msg if {
	some request in requests
	not request.completed
	elapsed := lib.as_of_ns - received_ns(request)
	elapsed > deadline_days * lib.day_ns
	msg := sprintf("erasure request %v has been open for %v days; the deadline is %v days", [
		request.id,
		floor(elapsed / lib.day_ns),
		deadline_days,
	])
}

erasure_failures contains sprintf("erasure request %v is open and the evidence has no as_of time", [request.id]) if {
	some request in requests
	not request.completed
	not lib.as_of_ns
}

# --- Art. 30 ------------------------------------------------------------------

record_fields := ["purpose", "data_categories", "retention"]

record_failures contains lib.missing_list(["processing_activities"])

record_failures contains sprintf("processing activity %v record lacks %v", [activity.id, field]) if {
	some activity in activities
	some field in record_fields
	count(object.get(activity, field, "")) == 0
}

# --- Controls -----------------------------------------------------------------

# METADATA
# title: Art. 6 Lawfulness of processing
# description: Every processing activity has a recognised lawful basis; consent-based ones keep consent records.
# custom:
#   controls: ["Art.6"]
art_6 := lib.control("Lawfulness of processing", lawful_basis_failures)

# METADATA
# title: Art. 17 Right to erasure
# description: Erasure requests are completed within the deadline (30 days by default), and none stays open longer.
# custom:
#   controls: ["Art.17"]
art_17 := lib.control("Right to erasure", erasure_failures)

# METADATA
# title: Art. 30 Records of processing activities
# description: Every processing activity records its purpose, data categories and retention.
# custom:
#   controls: ["Art.30"]
art_30 := lib.control("Records of processing activities", record_failures)

# METADATA
# title: Art. 32 Security of processing
# description: Personal data is encrypted at rest and in transit and access is logged in a tamper-evident audit log.
# custom:
#   controls: ["Art.32"]
art_32 := lib.control("Security of processing", lib.encryption_failures | lib.logging_failures)

# METADATA
# title: Controls
# description: Result per GDPR article, an object with status (pass or fail), title and reasons.
# entrypoint: true
controls := {
	"Art.6": art_6,
	"Art.17": art_17,
	"Art.30": art_30,
	"Art.32": art_32,
}

# METADATA
# title: Compliant
# scope: document
# description: True when every control passes.
# entrypoint: true
default compliant := false

compliant if {
	every result in controls {
		result.status == "pass"
	}
}
