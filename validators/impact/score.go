package impact

import (
	"fmt"
	"math"
)

// Risk weights, documented in the README ("Impact analysis: risk score").
// Loosening where access is decided (authn, authz, syscall) weighs most.
const (
	riskLoosenedSecurity = 40 // any loosened authn/authz/syscall decision
	riskLoosenedMore     = 20 // and up to this much more, by their share of those replayed
	riskLoosenedOther    = 15 // any loosened decision elsewhere
	riskTightened        = 10 // any tightened decision (availability)
	riskModified         = 5  // any other changed result
	riskRemovedEntry     = 15 // a removed entrypoint or recorded decision path
	riskShape            = 10 // a changed result shape
	riskUnmeasured       = 10 // security rules changed but no replayed input reads them
)

func isSecurity(component string) bool {
	return component == "authn" || component == "authz" || component == "syscall"
}

// Score computes the 0-100 risk score of r and the factors behind it:
//
//	40 if any authn/authz/syscall decision loosened, plus 20 × (their share
//	   of the authn/authz/syscall decisions replayed), 15 if any other
//	   decision loosened, 10 if any tightened, 5 if any other result changed,
//	   15 if an entrypoint or a recorded decision path was removed, 10 if a
//	   result changed shape, 10 if authn/authz/syscall rules changed and no
//	   replayed input reads their documents; capped at 100.
func Score(r *Report) (int, []string) {
	var score float64
	var why []string
	add := func(w float64, format string, args ...any) {
		score += w
		why = append(why, fmt.Sprintf("+%.0f ", w)+fmt.Sprintf(format, args...))
	}
	secLoose, secReplayed := 0, 0
	for comp, c := range r.ByComponent {
		if isSecurity(comp) {
			secLoose += c.Loosened
			secReplayed += c.Replayed
		}
	}
	otherLoose := r.Counts.Loosened - secLoose
	if secLoose > 0 {
		add(riskLoosenedSecurity, "%d authn/authz/syscall decisions loosened", secLoose)
		if secReplayed > 0 {
			add(math.Round(riskLoosenedMore*float64(secLoose)/float64(secReplayed)), "%.0f%% of the authn/authz/syscall decisions replayed loosened", 100*float64(secLoose)/float64(secReplayed))
		}
	}
	if otherLoose > 0 {
		add(riskLoosenedOther, "%d other decisions loosened", otherLoose)
	}
	if r.Counts.Tightened > 0 {
		add(riskTightened, "%d decisions tightened", r.Counts.Tightened)
	}
	if r.Counts.Modified > 0 {
		add(riskModified, "%d results modified", r.Counts.Modified)
	}
	removed, shapeChanged := false, false
	for _, w := range r.Warnings {
		removed = removed || w.Kind == WarnRemovedEntrypoint
		shapeChanged = shapeChanged || w.Kind == WarnResultShape
	}
	if removed {
		add(riskRemovedEntry, "an entrypoint or a recorded decision path was removed")
	}
	if shapeChanged {
		add(riskShape, "a result changed shape")
	}
	if r.unmeasured > 0 {
		add(riskUnmeasured, "%d changed authn/authz/syscall rules that no replayed input reads", r.unmeasured)
	}
	return int(math.Min(100, score)), why
}
