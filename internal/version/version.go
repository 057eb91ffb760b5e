// Package version holds the build's version, set at link time.
package version

// Version is overridden with -ldflags "-X .../internal/version.Version=v1.2.3".
var Version = "dev"

// Commit is the source commit, set at link time when known.
var Commit = ""
