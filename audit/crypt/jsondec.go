package crypt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/belladonna-dev/belladonna/audit"
)

// Decode runs for every entry a sink, a replay or the CLI reads; with
// reflection-based json.Unmarshal it cost twice the plain JSON codec. These
// readers parse what appendMeta and appendSealed write (they only ever see
// authenticated bytes, so anything else is an error, not a case to
// tolerate). FuzzReaders holds them to json.Unmarshal.

// readMeta parses a meta object into e's meta fields.
func readMeta(b []byte, e *audit.Entry) error {
	r := objReader{b: b}
	return r.object(func(key string) error {
		var err error
		switch key {
		case "time":
			var s []byte
			if s, err = r.strBytes(); err == nil {
				err = e.Time.UnmarshalText(s)
			}
		case "kind":
			var s string
			s, err = r.str()
			e.Kind = audit.Kind(s)
		case "type":
			e.Type, err = r.str()
		case "severity":
			e.Severity, err = r.str()
		case "decision_id":
			e.DecisionID, err = r.str()
		case "revision":
			e.Revision, err = r.str()
		case "path":
			e.Path, err = r.str()
		case "outcome":
			e.Outcome, err = r.str()
		case "defined":
			e.Defined, err = r.boolean()
		case "latency_ns":
			e.LatencyNS, err = r.int64()
		default:
			err = r.errorf("unknown meta field %q", key)
		}
		return err
	})
}

// readSealed parses a sealed-fields object into e.
func readSealed(b []byte, e *audit.Entry) error {
	r := objReader{b: b}
	return r.object(func(key string) error {
		var err error
		switch key {
		case "input":
			e.Input, err = r.raw()
		case "result":
			e.Result, err = r.raw()
		case "caller":
			e.Caller, err = r.str()
		case "subject":
			e.Subject, err = r.str()
		case "message":
			e.Message, err = r.str()
		case "error":
			e.Error, err = r.str()
		case "attrs":
			if e.Attrs == nil { // a repeated "attrs" merges, as in encoding/json
				e.Attrs = make(map[string]string)
			}
			err = r.object(func(k string) error {
				v, err := r.str()
				e.Attrs[k] = v
				return err
			})
		default:
			err = r.errorf("unknown sealed field %q", key)
		}
		return err
	})
}

// objReader reads compact JSON as the appenders write it: no whitespace.
type objReader struct {
	b []byte
	i int
}

func (r *objReader) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: at offset %d: %s", ErrMalformed, r.i, fmt.Sprintf(format, args...))
}

// object reads {"k":v,...}, calling member for each key with r positioned
// at the value. A top-level object must end the input.
func (r *objReader) object(member func(key string) error) error {
	top := r.i == 0
	if !r.eat('{') {
		return r.errorf("want '{'")
	}
	if !r.eat('}') {
		for {
			key, err := r.str()
			if err != nil {
				return err
			}
			if !r.eat(':') {
				return r.errorf("want ':'")
			}
			if err := member(key); err != nil {
				return err
			}
			if r.eat('}') {
				break
			}
			if !r.eat(',') {
				return r.errorf("want ',' or '}'")
			}
		}
	}
	if top && r.i != len(r.b) {
		return r.errorf("data after object")
	}
	return nil
}

func (r *objReader) eat(c byte) bool {
	if r.i < len(r.b) && r.b[r.i] == c {
		r.i++
		return true
	}
	return false
}

// strBytes returns the contents of a string without escapes, aliasing the
// input; escaped strings (rare) are an error here, see str.
func (r *objReader) strBytes() ([]byte, error) {
	s, escaped, err := r.scanString()
	if err != nil {
		return nil, err
	}
	if escaped {
		return nil, r.errorf("unexpected escape")
	}
	return r.b[s : r.i-1], nil
}

// str reads a string. Plain ASCII/UTF-8 is copied directly; strings with
// escapes or invalid UTF-8 go to json.Unmarshal, so the result is exactly
// encoding/json's.
func (r *objReader) str() (string, error) {
	start := r.i
	s, escaped, err := r.scanString()
	if err != nil {
		return "", err
	}
	body := r.b[s : r.i-1]
	if !escaped && utf8.Valid(body) {
		return string(body), nil
	}
	var out string
	if err := json.Unmarshal(r.b[start:r.i], &out); err != nil {
		return "", r.errorf("bad string: %v", err)
	}
	return out, nil
}

// scanString moves past a string token and returns where its contents
// start and whether it holds escapes.
func (r *objReader) scanString() (start int, escaped bool, err error) {
	if !r.eat('"') {
		return 0, false, r.errorf("want string")
	}
	start = r.i
	for r.i < len(r.b) {
		switch c := r.b[r.i]; {
		case c == '"':
			r.i++
			return start, escaped, nil
		case c == '\\':
			escaped = true
			r.i += 2
		case c < 0x20:
			return 0, false, r.errorf("control character in string")
		default:
			r.i++
		}
	}
	return 0, false, r.errorf("unterminated string")
}

// raw reads any JSON value and returns a copy (validated by the same code
// that compacted it on the way in, so it is compact JSON).
func (r *objReader) raw() (json.RawMessage, error) {
	p := compactor{src: r.b, i: r.i, skip: true}
	if err := p.value(0); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	v := bytes.Clone(r.b[r.i:p.i])
	r.i = p.i
	return v, nil
}

func (r *objReader) boolean() (bool, error) {
	rest := r.b[r.i:]
	switch {
	case bytes.HasPrefix(rest, []byte("true")):
		r.i += len("true")
		return true, nil
	case bytes.HasPrefix(rest, []byte("false")):
		r.i += len("false")
		return false, nil
	}
	return false, r.errorf("want boolean")
}

func (r *objReader) int64() (int64, error) {
	start := r.i
	if r.i < len(r.b) && r.b[r.i] == '-' {
		r.i++
	}
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
		r.i++
	}
	n, err := strconv.ParseInt(string(r.b[start:r.i]), 10, 64)
	if err != nil {
		return 0, r.errorf("bad integer")
	}
	return n, nil
}
