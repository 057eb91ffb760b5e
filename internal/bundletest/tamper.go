// Package bundletest holds helpers for tests of bundles.
package bundletest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"
)

// TamperRego appends a comment to every .rego file of the bundle tarball b
// and leaves everything else (.signatures.json included) as it was.
func TamperRego(t testing.TB, b []byte) []byte {
	t.Helper()
	return rewrite(t, b, func(name string, body []byte) []byte {
		if strings.HasSuffix(name, ".rego") {
			return append(body, []byte("\n# changed\n")...)
		}
		return body
	})
}

// FlipByte changes one byte of the bundle's content and nothing else: in
// the first .rego file, the first lowercase letter of a string literal
// ("admin" -> "bdmin"), or else its last lowercase letter (in an
// identifier), becomes the next letter, so the policy still parses and
// would mean something else.
func FlipByte(t testing.TB, b []byte) []byte {
	t.Helper()
	done := false
	out := rewrite(t, b, func(name string, body []byte) []byte {
		if done || !strings.HasSuffix(name, ".rego") {
			return body
		}
		at := -1
		for i := 1; i < len(body) && at < 0; i++ {
			if body[i-1] == '"' && body[i] >= 'a' && body[i] < 'z' {
				at = i
			}
		}
		for i := len(body) - 1; i >= 0 && at < 0; i-- {
			if body[i] >= 'a' && body[i] < 'z' {
				at = i
			}
		}
		if at < 0 {
			return body
		}
		c := bytes.Clone(body)
		c[at]++
		done = true
		return c
	})
	if !done {
		t.Fatal("FlipByte: no .rego file with a letter to change")
	}
	return out
}

// SetFile rewrites the bundle tarball b with the file name (a bundle path,
// no leading slash) holding data, added at the end when b lacks it.
func SetFile(t testing.TB, b []byte, name string, data []byte) []byte {
	t.Helper()
	found := false
	out := rewrite(t, b, func(n string, body []byte) []byte {
		if strings.TrimPrefix(n, "/") == name {
			found = true
			return data
		}
		return body
	})
	if found {
		return out
	}
	return rewrite(t, b, func(_ string, body []byte) []byte { return body }, file{"/" + name, data})
}

type file struct {
	name string
	data []byte
}

// rewrite copies the tarball b, passing each file's body through f, and
// appends add.
func rewrite(t testing.TB, b []byte, f func(name string, body []byte) []byte, add ...file) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	tw := tar.NewWriter(zw)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		body = f(h.Name, body)
		h.Size = int64(len(body))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range add {
		if err := tw.WriteHeader(&tar.Header{Name: a.name, Mode: 0o644, Size: int64(len(a.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(a.data)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
