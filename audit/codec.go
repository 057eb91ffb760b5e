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

// Encode marshals e without its Index (the position is the index).
func (JSONCodec) Encode(e *Entry) ([]byte, error) {
	cp := *e
	cp.Index = 0
	bs, err := json.Marshal(&cp)
	if err != nil {
		return nil, fmt.Errorf("audit: encoding entry: %w", err)
	}
	return bs, nil
}

// Decode unmarshals payload into e.
func (JSONCodec) Decode(payload []byte, e *Entry) error {
	if err := json.Unmarshal(payload, e); err != nil {
		return fmt.Errorf("audit: decoding entry: %w", err)
	}
	return nil
}
