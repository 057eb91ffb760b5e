// Package logfields holds the structured-log keys used across Belladonna, so that
// the same fact is always logged under the same key.
package logfields

const (
	Error      = "error"
	Addr       = "addr"
	Path       = "path"
	File       = "file"
	Revision   = "revision"
	DecisionID = "decision_id"
	Duration   = "duration"
	Status     = "status"
	Component  = "component"
	Count      = "count"
	Config     = "config"
	Version    = "version"
	// Audit log keys.
	Index        = "index"
	Segment      = "segment"
	Segments     = "segments"
	Bytes        = "bytes"
	KeyID        = "key_id"
	SubjectKeyID = "subject_key_id"
	Action       = "action"
	UID          = "uid"
)
