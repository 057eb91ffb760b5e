package bundles

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
)

// eachFile calls f with every regular file of the bundle tarball b, by its
// bundle path (no leading slash), in tar order.
func eachFile(b []byte, f func(name string, r io.Reader) error) error {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("not a bundle tarball: %w", err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the bundle: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if err := f(strings.TrimPrefix(h.Name, "/"), tr); err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
	}
}
