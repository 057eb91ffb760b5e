package audit

import (
	"strings"
)

// Masked is what a masked value is replaced with, so a reader sees that the
// field was present without seeing it.
const Masked = "**REDACTED**"

// MaskInput returns input with the fields named by JSON pointers
// ("/input/token", "/input/user/password") replaced by Masked. The caller's
// value is not modified: maps on the masked paths are copied.
func MaskInput(input any, paths []string) any {
	for _, p := range paths {
		rest, ok := strings.CutPrefix(p, "/input/")
		if !ok {
			continue
		}
		input = maskPath(input, strings.Split(rest, "/"))
	}
	return input
}

func maskPath(v any, segs []string) any {
	m, ok := v.(map[string]any)
	if !ok || len(segs) == 0 {
		return v
	}
	key := strings.NewReplacer("~1", "/", "~0", "~").Replace(segs[0])
	cur, ok := m[key]
	if !ok {
		return v
	}
	cp := make(map[string]any, len(m))
	for k, x := range m {
		cp[k] = x
	}
	if len(segs) == 1 {
		cp[key] = Masked
	} else {
		cp[key] = maskPath(cur, segs[1:])
	}
	return cp
}
