package audit

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendEntryJSON encodes e (without Index) as encoding/json would, but
// without reflection and without re-compacting Input and Result: on the
// append path this is the largest cost after the fsync. Input and Result
// must be valid JSON (checked; they are copied as written).
func appendEntryJSON(b []byte, e *Entry) ([]byte, error) {
	b = append(b, `{"index":0,"time":`...)
	b = appendTime(b, e.Time)
	b = append(b, `,"kind":`...)
	b = appendString(b, string(e.Kind))
	b = append(b, `,"type":`...)
	b = appendString(b, e.Type)
	b = appendOptString(b, `,"severity":`, e.Severity)
	b = appendOptString(b, `,"decision_id":`, e.DecisionID)
	b = appendOptString(b, `,"revision":`, e.Revision)
	b = appendOptString(b, `,"path":`, e.Path)
	var err error
	if b, err = appendRaw(b, `,"input":`, e.Input, "input"); err != nil {
		return nil, err
	}
	if b, err = appendRaw(b, `,"result":`, e.Result, "result"); err != nil {
		return nil, err
	}
	b = appendOptString(b, `,"outcome":`, e.Outcome)
	if e.Defined {
		b = append(b, `,"defined":true`...)
	}
	if e.LatencyNS != 0 {
		b = append(b, `,"latency_ns":`...)
		b = strconv.AppendInt(b, e.LatencyNS, 10)
	}
	b = appendOptString(b, `,"caller":`, e.Caller)
	b = appendOptString(b, `,"subject":`, e.Subject)
	b = appendOptString(b, `,"message":`, e.Message)
	b = appendOptString(b, `,"error":`, e.Error)
	if len(e.Attrs) > 0 {
		keys := make([]string, 0, len(e.Attrs))
		for k := range e.Attrs {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, `,"attrs":{`...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, e.Attrs[k])
		}
		b = append(b, '}')
	}
	if e.Erased {
		b = append(b, `,"erased":true`...)
	}
	return append(b, '}'), nil
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

func appendOptString(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	b = append(b, key...)
	return appendString(b, s)
}

func appendRaw(b []byte, key string, raw json.RawMessage, field string) ([]byte, error) {
	if len(raw) == 0 {
		return b, nil
	}
	if !json.Valid(raw) {
		return nil, fmt.Errorf("audit: entry %s is not valid JSON", field)
	}
	b = append(b, key...)
	// Strip the insignificant whitespace json.Marshal would have removed
	// only when there is any; the common case (already compact) copies.
	for _, c := range raw {
		if c == ' ' || c == '\n' || c == '\t' || c == '\r' {
			var buf []byte
			buf, _ = compactJSON(raw)
			return append(b, buf...), nil
		}
	}
	return append(b, raw...), nil
}

// compactJSON removes insignificant whitespace, as json.Marshal does to a
// RawMessage.
func compactJSON(raw []byte) ([]byte, error) {
	return json.Marshal(json.RawMessage(raw))
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string the way encoding/json does:
// control characters, quotes and backslashes escaped, <, > and & escaped
// as \u003c etc., invalid UTF-8 replaced by U+FFFD, U+2028/2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
