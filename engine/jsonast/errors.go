package jsonast

import (
	"strconv"
)

// SyntaxError reports why and where Parse rejected its input. Range errors
// (a number OPA refuses to evaluate) are reported the same way so callers
// need only one error type.
type SyntaxError struct {
	Offset int    // byte offset into the input where the problem was found
	Msg    string // what was wrong, in encoding/json's wording where it has one
}

func (e *SyntaxError) Error() string {
	return "jsonast: offset " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

// Kept out of line: error paths are cold and the string building would
// otherwise count against the inlining budget of the hot parse functions.
//
//go:noinline
func errAt(off int, msg string) error {
	return &SyntaxError{Offset: off, Msg: msg}
}

//go:noinline
func errChar(off int, c byte, context string) error {
	return &SyntaxError{Offset: off, Msg: "invalid character " + quoteByte(c) + " " + context}
}

//go:noinline
func errEOF(off int) error {
	return &SyntaxError{Offset: off, Msg: "unexpected end of JSON input"}
}

// quoteByte renders an offending byte readably; bytes >= 0x80 are shown as
// \x escapes because on their own they are not characters.
func quoteByte(c byte) string {
	if c >= 0x80 {
		const hex = "0123456789abcdef"
		return `'\x` + string(hex[c>>4]) + string(hex[c&0xf]) + `'`
	}
	return strconv.QuoteRune(rune(c))
}
