package config

import (
	"errors"
	"fmt"
	"testing"
)

func TestProblemError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		p    Problem
		want string
	}{
		{Problem{File: "b.yaml", Line: 3, Column: 5, Message: "m"}, "b.yaml:3:5: m"},
		{Problem{File: "b.yaml", Line: 3, Message: "m"}, "b.yaml:3: m"},
		{Problem{File: "b.yaml", Message: "m"}, "b.yaml: m"},
		{Problem{Line: 3, Column: 5, Message: "m"}, "line 3: m"},
		{Problem{Env: "BELLADONNA_ADDR", Message: "m"}, "$BELLADONNA_ADDR: m"},
		{Problem{Message: "m"}, "m"},
	} {
		if got := tc.p.Error(); got != tc.want {
			t.Errorf("%+v.Error() = %q, want %q", tc.p, got, tc.want)
		}
	}
}

// Callers see through their own wrapping to the *Error, its problems and
// their sentinels.
func TestErrorMatching(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte("legacy_tokens: [a]\nlog:\n  levle: info\n"), "b.yaml")
	err = fmt.Errorf("loading configuration: %w", err)
	e, ok := errors.AsType[*Error](err)
	if !ok || len(e.Problems) != 2 {
		t.Fatalf("errors.AsType[*Error]: %v, %v", e, ok)
	}
	if !errors.Is(err, ErrRemovedKey) || !errors.Is(err, ErrUnknownKey) {
		t.Error("sentinels not found through the wrapping")
	}
	if errors.Is(err, ErrSyntax) || errors.Is(err, ErrInvalidValue) {
		t.Error("sentinel of a problem that did not occur")
	}
	p, ok := errors.AsType[Problem](err)
	if !ok || p.Key != "legacy_tokens" || p.Line != 1 || p.Column != 1 {
		t.Errorf("errors.AsType[Problem] = %+v, %v", p, ok)
	}
}
