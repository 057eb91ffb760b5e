# METADATA
# title: SOX 404 IT general controls
# description: >-
#   Evaluates IT general controls that support SOX section 404 over the
#   compliance evidence document (see policies/README.md). SOX defines no
#   control numbering; the ITGC-* ids are Belladonna's: CM = change
#   management, AC = access.
# custom:
#   component: compliance
#   severity: high
#   framework: sox
#   controls: ["ITGC-CM-01", "ITGC-CM-02", "ITGC-AC-01", "ITGC-AC-02", "ITGC-AC-03"]
package compliance.sox

import data.compliance.lib

# METADATA
# title: ITGC-CM-01 Change approval
# description: Every change is independently approved, tested and merged through a protected branch.
# custom:
#   controls: ["ITGC-CM-01"]
itgc_cm_01 := lib.control("Changes are approved and tested before production", lib.change_failures)

# METADATA
# title: ITGC-CM-02 Segregation of duties in change management
# description: No author approves or deploys their own change.
# custom:
#   controls: ["ITGC-CM-02"]
itgc_cm_02 := lib.control("Developers do not approve or deploy their own changes", lib.change_sod_failures)

# METADATA
# title: ITGC-AC-01 Periodic access review
# description: The latest access review is recent enough.
# custom:
#   controls: ["ITGC-AC-01"]
itgc_ac_01 := lib.control("User access is reviewed periodically", lib.access_review_failures)

# METADATA
# title: ITGC-AC-02 Segregation of incompatible roles
# description: No active user holds conflicting roles.
# custom:
#   controls: ["ITGC-AC-02"]
itgc_ac_02 := lib.control("Incompatible roles are segregated", lib.sod_failures)

# METADATA
# title: ITGC-AC-03 Access removal
# description: Terminated users hold no roles.
# custom:
#   controls: ["ITGC-AC-03"]
itgc_ac_03 := lib.control("Access is removed on termination", lib.deprovisioning_failures)

# METADATA
# title: Controls
# description: Result per IT general control, an object with status (pass or fail), title and reasons.
# entrypoint: true
controls := {
	"ITGC-CM-01": itgc_cm_01,
	"ITGC-CM-02": itgc_cm_02,
	"ITGC-AC-01": itgc_ac_01,
	"ITGC-AC-02": itgc_ac_02,
	"ITGC-AC-03": itgc_ac_03,
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
