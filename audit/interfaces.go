package audit

import "context"

// Appender appends entries. Append returns once the entry is durable (fsynced)
// and reports the index it was given.
type Appender interface {
	Append(ctx context.Context, e *Entry) (uint64, error)
}

// Source streams committed entries in index order. Sinks, correlation, the
// CLI and later impact replay read the log through it.
type Source interface {
	// Size is the number of committed entries (the next index).
	Size() uint64
	// Read returns up to max entries starting at index from; fewer (or none)
	// at the end of the log. Entries before the retained start return
	// ErrPruned.
	Read(ctx context.Context, from uint64, max int) ([]Entry, error)
	// Wait blocks until Size() > n, or until ctx is done.
	Wait(ctx context.Context, n uint64) error
}

// Codec turns an entry into the payload bytes that are stored (and that the
// Merkle leaf commits to) and back. The plain codec is JSON; the encrypting
// codec (audit/crypt) seals payloads, so that crypto-erasure leaves the
// stored bytes, and so the tree, intact.
type Codec interface {
	Encode(e *Entry) ([]byte, error)
	// Decode fills e from payload. An entry whose key was destroyed decodes
	// with Erased set and no Input/Result, not as an error.
	Decode(payload []byte, e *Entry) error
}

// AppendEncoder is implemented by codecs that can encode into a caller's
// buffer; the log then reuses payload buffers across appends.
type AppendEncoder interface {
	AppendEncode(dst []byte, e *Entry) ([]byte, error)
}
