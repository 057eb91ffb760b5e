package policyrepo

import (
	"bufio"
	"bytes"
	"path"
	"strings"
)

// Policy components, as history, diff and rollback report them.
const (
	ComponentAuthn      = "authn"
	ComponentAuthz      = "authz"
	ComponentRateLimit  = "ratelimit"
	ComponentSyscall    = "syscall"
	ComponentCompliance = "compliance"
	ComponentValidators = "validators"
	ComponentData       = "data"
	// ComponentOther is Rego outside the known components.
	ComponentOther = "other"
)

// Components lists every component in report order.
var Components = []string{ComponentAuthn, ComponentAuthz, ComponentRateLimit, ComponentSyscall,
	ComponentCompliance, ComponentValidators, ComponentData, ComponentOther}

// segmentComponents maps a path segment or package part to its component.
var segmentComponents = map[string]string{
	"authn": ComponentAuthn, "authentication": ComponentAuthn,
	"authz": ComponentAuthz, "authorization": ComponentAuthz, "rbac": ComponentAuthz,
	"ratelimit": ComponentRateLimit, "rate_limit": ComponentRateLimit, "ratelimiting": ComponentRateLimit,
	"syscall": ComponentSyscall, "syscalls": ComponentSyscall,
	"compliance": ComponentCompliance,
	"validators": ComponentValidators, "validator": ComponentValidators,
}

// ComponentOf names the component a file belongs to: data files (JSON and
// YAML) are data wherever they sit; Rego files by their path, else by their
// package (content may be nil); anything else (docs, scripts) is no policy
// component and gives "".
func ComponentOf(file string, content []byte) string {
	for _, seg := range strings.Split(file, "/") {
		if strings.HasPrefix(seg, ".") {
			return "" // .github/, .regal/, .manifest: tooling, not policy
		}
	}
	switch path.Ext(file) {
	case ".json", ".yaml", ".yml":
		return ComponentData
	case ".rego":
	default:
		return ""
	}
	if c := knownComponent(strings.Split(path.Dir(file), "/")); c != "" {
		return c
	}
	if pkg := regoPackage(content); pkg != "" {
		if c := knownComponent(strings.Split(pkg, ".")); c != "" {
			return c
		}
	}
	return ComponentOther
}

// ComponentOfDataPath names the component of a document path
// (security/authz/allow) by its segments; ComponentOther if none names one.
func ComponentOfDataPath(p string) string {
	if c := knownComponent(strings.Split(p, "/")); c != "" {
		return c
	}
	return ComponentOther
}

// knownComponent is the component the first recognised part names, or "".
func knownComponent(parts []string) string {
	for _, p := range parts {
		if c, ok := segmentComponents[p]; ok {
			return c
		}
	}
	return ""
}

// regoPackage is the package path of a module, read from its package line
// (cheaper than a parse, and enough to classify).
func regoPackage(src []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "package "); ok {
			return strings.TrimSpace(strings.SplitN(rest, "#", 2)[0])
		}
	}
	return ""
}
