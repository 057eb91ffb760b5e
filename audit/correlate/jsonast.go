package correlate

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
)

// maxJSONDepth bounds nesting so that a hostile input cannot exhaust the
// stack; the log stores what callers sent.
const maxJSONDepth = 256

var errJSONDepth = errors.New("json: nested too deeply")

// jsonToValue parses one JSON document straight into an ast.Value: the same
// value ast.ValueFromReader returns (numbers kept as their text, strings and
// small integers interned), without the detour through encoding/json's
// map[string]any, which costs several times more on the hot path. Strings
// with escapes are rare in inputs and are handed to encoding/json.
//
// keys, when not nil, interns object keys across documents: inputs repeat
// a small vocabulary of keys, and a shared term saves an allocation each.
func jsonToValue(data []byte, keys *keyCache) (ast.Value, error) {
	p := jsonParser{data: data, keys: keys}
	p.skipSpace()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.data) {
		return nil, p.errorf("trailing data")
	}
	return v, nil
}

type jsonParser struct {
	data []byte
	pos  int
	keys *keyCache
}

// keyCache holds the terms of object keys seen so far, up to a bound. It is
// not safe for concurrent use; the engine's lock covers it.
type keyCache struct {
	terms map[string]*ast.Term
	max   int
}

func newKeyCache(max int) *keyCache {
	return &keyCache{terms: map[string]*ast.Term{}, max: max}
}

// term returns the shared term for s, adding it while there is room.
func (c *keyCache) term(s string) *ast.Term {
	if c == nil {
		return ast.StringTerm(s)
	}
	if t, ok := c.terms[s]; ok {
		return t
	}
	t := ast.InternedTerm(s)
	if len(c.terms) < c.max {
		c.terms[s] = t
	}
	return t
}

func (p *jsonParser) key() (*ast.Term, error) {
	raw, plain, err := p.strRaw()
	if err != nil {
		return nil, err
	}
	if p.keys != nil && plain {
		if t, ok := p.keys.terms[string(raw)]; ok { // no allocation to look up
			return t, nil
		}
	}
	str, err := p.unquote(raw, plain)
	if err != nil {
		return nil, err
	}
	t := ast.InternedTerm(str)
	if p.keys != nil && plain && len(p.keys.terms) < p.keys.max {
		p.keys.terms[str] = t
	}
	return t, nil
}

func (p *jsonParser) errorf(format string, args ...any) error {
	return fmt.Errorf("json: offset %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (ast.Value, error) {
	if depth > maxJSONDepth {
		return nil, errJSONDepth
	}
	if p.pos >= len(p.data) {
		return nil, p.errorf("unexpected end")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return ast.InternedTerm(s).Value, nil
	case c == 't':
		return p.literal("true", ast.InternedTerm(true).Value)
	case c == 'f':
		return p.literal("false", ast.InternedTerm(false).Value)
	case c == 'n':
		return p.literal("null", ast.InternedNullValue)
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	default:
		return nil, p.errorf("unexpected %q", c)
	}
}

func (p *jsonParser) literal(word string, v ast.Value) (ast.Value, error) {
	if !strings.HasPrefix(string(p.data[p.pos:min(len(p.data), p.pos+len(word))]), word) {
		return nil, p.errorf("invalid literal")
	}
	p.pos += len(word)
	return v, nil
}

func (p *jsonParser) term(depth int) (*ast.Term, error) {
	// Scalars come back as the interned term where there is one.
	if p.pos < len(p.data) && p.data[p.pos] == '"' {
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return ast.InternedTerm(s), nil
	}
	v, err := p.value(depth)
	if err != nil {
		return nil, err
	}
	return ast.NewTerm(v), nil
}

func (p *jsonParser) object(depth int) (ast.Value, error) {
	p.pos++ // {
	p.skipSpace()
	var kvs [][2]*ast.Term
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return ast.NewObject(), nil
	}
	for {
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, p.errorf("want an object key")
		}
		k, err := p.key()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, p.errorf("want ':'")
		}
		p.pos++
		p.skipSpace()
		v, err := p.term(depth + 1)
		if err != nil {
			return nil, err
		}
		kvs = append(kvs, [2]*ast.Term{k, v})
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, p.errorf("unexpected end in object")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
			p.skipSpace()
		case '}':
			p.pos++
			// Duplicate keys: the last one wins, as in encoding/json
			// (ast.NewObject would keep both).
			obj := ast.NewObjectWithCapacity(len(kvs))
			for _, kv := range kvs {
				obj.Insert(kv[0], kv[1])
			}
			return obj, nil
		default:
			return nil, p.errorf("want ',' or '}'")
		}
	}
}

func (p *jsonParser) array(depth int) (ast.Value, error) {
	p.pos++ // [
	p.skipSpace()
	var elems []*ast.Term
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return ast.NewArray(), nil
	}
	for {
		t, err := p.term(depth + 1)
		if err != nil {
			return nil, err
		}
		elems = append(elems, t)
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, p.errorf("unexpected end in array")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
			p.skipSpace()
		case ']':
			p.pos++
			return ast.NewArray(elems...), nil
		default:
			return nil, p.errorf("want ',' or ']'")
		}
	}
}

// str reads a string at p.pos (which is '"').
func (p *jsonParser) str() (string, error) {
	raw, plain, err := p.strRaw()
	if err != nil {
		return "", err
	}
	return p.unquote(raw, plain)
}

// strRaw scans a string at p.pos (which is '"') and returns its bytes
// between the quotes. plain is false when it has escapes or invalid UTF-8,
// which unquote leaves to encoding/json.
func (p *jsonParser) strRaw() (raw []byte, plain bool, err error) {
	start := p.pos
	p.pos++
	plain = true
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			return p.data[start+1 : p.pos-1], plain, nil
		case c == '\\':
			plain = false
			p.pos += 2
		case c < 0x20:
			return nil, false, p.errorf("control character in string")
		case c >= utf8.RuneSelf:
			// encoding/json replaces invalid UTF-8 with U+FFFD; let it.
			r, size := utf8.DecodeRune(p.data[p.pos:])
			if r == utf8.RuneError && size == 1 {
				plain = false
			}
			p.pos += size
		default:
			p.pos++
		}
	}
	return nil, false, p.errorf("unterminated string")
}

func (p *jsonParser) unquote(raw []byte, plain bool) (string, error) {
	if plain {
		return string(raw), nil
	}
	quoted := make([]byte, 0, len(raw)+2)
	quoted = append(append(append(quoted, '"'), raw...), '"')
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return "", p.errorf("invalid string: %v", err)
	}
	return s, nil
}

func (p *jsonParser) number() (ast.Value, error) {
	start := p.pos
	if p.data[p.pos] == '-' {
		p.pos++
	}
	digits := func() int {
		n := 0
		for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	intStart := p.pos
	if n := digits(); n == 0 || (n > 1 && p.data[intStart] == '0') {
		return nil, p.errorf("invalid number")
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return nil, p.errorf("invalid number")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return nil, p.errorf("invalid number")
		}
	}
	text := string(p.data[start:p.pos])
	if t := ast.InternedIntNumberTermFromString(text); t != nil {
		return t.Value, nil
	}
	return ast.Number(text), nil
}
