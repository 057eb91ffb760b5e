package engine

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// ErrInvalidPath reports a decision path that cannot name a document.
var ErrInvalidPath = errors.New("invalid decision path")

// pathToRef turns "security/authz/allow" into data.security.authz.allow with the
// same rules as OPA's server: segments are URL-unescaped, integer segments
// become numbers, and a segment holding a double quote is refused.
func pathToRef(path string) (ast.Ref, error) {
	ref := ast.Ref{ast.DefaultRootDocument}
	for seg := range strings.SplitSeq(path, "/") {
		if seg == "" {
			continue
		}
		if u, err := url.PathUnescape(seg); err == nil {
			seg = u
		}
		if strings.Contains(seg, `"`) {
			return nil, fmt.Errorf("%w: segment %q contains a double quote", ErrInvalidPath, seg)
		}
		if i, err := strconv.ParseInt(seg, 10, 64); err == nil {
			ref = append(ref, ast.IntNumberTerm(int(i)))
			continue
		}
		ref = append(ref, ast.StringTerm(seg))
	}
	return ref, nil
}

// refToPath is the inverse for refs made only of string keys under data.
func refToPath(ref ast.Ref) (string, bool) {
	if len(ref) == 0 || !ref[0].Equal(ast.DefaultRootDocument) {
		return "", false
	}
	parts := make([]string, 0, len(ref)-1)
	for _, t := range ref[1:] {
		s, ok := t.Value.(ast.String)
		if !ok {
			return "", false
		}
		parts = append(parts, string(s))
	}
	return strings.Join(parts, "/"), true
}

// normalizePath gives one cache key per document however the path was spelled.
func normalizePath(path string) string {
	return strings.Trim(path, "/")
}
