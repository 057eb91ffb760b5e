package policyrepo

import (
	"strings"
	"testing"
)

// FuzzTrailers: any commit message parses without panicking, and every
// trailer found is a line of the message's last paragraph.
func FuzzTrailers(f *testing.F) {
	f.Add("subject\n\nbody\n\nSecurity-Fix: CVE-1\nSigned-off-by: a <a@b>")
	f.Add("one line")
	f.Add("s\n\nKey:value\nbad line")
	f.Fuzz(func(t *testing.T, msg string) {
		for k, vs := range Trailers(msg) {
			for _, v := range vs {
				if !strings.Contains(msg, k+":") || !strings.Contains(msg, v) {
					t.Fatalf("trailer %q=%q not in %q", k, v, msg)
				}
			}
		}
	})
}

// FuzzComponentOf: classification never panics and names a known
// component or none.
func FuzzComponentOf(f *testing.F) {
	f.Add("security/authz/a.rego", "package security.authz\n")
	f.Add("x.rego", "package\n")
	f.Add("a/.b/c.json", "")
	f.Fuzz(func(t *testing.T, path, content string) {
		c := ComponentOf(path, []byte(content))
		if c == "" {
			return
		}
		for _, k := range Components {
			if c == k {
				return
			}
		}
		t.Fatalf("%q: unknown component %q", path, c)
	})
}
