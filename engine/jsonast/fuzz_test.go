package jsonast

import (
	"testing"
)

// FuzzParse holds Parse to OPA's own decoding: whatever the reference
// accepts, Parse accepts with an identical value; whatever it rejects, Parse
// rejects, and with encoding/json's syntax error where there is one.
func FuzzParse(f *testing.F) {
	for _, d := range validDocs {
		f.Add([]byte(d))
	}
	for _, tc := range invalidDocs {
		f.Add([]byte(tc.in))
	}
	f.Add([]byte(benchLarge))
	f.Add([]byte(benchSmall))
	f.Add([]byte(largeObject(40, true)))

	f.Fuzz(checkDoc)
}

// checkDoc is the property FuzzParse checks, shared with deterministic tests.
func checkDoc(t *testing.T, in []byte) {
	t.Helper()
	want, refErr := strictReference(in)
	got, err := Parse(in)
	if refErr != nil {
		if err == nil {
			t.Fatalf("input %s: reference rejects (%v), Parse accepts %v", short(in), refErr, got)
		}
		checkSyntaxParity(t, in, err)
		return
	}
	if err != nil {
		t.Fatalf("input %s: reference accepts, Parse: %v", short(in), err)
	}
	sameValue(t, in, got, want)
}
