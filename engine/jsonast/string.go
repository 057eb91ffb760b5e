package jsonast

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
)

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// stringValue decodes the string starting at the opening quote at p.pos.
func (p *parser) stringValue() (ast.Value, error) {
	d := p.data
	start := p.pos + 1
	i := start
	var high uint64 // any byte >= 0x80 seen: the span needs a UTF-8 check

	// Eight bytes at a time: stop at the first '"', '\\' or control byte.
	for i+8 <= len(d) {
		x := binary.LittleEndian.Uint64(d[i:])
		high |= x
		q := x ^ ('"' * lsb)
		bs := x ^ ('\\' * lsb)
		// Per byte: high bit set in the result iff the byte is zero (q, bs)
		// or below 0x20 (x); bytes >= 0x80 are masked out by &^x, which is
		// fine because none of the stop bytes has the high bit set.
		stop := ((q - lsb) &^ q) | ((bs - lsb) &^ bs) | ((x - 0x20*lsb) &^ x)
		stop &= msb
		if stop != 0 {
			i += bits.TrailingZeros64(stop) >> 3
			goto found
		}
		i += 8
	}
	for ; i < len(d); i++ {
		c := d[i]
		if c == '"' || c == '\\' || c < 0x20 {
			goto found
		}
		high |= uint64(c) << 56 // lands on an msb bit
	}
	return nil, errEOF(len(d))

found:
	// high may include bytes after the stop byte (the whole word was
	// folded in); utf8.Valid is cheap on ASCII, so no need to be exact.
	valid := high&msb == 0 || utf8.Valid(d[start:i])
	if d[i] == '"' && valid {
		p.pos = i + 1
		if i == start {
			return ast.InternedEmptyStringValue, nil // no need for a window
		}
		return stringOf(p.sub(start, i)), nil
	}
	if d[i] < 0x20 {
		return nil, errChar(i, d[i], "in string literal")
	}
	// Escapes or invalid UTF-8: rebuild in scratch. The prefix before i is
	// escape-free, and can be copied as is when it is also valid UTF-8.
	from := start
	buf := p.buf[:0]
	if valid {
		buf = append(buf, d[start:i]...)
		from = i
	}
	buf, end, err := unquoteSlow(d, from, buf)
	p.buf = buf[:0]
	if err != nil {
		return nil, err
	}
	p.pos = end
	return stringOf(string(buf)), nil
}

// The longest string worth looking up among OPA's interned strings; all of
// those are short keys and words, and a miss only costs sharing, not
// correctness.
const maxInternedLen = 32

// stringOf returns s as a Value; OPA's interned strings (common keys such as
// "method" or "path") come back shared and without allocating, just as
// ast.InterfaceToValue returns them.
func stringOf(s string) ast.Value {
	if len(s) == 0 {
		return ast.InternedEmptyStringValue
	}
	if len(s) <= maxInternedLen {
		return ast.InternedValue(s)
	}
	return ast.String(s)
}

// Escape-free strings and number texts are substrings of a window: one
// string conversion of the input that they all share, instead of one
// allocation each. The window is bounded so that a small string kept from a
// large document pins at most windowSize bytes.
const windowSize = 32 << 10

// sub returns p.data[i:j] as a string that does not alias p.data.
func (p *parser) sub(i, j int) string {
	if i < p.winStart || j > p.winStart+len(p.win) {
		if j-i > windowSize/2 {
			return string(p.data[i:j])
		}
		p.win = string(p.data[i:min(len(p.data), i+windowSize)])
		p.winStart = i
	}
	return p.win[i-p.winStart : j-p.winStart]
}

// unquoteSlow decodes the rest of a string from d[i:] into buf, applying the
// same repairs as encoding/json: invalid UTF-8 bytes and unpaired surrogate
// escapes each become U+FFFD. It returns the offset after the closing quote.
func unquoteSlow(d []byte, i int, buf []byte) ([]byte, int, error) {
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			return buf, i + 1, nil
		case c == '\\':
			if i+1 >= len(d) {
				return buf, 0, errEOF(len(d))
			}
			e := d[i+1]
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, err := hex4(d, i+2)
				if err != nil {
					return buf, 0, err
				}
				i += 6
				if utf16.IsSurrogate(r) {
					// Only a directly following \uXXXX can complete the pair;
					// otherwise this half alone becomes U+FFFD and whatever
					// follows is decoded on its own.
					if i+1 < len(d) && d[i] == '\\' && d[i+1] == 'u' {
						if r2, err := hex4(d, i+2); err == nil {
							if pr := utf16.DecodeRune(r, r2); pr != utf8.RuneError {
								buf = utf8.AppendRune(buf, pr)
								i += 6
								continue
							}
						}
					}
					r = utf8.RuneError
				}
				buf = utf8.AppendRune(buf, r)
				continue
			default:
				return buf, 0, errChar(i+1, e, "in string escape code")
			}
			i += 2
		case c < 0x20:
			return buf, 0, errChar(i, c, "in string literal")
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			i++
		default:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size == 1 {
				buf = append(buf, "\uFFFD"...)
			} else {
				buf = append(buf, d[i:i+size]...)
			}
			i += size
		}
	}
	return buf, 0, errEOF(len(d))
}

// hex4 reads the four hex digits of a \u escape starting at d[i].
func hex4(d []byte, i int) (rune, error) {
	var r rune
	for j := i; j < i+4; j++ {
		if j >= len(d) {
			return 0, errEOF(len(d))
		}
		c := d[j]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, errChar(j, c, `in \u hexadecimal character escape`)
		}
		r = r<<4 | rune(c)
	}
	return r, nil
}
