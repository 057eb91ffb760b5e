// Package jsonast decodes JSON straight into OPA ast.Values.
//
// The result is the same value OPA builds from util.UnmarshalJSON followed by
// ast.InterfaceToValue (numbers keep their exact text, duplicate object keys
// keep the last value, invalid UTF-8 in strings becomes U+FFFD), without the
// intermediate map[string]any / []any / json.Number tree.
//
// One deliberate difference: util.UnmarshalJSON accepts a document followed
// by the literal null and anything after it ("{} null garbage"), because it
// checks for trailing data with a single Decoder.Token call and null decodes
// to a nil token. Parse rejects all trailing non-whitespace.
package jsonast

import (
	"strconv"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// MaxDepth is the deepest nesting of arrays and objects Parse accepts; it is
// encoding/json's limit, so both reject the same documents.
const MaxDepth = 10000

var maxDepthMsg = "exceeded max depth (" + strconv.Itoa(MaxDepth) + ")"

// Parse decodes one JSON document (RFC 8259) straight into an OPA ast.Value,
// with no interface{} round trip.
//
// Surrounding whitespace is allowed; anything else after the value is an
// error. Errors are *SyntaxError values naming the byte offset.
//
// The result never aliases b. Strings and number texts without escapes share
// copies of the input made in windows of up to 32 KiB, so keeping any one of
// them alive keeps its window alive.
func Parse(b []byte) (ast.Value, error) {
	p := parserPool.Get().(*parser)
	p.data = b
	p.pos = 0
	p.depth = 0

	v, err := p.document()

	p.release()
	return v, err
}

// parser holds the input and scratch space reused across Parse calls (via
// parserPool) so that only the result itself is allocated.
type parser struct {
	data  []byte
	pos   int
	depth int

	// vals is a stack of the values of all open containers: array elements,
	// and for objects alternating key (ast.String) and value. A container's
	// terms are allocated once, at exactly the right size, when it closes.
	vals []ast.Value
	// tuples is scratch for ast.NewObject, which copies what it is given.
	tuples [][2]*ast.Term
	// buf is scratch for strings that need unescaping.
	buf []byte
	// seen detects duplicate keys in large objects; nil until needed.
	seen map[string]int

	// win holds a copy of data[winStart:], or part of it; see sub. It is
	// part of the result, so it is never reused across calls.
	win      string
	winStart int
}

var parserPool = sync.Pool{New: func() any { return new(parser) }}

// Scratch larger than this is dropped rather than pooled, so that one huge
// document does not pin memory for the life of the process.
const maxPooledScratch = 1 << 12

func (p *parser) release() {
	p.data = nil
	p.win = ""
	p.winStart = 0
	// Containers clear their part of the scratch stacks as they close, so
	// only an error can leave values behind; drop them so the pool does not
	// keep results alive.
	clear(p.vals)
	p.vals = p.vals[:0]
	if cap(p.vals) > maxPooledScratch {
		p.vals = nil
	}
	if cap(p.tuples) > maxPooledScratch {
		p.tuples = nil
	}
	if cap(p.buf) > maxPooledScratch {
		p.buf = nil
	}
	parserPool.Put(p)
}

func (p *parser) document() (ast.Value, error) {
	p.skipSpace()
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(p.data) {
		return nil, errChar(p.pos, p.data[p.pos], "after top-level value")
	}
	return v, nil
}

// skipSpace skips JSON's four whitespace bytes, and nothing else.
func (p *parser) skipSpace() {
	for p.pos < len(p.data) {
		// Every token byte is above ' ', so one compare settles the common
		// case of no whitespace at all.
		if c := p.data[p.pos]; c > ' ' || (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			return
		}
		p.pos++
	}
}

func (p *parser) value() (ast.Value, error) {
	if p.pos >= len(p.data) {
		return nil, errEOF(p.pos)
	}
	switch c := p.data[p.pos]; c {
	case '"':
		return p.stringValue()
	case '{':
		return p.object()
	case '[':
		return p.array()
	case 't':
		return p.literal("true", ast.InternedBooleanTrueValue)
	case 'f':
		return p.literal("false", ast.InternedBooleanFalseValue)
	case 'n':
		return p.literal("null", ast.InternedNullValue)
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return p.number()
		}
		return nil, errChar(p.pos, c, "looking for beginning of value")
	}
}

// literal matches true, false or null. The shared interned values are safe
// to hand out because these value types are immutable.
func (p *parser) literal(word string, v ast.Value) (ast.Value, error) {
	d := p.data[p.pos:]
	if len(d) >= len(word) && string(d[:len(word)]) == word {
		p.pos += len(word)
		return v, nil
	}
	for i := 1; i < len(word); i++ {
		if i >= len(d) {
			return nil, errEOF(p.pos + i)
		}
		if d[i] != word[i] {
			return nil, errChar(p.pos+i, d[i], "in literal "+word+" (expecting "+quoteByte(word[i])+")")
		}
	}
	panic("unreachable")
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxDepth {
		return errAt(p.pos, maxDepthMsg)
	}
	return nil
}

func (p *parser) array() (ast.Value, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.pos++ // '['
	start := len(p.vals)
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		p.depth--
		return ast.NewArray(), nil
	}
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		p.vals = append(p.vals, v)
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, errEOF(p.pos)
		}
		c := p.data[p.pos]
		p.pos++
		if c == ',' {
			p.skipSpace()
			continue
		}
		if c == ']' {
			break
		}
		return nil, errChar(p.pos-1, c, "after array element")
	}
	p.depth--

	// Same shape as ast.InterfaceToValue builds: one backing array of Terms
	// plus the pointer slice that ast.NewArray keeps.
	elems := p.vals[start:]
	terms := make([]ast.Term, len(elems))
	ptrs := make([]*ast.Term, len(elems))
	for i, v := range elems {
		terms[i].Value = v
		ptrs[i] = &terms[i]
	}
	clear(elems)
	p.vals = p.vals[:start]
	return ast.NewArray(ptrs...), nil
}

func (p *parser) object() (ast.Value, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.pos++ // '{'
	start := len(p.vals)
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		p.depth--
		return ast.NewObject(), nil
	}
	for {
		if p.pos >= len(p.data) {
			return nil, errEOF(p.pos)
		}
		if c := p.data[p.pos]; c != '"' {
			return nil, errChar(p.pos, c, "looking for beginning of object key string")
		}
		k, err := p.stringValue()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, errEOF(p.pos)
		}
		if c := p.data[p.pos]; c != ':' {
			return nil, errChar(p.pos, c, "after object key")
		}
		p.pos++
		p.skipSpace()
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		p.vals = append(p.vals, k, v)
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, errEOF(p.pos)
		}
		c := p.data[p.pos]
		p.pos++
		if c == ',' {
			p.skipSpace()
			continue
		}
		if c == '}' {
			break
		}
		return nil, errChar(p.pos-1, c, "after object key:value pair")
	}
	p.depth--

	kvs := p.dedupe(p.vals[start:])
	terms := make([]ast.Term, len(kvs))
	tuples := p.tuples[:0]
	for i := 0; i < len(kvs); i += 2 {
		terms[i].Value = kvs[i]
		terms[i+1].Value = kvs[i+1]
		tuples = append(tuples, [2]*ast.Term{&terms[i], &terms[i+1]})
	}
	obj := ast.NewObject(tuples...)
	clear(tuples)
	p.tuples = tuples[:0]
	clear(p.vals[start:])
	p.vals = p.vals[:start]
	return obj, nil
}

// Objects up to this many keys are checked for duplicates by comparing with
// earlier keys, larger ones through a map.
const linearDedupeMax = 32

// dedupe removes repeated keys from kvs (alternating key, value), keeping the
// first position and the last value, as decoding into a Go map does. It
// returns the compacted slice. ast.NewObject assumes distinct keys, so this
// must run before it.
func (p *parser) dedupe(kvs []ast.Value) []ast.Value {
	n := len(kvs) / 2
	if n < 2 {
		return kvs
	}
	if n <= linearDedupeMax {
		// A 64-bit filter on cheap key features lets the common case, all
		// keys distinct, skip string comparisons entirely.
		var filter uint64
		dup := false
		for i := 0; i < len(kvs); i += 2 {
			bit := keyBit(string(kvs[i].(ast.String)))
			if filter&bit != 0 {
				dup = true
				break
			}
			filter |= bit
		}
		if !dup {
			return kvs
		}
		w := 0
	next:
		for r := 0; r < len(kvs); r += 2 {
			k := kvs[r].(ast.String)
			for j := 0; j < w; j += 2 {
				if kvs[j].(ast.String) == k {
					kvs[j+1] = kvs[r+1]
					continue next
				}
			}
			// Move the interface values, not k: re-boxing k would allocate.
			kvs[w], kvs[w+1] = kvs[r], kvs[r+1]
			w += 2
		}
		clear(kvs[w:])
		return kvs[:w]
	}

	if p.seen == nil {
		p.seen = make(map[string]int, n)
	}
	w := 0
	for r := 0; r < len(kvs); r += 2 {
		k := string(kvs[r].(ast.String))
		if j, ok := p.seen[k]; ok {
			kvs[j+1] = kvs[r+1]
			continue
		}
		p.seen[k] = w
		kvs[w], kvs[w+1] = kvs[r], kvs[r+1]
		w += 2
	}
	if n > maxPooledScratch {
		p.seen = nil // too big to keep around
	} else {
		clear(p.seen)
	}
	clear(kvs[w:])
	return kvs[:w]
}

// keyBit picks one of 64 filter bits from a key's length and its first and
// last bytes, which is enough to tell typical distinct keys apart.
func keyBit(k string) uint64 {
	h := uint32(len(k))
	if len(k) > 0 {
		h = (h<<8|uint32(k[0]))<<8 | uint32(k[len(k)-1])
	}
	h *= 0x9E3779B1 // Fibonacci hashing: the top bits mix all inputs
	return 1 << (h >> 26)
}

func (p *parser) number() (ast.Value, error) {
	d := p.data
	start := p.pos
	i := start
	if d[i] == '-' {
		i++
		if i >= len(d) {
			return nil, errEOF(i)
		}
	}
	// Small non-negative integers (and -1) are interned by OPA; spot them
	// while scanning so they cost no allocation.
	small := 0
	switch c := d[i]; {
	case c == '0':
		i++
	case c >= '1' && c <= '9':
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			if small <= 512 {
				small = small*10 + int(d[i]-'0')
			}
			i++
		}
	default:
		return nil, errChar(i, c, "in numeric literal")
	}
	plain := true
	if i < len(d) && d[i] == '.' {
		plain = false
		i++
		if i >= len(d) {
			return nil, errEOF(i)
		}
		if c := d[i]; c < '0' || c > '9' {
			return nil, errChar(i, c, "after decimal point in numeric literal")
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		plain = false
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) {
			return nil, errEOF(i)
		}
		if c := d[i]; c < '0' || c > '9' {
			return nil, errChar(i, c, "in exponent of numeric literal")
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	p.pos = i

	if plain {
		if d[start] != '-' {
			if small <= 512 {
				return ast.InternedTerm(small).Value, nil
			}
		} else if i-start == 2 && d[start+1] == '1' {
			return ast.InternedTerm(-1).Value, nil
		}
	}
	// NumberChecked is what InterfaceToValue applies to json.Number: it
	// refuses exponents too large to evaluate.
	n, err := ast.NumberChecked(p.sub(start, i))
	if err != nil {
		return nil, errAt(start, err.Error())
	}
	return n, nil
}
