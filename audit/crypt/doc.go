// Package crypt is the audit log's encryption at rest: an audit.Codec that
// seals entry payloads with AES-256-GCM, a Keyring of master keys with
// rotation, and a SubjectStore of per-data-subject keys for crypto-erasure.
//
// The model. A payload is a canonical JSON envelope (see envelope): a plain,
// authenticated "meta" object (time, kind, type, severity, decision id,
// revision, path, outcome, latency) and the remaining fields sealed. Entries
// without a Subject are sealed under a key derived from the active master
// key; entries with one are sealed under a key derived from that subject's
// data key, and the master-key part then only authenticates the envelope.
// Destroying the subject key (SubjectStore.Erase) leaves every stored byte,
// and so the Merkle tree and hash chain, unchanged, while those entries now
// decode with Erased set and only their meta fields.
//
// Pitfalls. Keys are never printed, logged or returned; errors name key ids.
// Everything fails closed: a key file group or others can read, an unknown
// key id, a failed authentication or a subject key that is missing without a
// tombstone are errors, never a silent fallback to plaintext or to "erased".
// Master keys are never deleted from the keyring (old entries need them), so
// the erasure guarantee rests on the subject key file being gone: the store
// overwrites it before removing it, but on copy-on-write or flash storage
// old blocks may survive; keep the data directory on an encrypted volume, or
// back subject keys with a KMS, where that matters. Backups of the subject
// store must be purged too, and so must anything a sink exported after
// decrypting: erasure reaches only what is still sealed.
//
// Queries. Inspect reads a payload's key ids and meta fields without keys;
// SubjectStore.KeyID maps a subject to the subject key id its entries carry,
// so entries about a subject are found without decrypting anything, and
// after erasure nothing maps the subject to them any more.
package crypt
