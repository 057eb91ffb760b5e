package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// On-disk format of a segment file:
//
//	header: magic "BDAUDIT1" | first index (u64 LE) | chain hash before the first entry [32]
//	record: payload length (u32 LE) | CRC-32C of chain+payload (u32 LE) | chain [32] | payload
//
// The payload is what the Codec produced; the Merkle leaf is RFC 6962
// HashLeaf(payload); chain[i] = SHA-256(chain[i-1] || leaf[i]). The CRC only
// tells a torn or flipped record from a good one quickly; integrity against
// a deliberate rewrite comes from the chain, the tree and signed checkpoints.
const (
	segmentMagic   = "BDAUDIT1"
	headerSize     = 8 + 8 + sha256.Size
	recordOverhead = 4 + 4 + sha256.Size
	// maxPayload bounds one entry, so a corrupted length field cannot make a
	// reader allocate gigabytes.
	maxPayload = 16 << 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// errTorn marks a record cut short by a crash (length past end of file).
var errTorn = errors.New("torn record")

type segmentHeader struct {
	first     uint64
	prevChain [sha256.Size]byte
}

func (h segmentHeader) encode() []byte {
	b := make([]byte, headerSize)
	copy(b, segmentMagic)
	binary.LittleEndian.PutUint64(b[8:], h.first)
	copy(b[16:], h.prevChain[:])
	return b
}

func decodeHeader(b []byte) (segmentHeader, error) {
	if len(b) < headerSize || string(b[:8]) != segmentMagic {
		return segmentHeader{}, fmt.Errorf("not a Belladonna audit segment (bad header)")
	}
	var h segmentHeader
	h.first = binary.LittleEndian.Uint64(b[8:])
	copy(h.prevChain[:], b[16:headerSize])
	return h, nil
}

// continuesChain reports whether the record at the start of next is intact
// and continues the chain hash stored in bad, a record that fails its
// checksum: then bad was written whole before next and damaged since (a
// torn write leaves nothing valid after it that links to it; stale records
// of a reused file link to their own predecessors).
func continuesChain(bad, next []byte) bool {
	if len(bad) < recordOverhead {
		return false
	}
	r, err := parseRecord(next)
	if err != nil {
		return false
	}
	var prev [sha256.Size]byte
	copy(prev[:], bad[8:recordOverhead])
	return chainNext(prev, hasher.HashLeaf(r.payload)) == r.chain
}

// chainNext is chain[i] = SHA-256(chain[i-1] || leaf[i]).
func chainNext(prev [sha256.Size]byte, leaf []byte) [sha256.Size]byte {
	var buf [2 * sha256.Size]byte
	copy(buf[:], prev[:])
	copy(buf[sha256.Size:], leaf)
	return sha256.Sum256(buf[:])
}

// appendRecord frames payload with its chain hash onto dst.
func appendRecord(dst []byte, chain [sha256.Size]byte, payload []byte) []byte {
	var hdr [8]byte
	binary.LittleEndian.PutUint32(hdr[0:], uint32(len(payload)))
	crc := crc32.Update(0, crcTable, chain[:])
	crc = crc32.Update(crc, crcTable, payload)
	binary.LittleEndian.PutUint32(hdr[4:], crc)
	dst = append(dst, hdr[:]...)
	dst = append(dst, chain[:]...)
	return append(dst, payload...)
}

// record is one decoded record; payload aliases the buffer it came from.
type record struct {
	chain   [sha256.Size]byte
	payload []byte
	size    int // bytes on disk, framing included
}

// errChecksum marks a record whose bytes do not match its CRC.
var errChecksum = errors.New("checksum mismatch")

// parseRecord decodes the record at the start of b. errTorn means b ends
// inside the record.
func parseRecord(b []byte) (record, error) {
	if len(b) < recordOverhead {
		return record{}, errTorn
	}
	n := binary.LittleEndian.Uint32(b[0:])
	if n > maxPayload {
		return record{}, fmt.Errorf("record length %d exceeds the %d byte limit: %w", n, maxPayload, errChecksum)
	}
	total := recordOverhead + int(n)
	if len(b) < total {
		return record{}, errTorn
	}
	want := binary.LittleEndian.Uint32(b[4:])
	crc := crc32.Update(0, crcTable, b[8:total])
	if crc != want {
		return record{}, errChecksum
	}
	var r record
	copy(r.chain[:], b[8:8+sha256.Size])
	r.payload = b[recordOverhead:total]
	r.size = total
	return r, nil
}
