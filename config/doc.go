// Package config reads belladonna.yaml. It is the only package that reads
// environment variables: everything else receives a typed Config.
//
// The model is one value built in a fixed order: Default(), then the file
// (Parse), then the environment variables listed by EnvVars, then validation
// (Load does all four). Command-line flags are applied by the caller on top, and
// the caller should then call Config.Check again.
//
// Parsing is strict on purpose: an unknown key, a removed key or a value of the
// wrong type is an error, never silently ignored, because a misspelt security
// setting (say "authentcation") that fell back to its default would leave a
// server open while its operator believed it locked. Every problem found is
// reported at once in an *Error, each with file, line, column and key.
//
// Pitfall: the YAML walk is driven by the struct tags of Config (schema.go), so a
// new field needs a `yaml` tag, a matching `json` tag, a line in
// belladonna.example.yaml at the repository root and, when it has one, an entry
// in the environment registry (env.go). The tests check all four. A list of
// structs (audit.sinks) is walked item by item with the same strictness, its
// keys named with the index ("audit.sinks[1].address"); since it is empty by
// default, the example documents its item keys in a commented-out list, which
// a test uncomments and parses.
package config
