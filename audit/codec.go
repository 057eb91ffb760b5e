package audit

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ErrPruned is returned for indexes whose segments retention removed.
var ErrPruned = errors.New("audit: entry removed by retention")

// JSONCodec stores entries as plain JSON.
type JSONCodec struct{}

// Encode writes e as JSON without its Index (the position is the index).
// The output is what json.Marshal gives for the entry with Index 0.
func (JSONCodec) Encode(e *Entry) ([]byte, error) {
	return appendEntryJSON(make([]byte, 0, 256+len(e.Input)+len(e.Result)), e)
}

// AppendEncode is Encode appending to dst.
func (JSONCodec) AppendEncode(dst []byte, e *Entry) ([]byte, error) {
	return appendEntryJSON(dst, e)
}

// Decode unmarshals payload into e.
func (JSONCodec) Decode(payload []byte, e *Entry) error {
	if err := json.Unmarshal(payload, e); err != nil {
		return fmt.Errorf("audit: decoding entry: %w", err)
	}
	return nil
}
