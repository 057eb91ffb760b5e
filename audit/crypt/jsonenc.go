package crypt

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/belladonna-dev/belladonna/audit"
)

// Encode is on the append path of a log that targets 100k entries/s on two
// cores; reflection-based json.Marshal of the two field groups was most of
// its cost. These appenders write JSON that json.Unmarshal reads into
// metaFields and sealedFields as it would json.Marshal's
// (TestAppendersMatchEncodingJSON, FuzzAppendString, FuzzReaders).

// appendMeta appends metaFields of e as a JSON object.
func appendMeta(dst []byte, e *audit.Entry) ([]byte, error) {
	dst = append(dst, `{"time":"`...)
	var err error
	if dst, err = e.Time.AppendText(dst); err != nil {
		return nil, fmt.Errorf("crypt: encoding entry time: %w", err)
	}
	dst = append(dst, `","kind":`...)
	dst = appendString(dst, string(e.Kind))
	dst = append(dst, `,"type":`...)
	dst = appendString(dst, e.Type)
	dst = appendOptString(dst, `,"severity":`, e.Severity)
	dst = appendOptString(dst, `,"decision_id":`, e.DecisionID)
	dst = appendOptString(dst, `,"revision":`, e.Revision)
	dst = appendOptString(dst, `,"path":`, e.Path)
	dst = appendOptString(dst, `,"outcome":`, e.Outcome)
	if e.Defined {
		dst = append(dst, `,"defined":true`...)
	}
	if e.LatencyNS != 0 {
		dst = append(dst, `,"latency_ns":`...)
		dst = strconv.AppendInt(dst, e.LatencyNS, 10)
	}
	return append(dst, '}'), nil
}

// appendSealed appends sealedFields of e as a JSON object. Input and Result
// are validated and compacted, as json.Marshal does with RawMessage: an
// invalid one would make the sealed entry undecodable forever.
func appendSealed(dst []byte, e *audit.Entry) ([]byte, error) {
	dst = append(dst, '{')
	start := len(dst)
	var err error
	if dst, err = appendOptRaw(dst, start, `"input":`, e.Input); err != nil {
		return nil, fmt.Errorf("crypt: encoding entry input: %w", err)
	}
	if dst, err = appendOptRaw(dst, start, `"result":`, e.Result); err != nil {
		return nil, fmt.Errorf("crypt: encoding entry result: %w", err)
	}
	for _, f := range [...]struct{ key, val string }{
		{`"caller":`, e.Caller}, {`"subject":`, e.Subject}, {`"message":`, e.Message}, {`"error":`, e.Error},
	} {
		if f.val != "" {
			dst = appendComma(dst, start)
			dst = append(dst, f.key...)
			dst = appendString(dst, f.val)
		}
	}
	if len(e.Attrs) > 0 {
		dst = appendComma(dst, start)
		dst = append(dst, `"attrs":{`...)
		first := true
		for k, v := range e.Attrs {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = appendString(dst, k)
			dst = append(dst, ':')
			dst = appendString(dst, v)
		}
		dst = append(dst, '}')
	}
	return append(dst, '}'), nil
}

func appendComma(dst []byte, start int) []byte {
	if len(dst) > start {
		dst = append(dst, ',')
	}
	return dst
}

func appendOptString(dst []byte, key, val string) []byte {
	if val == "" {
		return dst
	}
	dst = append(dst, key...)
	return appendString(dst, val)
}

func appendOptRaw(dst []byte, start int, key string, raw json.RawMessage) ([]byte, error) {
	if len(raw) == 0 {
		return dst, nil
	}
	dst = appendComma(dst, start)
	dst = append(dst, key...)
	return appendCompactJSON(dst, raw)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Like encoding/json it replaces
// invalid UTF-8 with U+FFFD, so the output is always valid JSON; unlike it,
// it does not escape <, > and & (nothing here is embedded in HTML).
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
