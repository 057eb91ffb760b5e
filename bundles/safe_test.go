package bundles

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"strings"
	"testing"
)

type entry struct {
	name string
	typ  byte
	body []byte
	link string
}

func tarball(t testing.TB, es ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range es {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: e.name, Typeflag: typ, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.link}
		if typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			tw.Write(e.body)
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func TestCheckTarballRefusesCraftedBundles(t *testing.T) {
	good := builtBundle(t)
	if err := CheckTarball(good, Limits{}); err != nil {
		t.Fatalf("a built bundle: %v", err)
	}
	bomb := bytes.Repeat([]byte{0}, 8<<20)
	for _, tc := range []struct {
		name string
		b    []byte
		lim  Limits
		says string
	}{
		{"dot-dot", tarball(t, entry{name: "../../etc/passwd", body: []byte("x")}), Limits{}, `"../../etc/passwd" leaves the bundle root`},
		{"dot-dot inside", tarball(t, entry{name: "/a/../../b.rego", body: []byte("x")}), Limits{}, "leaves the bundle root"},
		{"absolute", tarball(t, entry{name: "//etc/shadow", body: []byte("x")}), Limits{}, "leaves the bundle root"},
		{"symlink", tarball(t, entry{name: "/x.rego", typ: tar.TypeSymlink, link: "/etc/passwd"}), Limits{}, `is a link (to "/etc/passwd")`},
		{"hard link", tarball(t, entry{name: "/x.rego", typ: tar.TypeLink, link: "/data.json"}), Limits{}, "is a link"},
		{"device", tarball(t, entry{name: "/dev", typ: tar.TypeChar}), Limits{}, "not a regular file"},
		{"duplicate", tarball(t, entry{name: "/data.json", body: []byte("{}")}, entry{name: "data.json", body: []byte(`{"a":1}`)}), Limits{}, "appears twice"},
		{"bomb", tarball(t, entry{name: "/data.json", body: bomb}), Limits{MaxFileBytes: 1 << 20}, "over 1048576 bytes"},
		{"many files", tarball(t, entry{name: "/a", body: nil}, entry{name: "/b", body: nil}, entry{name: "/c", body: nil}), Limits{MaxFiles: 2}, "more than 2 entries"},
		{"total", tarball(t, entry{name: "/a", body: bomb[:600]}, entry{name: "/b", body: bomb[:600]}), Limits{MaxBytes: 1000}, "decompression bomb"},
		{"backslash", tarball(t, entry{name: `..\..\x`, body: []byte("x")}), Limits{}, "no usable name"},
		{"not gzip", []byte("plain"), Limits{}, "not gzip"},
		{"truncated", good[:len(good)/2], Limits{}, "reading"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckTarball(tc.b, tc.lim)
			if !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("want ErrUnsafe saying %q, got %v", tc.says, err)
			}
		})
	}
}

func FuzzCheckTarball(f *testing.F) {
	f.Add(tarball(f, entry{name: "/data.json", body: []byte("{}")}))
	f.Add(tarball(f, entry{name: "../x", body: []byte("x")}))
	f.Fuzz(func(t *testing.T, b []byte) {
		CheckTarball(b, Limits{MaxBytes: 1 << 20, MaxFileBytes: 1 << 20, MaxFiles: 100})
	})
}
