package main

import (
	"github.com/spf13/pflag"
)

// Shared flags are declared once so their names and meanings match across
// commands (and OPA's, where OPA has the same flag).

func addDataDirFlag(fs *pflag.FlagSet, p *string) {
	fs.StringVar(p, "data-dir", "./belladonna-data", "directory for state: audit log, last-good bundles (config data_dir, $BELLADONNA_DATA_DIR)")
}

func addV0CompatibleFlag(fs *pflag.FlagSet, p *bool) {
	fs.BoolVar(p, "v0-compatible", false, "parse modules as Rego v0 (as OPA's --v0-compatible)")
}

func addDataFlag(fs *pflag.FlagSet, p *[]string) {
	fs.StringArrayVarP(p, "data", "d", nil, "policy or data file or directory (repeatable), as opa eval -d")
}

func addBundleFlag(fs *pflag.FlagSet, p *[]string) {
	fs.StringArrayVarP(p, "bundle", "b", nil, "bundle file or directory (repeatable), as opa eval -b")
}
