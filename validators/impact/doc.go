// Package impact measures what a policy change does. It compiles two
// revisions, lists the rules and data added, removed and changed per
// component, and replays inputs through both: the inputs the Rego tests
// use and, when given, the decision inputs recorded in the audit log. Each
// decision whose outcome moves allow->deny counts as tightened, deny->allow
// as loosened, any other change of result as modified. The direction of a
// change is measured this way, never guessed from the diff. A 0-100 risk
// score (see Score) and compatibility warnings summarize the report.
package impact
