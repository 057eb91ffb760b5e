# METADATA
# title: Every package is annotated
# description: >-
#   Every policy package carries package METADATA with title, description,
#   custom.component and custom.severity; compliance packages (compliance or
#   below, except shared helpers under compliance.lib) also custom.controls;
#   validator rule packages (validators or below) custom.category instead of
#   custom.component. OPA allows one package METADATA block per package, so a
#   package split over several files needs it in one of them.
# custom:
#   category: policy
#   severity: warning
package validators.policy.metadata_required

import data.validators.lib

policy_fields := ["title", "description", "custom.component", "custom.severity"]

required_fields(pkg) := ["title", "description", "custom.category", "custom.severity"] if {
	lib.in_namespace(pkg, "validators")
} else := array.concat(policy_fields, ["custom.controls"]) if {
	lib.in_namespace(pkg, "compliance")
	not lib.in_namespace(pkg, "compliance.lib")
} else := policy_fields

# modules_of lists a package's non-test modules in file order (input.modules is sorted).
modules_of(pkg) := [m |
	some m in input.modules
	not m.is_test
	m.package == pkg
]

metadata_of(pkg) := [m.metadata | some m in modules_of(pkg); m.metadata][0]

metadata_of(pkg) := {} if {
	not any_metadata(pkg)
}

any_metadata(pkg) if {
	some m in modules_of(pkg)
	m.metadata
}

# anchor is where a package's findings point: the METADATA block, or the
# package line of its first file.
anchor(pkg) := {"file": m.file, "line": object.get(m, ["metadata", "line"], m.package_line)} if {
	some m in modules_of(pkg)
	m.metadata
} else := {"file": first.file, "line": first.package_line} if {
	first := modules_of(pkg)[0]
}

missing(md, field) if {
	value := object.get(md, split(field, "."), null)
	value in {null, "", [], {}}
}

findings contains object.union(anchor(pkg), {
	"rule": "policy/metadata-required",
	"severity": "warning",
	"message": sprintf("package %s: METADATA lacks %s", [pkg, field]),
}) if {
	some pkg in {m.package | some m in lib.policy_modules}
	some field in required_fields(pkg)
	missing(metadata_of(pkg), field)
}
