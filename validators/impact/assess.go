package impact

import (
	"fmt"
	"slices"
)

// Rollback complexity levels, least to most.
const (
	Simple    = "simple"
	Moderate  = "moderate"
	Complex   = "complex"
	Dangerous = "dangerous"
)

// Assessment classifies a rollback from the impact of going back.
type Assessment struct {
	Level   string   `json:"level"`
	Reasons []string `json:"reasons"`
}

// Assess classifies a rollback whose impact (current -> target) is r and
// which undoes the commits whose Security-Fix trailers are securityFixes:
//
//	dangerous: it loosens authn, authz or syscall decisions, removes
//	           validator rules, or undoes a Security-Fix commit
//	complex:   rules of three or more components change, or an entrypoint
//	           is removed or a result changes shape
//	moderate:  rules of two components, or more than three rules, change
//	simple:    data only, or at most three rules of one component
func Assess(r *Report, securityFixes []string) Assessment {
	a := Assessment{Level: Simple, Reasons: []string{}}
	raise := func(level, reason string) {
		order := []string{Simple, Moderate, Complex, Dangerous}
		if slices.Index(order, level) > slices.Index(order, a.Level) {
			a.Level = level
		}
		a.Reasons = append(a.Reasons, reason)
	}
	for comp, c := range r.ByComponent {
		if isSecurity(comp) && c.Loosened > 0 {
			raise(Dangerous, fmt.Sprintf("it loosens %d %s decisions", c.Loosened, comp))
		}
	}
	comps := map[string]bool{}
	for _, ch := range r.Rules {
		comps[ch.Component] = true
		if ch.Component == "validators" && ch.Action == "removed" {
			raise(Dangerous, "it removes validator rule "+ch.Path)
		}
	}
	for _, fix := range securityFixes {
		raise(Dangerous, "it undoes a security fix ("+fix+")")
	}
	for _, w := range r.Warnings {
		raise(Complex, w.Message)
	}
	switch {
	case len(comps) >= 3:
		raise(Complex, fmt.Sprintf("rules of %d components change", len(comps)))
	case len(comps) == 2 || len(r.Rules) > 3:
		raise(Moderate, fmt.Sprintf("%d rules in %d components change", len(r.Rules), len(comps)))
	}
	slices.Sort(a.Reasons)
	return a
}
