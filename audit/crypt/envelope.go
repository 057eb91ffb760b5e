package crypt

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
)

// envelopeVersion is the payload format version ("v").
const envelopeVersion = 1

// envelope is one stored payload. Its canonical form is one JSON object with
// the members in this order (skid and sct only for entries with a subject):
//
//	{"v":1,"kid":"k2-9a8b7c6d","salt":"<b64 16 bytes>","skid":"s<32 hex>",
//	 "ct":"<b64 nonce|ciphertext|tag>","sct":"<b64 nonce|ciphertext|tag>","meta":{...}}
//
// meta is plain JSON (see metaFields) so that it stays queryable without
// keys and after erasure. It comes last so the parser can take it whole
// without a JSON scanner; it is checked by the AEAD, not by parsing.
//
// Only the canonical form is accepted: no whitespace, no reordering, no
// extra members. The bytes are what the Merkle leaf commits to, so there is
// exactly one way to write a given envelope.
type envelope struct {
	kid  string
	salt [saltSize]byte
	skid string
	ct   []byte
	sct  []byte
	meta []byte
}

var (
	b64       = base64.StdEncoding
	b64Strict = base64.StdEncoding.Strict()
)

// appendTo appends the canonical form. kid and skid are validated ids (no
// characters JSON would escape); base64 has none either.
func (env *envelope) appendTo(dst []byte) []byte {
	dst = append(dst, `{"v":1,"kid":"`...)
	dst = append(dst, env.kid...)
	dst = append(dst, `","salt":"`...)
	dst = b64.AppendEncode(dst, env.salt[:])
	if env.skid != "" {
		dst = append(dst, `","skid":"`...)
		dst = append(dst, env.skid...)
	}
	dst = append(dst, `","ct":"`...)
	dst = b64.AppendEncode(dst, env.ct)
	if env.skid != "" {
		dst = append(dst, `","sct":"`...)
		dst = b64.AppendEncode(dst, env.sct)
	}
	dst = append(dst, `","meta":`...)
	dst = append(dst, env.meta...)
	return append(dst, '}')
}

// size is the length appendTo will produce, for one allocation.
func (env *envelope) size() int {
	return 64 + len(env.kid) + len(env.skid) + b64.EncodedLen(saltSize) +
		b64.EncodedLen(len(env.ct)) + b64.EncodedLen(len(env.sct)) + len(env.meta)
}

// parseEnvelope parses the canonical form. It checks framing only; nothing
// in it is trusted until the AEAD has opened ct. Every failure wraps
// ErrMalformed or ErrUnsupportedVersion.
func parseEnvelope(p []byte) (envelope, error) {
	var env envelope
	r := p
	if !bytes.HasPrefix(r, []byte(`{"v":`)) {
		return env, fmt.Errorf("%w: not an encrypted audit payload", ErrMalformed)
	}
	r = r[len(`{"v":`):]
	n := bytes.IndexByte(r, ',')
	if n < 0 {
		return env, fmt.Errorf("%w: no version", ErrMalformed)
	}
	if string(r[:n]) != strconv.Itoa(envelopeVersion) {
		if v, err := strconv.Atoi(string(r[:n])); err == nil && v > envelopeVersion {
			return env, fmt.Errorf("%w: envelope version %d", ErrUnsupportedVersion, v)
		}
		return env, fmt.Errorf("%w: version", ErrMalformed)
	}
	r = r[n:]

	var kid, salt, ct []byte
	var ok bool
	if kid, r, ok = member(r, `,"kid":"`); !ok || !validKeyID(string(kid)) {
		return env, fmt.Errorf("%w: kid", ErrMalformed)
	}
	env.kid = string(kid)
	if salt, r, ok = member(r, `","salt":"`); !ok {
		return env, fmt.Errorf("%w: salt", ErrMalformed)
	}
	if s, err := decodeB64(salt); err != nil || len(s) != saltSize {
		return env, fmt.Errorf("%w: salt", ErrMalformed)
	} else {
		copy(env.salt[:], s)
	}
	if skid, rest, ok := member(r, `","skid":"`); ok {
		if !validSubjectKeyID(string(skid)) {
			return env, fmt.Errorf("%w: skid", ErrMalformed)
		}
		env.skid, r = string(skid), rest
	}
	if ct, r, ok = member(r, `","ct":"`); !ok {
		return env, fmt.Errorf("%w: ct", ErrMalformed)
	}
	var err error
	if env.ct, err = decodeB64(ct); err != nil {
		return env, fmt.Errorf("%w: ct", ErrMalformed)
	}
	if env.skid != "" {
		var sct []byte
		if sct, r, ok = member(r, `","sct":"`); !ok {
			return env, fmt.Errorf("%w: sct", ErrMalformed)
		}
		if env.sct, err = decodeB64(sct); err != nil {
			return env, fmt.Errorf("%w: sct", ErrMalformed)
		}
	}
	const metaKey = `","meta":{`
	if !bytes.HasPrefix(r, []byte(metaKey)) || r[len(r)-1] != '}' || len(r) < len(metaKey)+2 {
		return env, fmt.Errorf("%w: meta", ErrMalformed)
	}
	env.meta = r[len(metaKey)-1 : len(r)-1]
	return env, nil
}

// member expects prefix at the start of r and returns the string value up to
// the next quote and the rest of r from that quote on.
func member(r []byte, prefix string) (val, rest []byte, ok bool) {
	if !bytes.HasPrefix(r, []byte(prefix)) {
		return nil, r, false
	}
	r = r[len(prefix):]
	end := bytes.IndexByte(r, '"')
	if end < 0 {
		return nil, r, false
	}
	return r[:end], r[end:], true
}

// decodeB64 decodes strict standard base64. encoding/base64 skips CR and LF
// even in strict mode; rejecting them keeps one encoding per value.
func decodeB64(s []byte) ([]byte, error) {
	if bytes.ContainsAny(s, "\r\n") {
		return nil, base64.CorruptInputError(bytes.IndexAny(s, "\r\n"))
	}
	return b64Strict.AppendDecode(nil, s)
}

// validSubjectKeyID accepts "s" followed by 32 lowercase hex digits. Subject
// key ids become file names, so this check is what keeps a crafted payload
// from naming a path outside the store.
func validSubjectKeyID(id string) bool {
	if len(id) != 33 || id[0] != 's' {
		return false
	}
	for i := 1; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
