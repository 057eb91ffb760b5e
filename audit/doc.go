// Package audit records decisions and security events.
//
// This first version is an append-only JSON-lines file in which every entry
// carries the SHA-256 of its predecessor (a hash chain), so an edited,
// deleted or reordered line breaks the chain at that entry. Verify walks the
// chain. Merkle checkpoints, group commit and sinks build on this Entry shape.
package audit
