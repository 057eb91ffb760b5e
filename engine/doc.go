// Package engine compiles policy sources once and answers decisions from
// prepared queries.
//
// The model: a Source (modules + data, from a directory, an fs.FS or a bundle
// tarball) is compiled in strict mode into an immutable State. An Engine holds
// the active State behind an atomic pointer; Activate compiles a new Source
// and swaps it in only if compilation succeeded. Decide loads the pointer once,
// so a request in flight finishes on the State it started with and never sees
// a mix of two policy versions.
//
// Pitfall: queries are prepared per path on first use and cached on the State;
// entrypoints (METADATA `entrypoint: true`, or WithEntrypoints) are prepared
// eagerly at compile time so the first request pays nothing.
package engine
