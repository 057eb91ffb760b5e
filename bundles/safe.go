package bundles

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// A bundle from the network is checked before OPA's reader sees it: a
// crafted tarball must not write outside its root, alias a file, or expand
// into more memory than the node has.

// Limits bound what CheckTarball accepts.
type Limits struct {
	// MaxBytes bounds the uncompressed total (default 256 MiB).
	MaxBytes int64
	// MaxFileBytes bounds one file (default 64 MiB).
	MaxFileBytes int64
	// MaxFiles bounds the number of entries (default 100,000).
	MaxFiles int
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = 256 << 20
	}
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = 64 << 20
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = 100_000
	}
	return l
}

// ErrUnsafe marks a tarball refused before it was read as a bundle.
var ErrUnsafe = errors.New("unsafe bundle")

// CheckTarball reads the whole gzip tarball b and refuses it, naming the
// entry, when an entry's path is absolute or leaves the root (".."), an
// entry is anything but a regular file or a directory (links, devices),
// two entries have one name, or the content passes the limits (a
// decompression bomb is stopped at the limit, not expanded).
func CheckTarball(b []byte, lim Limits) error {
	lim = lim.withDefaults()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("%w: not gzip: %w", ErrUnsafe, err)
	}
	tr := tar.NewReader(zr)
	seen := map[string]bool{}
	var total int64
	for n := 0; ; n++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: reading the tarball after %d entries: %w", ErrUnsafe, n, err)
		}
		if n >= lim.MaxFiles {
			return fmt.Errorf("%w: more than %d entries", ErrUnsafe, lim.MaxFiles)
		}
		name := h.Name
		// OPA writes entries as "/data.json": one leading slash names the
		// bundle root. Anything else absolute, or climbing out, is refused.
		rel := strings.TrimPrefix(name, "/")
		switch {
		case rel == "" || strings.ContainsAny(name, "\x00\\"):
			return fmt.Errorf("%w: entry %d has no usable name (%q)", ErrUnsafe, n, name)
		case !cleanWithin(rel):
			return fmt.Errorf("%w: entry %q leaves the bundle root", ErrUnsafe, name)
		}
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeDir:
		case tar.TypeSymlink, tar.TypeLink:
			return fmt.Errorf("%w: entry %q is a link (to %q)", ErrUnsafe, name, h.Linkname)
		default:
			return fmt.Errorf("%w: entry %q is not a regular file (type %q)", ErrUnsafe, name, h.Typeflag)
		}
		key := strings.TrimSuffix(path.Clean("/"+name), "/")
		if seen[key] {
			return fmt.Errorf("%w: entry %q appears twice", ErrUnsafe, name)
		}
		seen[key] = true
		if h.Typeflag == tar.TypeDir {
			continue
		}
		// Count what is read, not what the header claims.
		read, err := io.Copy(io.Discard, io.LimitReader(tr, lim.MaxFileBytes+1))
		if err != nil {
			return fmt.Errorf("%w: reading %q: %w", ErrUnsafe, name, err)
		}
		if read > lim.MaxFileBytes {
			return fmt.Errorf("%w: entry %q is over %d bytes", ErrUnsafe, name, lim.MaxFileBytes)
		}
		if total += read; total > lim.MaxBytes {
			return fmt.Errorf("%w: over %d bytes uncompressed at entry %q (a decompression bomb?)", ErrUnsafe, lim.MaxBytes, name)
		}
	}
	return nil
}

// cleanWithin reports whether a relative path stays under its root.
func cleanWithin(p string) bool {
	c := path.Clean(p)
	return c != ".." && !strings.HasPrefix(c, "../") && !path.IsAbs(c)
}
