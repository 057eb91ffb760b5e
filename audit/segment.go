package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// sparseEvery is how many records apart the in-memory offset index samples a
// segment: reading entry i scans at most this many records.
const sparseEvery = 64

// segment is one file of consecutive records.
type segment struct {
	first      uint64
	path       string
	compressed bool

	mu      sync.Mutex
	count   uint64  // records, known once scanned (always for the active one)
	scanned bool    // count and offsets are complete
	offsets []int64 // offsets[k] = file offset of record first+k*sparseEvery
	zidx    *zIndex // frame index of a compressed segment
	// sealed: closed for writing and every record in it committed; only
	// sealed segments may be removed by retention.
	sealed bool
}

func segmentName(first uint64) string { return fmt.Sprintf("seg-%020d.log", first) }

// listSegments returns the segments in dir ordered by first index.
func listSegments(dir string) ([]*segment, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("audit: listing %s: %w", dir, err)
	}
	var out []*segment
	for _, de := range des {
		name := de.Name()
		if !strings.HasPrefix(name, "seg-") {
			continue
		}
		base, compressed := strings.CutSuffix(name, ".log.zst")
		if !compressed {
			var ok bool
			if base, ok = strings.CutSuffix(name, ".log"); !ok {
				continue
			}
		}
		first, err := strconv.ParseUint(strings.TrimPrefix(base, "seg-"), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("audit: segment file %s: bad name", name)
		}
		if n := len(out); n > 0 && out[n-1].first == first {
			// Both forms exist: a compression was interrupted; the plain file
			// is complete and authoritative, the .zst may be partial. Unless
			// the plain file's header is not its own: then it was being
			// written over as a spare, and the .zst is the complete one.
			plain := filepath.Join(dir, base+".log")
			if headerFirst(plain) == first {
				out[n-1] = &segment{first: first, path: plain}
			} else {
				out[n-1] = &segment{first: first, path: plain + ".zst", compressed: true}
			}
			continue
		}
		out = append(out, &segment{first: first, path: filepath.Join(dir, name), compressed: compressed})
	}
	slices.SortFunc(out, func(a, b *segment) int {
		switch {
		case a.first < b.first:
			return -1
		case a.first > b.first:
			return 1
		}
		return 0
	})
	return out, nil
}

// headerFirst is the first index a plain segment file's header names, or
// MaxUint64 when it cannot be read.
func headerFirst(path string) uint64 {
	f, err := os.Open(path)
	if err != nil {
		return math.MaxUint64
	}
	defer f.Close()
	b := make([]byte, headerSize)
	if _, err := io.ReadFull(f, b); err != nil {
		return math.MaxUint64
	}
	h, err := decodeHeader(b)
	if err != nil {
		return math.MaxUint64
	}
	return h.first
}

// content returns the segment's bytes (decompressed when needed).
func (s *segment) content() ([]byte, error) {
	f, path, compressed, err := openSegmentFile(s)
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("audit: reading segment %s: %w", filepath.Base(path), err)
	}
	if !compressed {
		return raw, nil
	}
	dec, err := sharedDecoder()
	if err != nil {
		return nil, err
	}
	out, err := dec.DecodeAll(raw, nil)
	if err != nil {
		return nil, fmt.Errorf("audit: decompressing segment %s: %w", filepath.Base(path), err)
	}
	return out, nil
}

// location is where the segment's bytes are now; compression moves them.
func (s *segment) location() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.path, s.compressed
}

// openStream returns a sequential reader over the segment's bytes.
func (s *segment) openStream() (io.ReadCloser, error) {
	f, _, compressed, err := openSegmentFile(s)
	if err != nil {
		return nil, err
	}
	if !compressed {
		return f, nil
	}
	dec, err := zstd.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{dec, closerFunc(func() error { dec.Close(); return f.Close() })}, nil
}

type closerFunc func() error

func (c closerFunc) Close() error { return c() }

// scanResult describes a segment's valid prefix.
type scanResult struct {
	header    segmentHeader
	count     uint64
	end       int64 // offset just past the last valid record
	lastChain [sha256.Size]byte
	offsets   []int64
	// torn is set when the valid records end before the file does: the
	// file ends inside a record, or (without link) in a record whose
	// checksum fails and nothing follows it, or (with link) at the first
	// record that fails its checksum or the chain; breakErr says which.
	torn     bool
	breakErr error
	// corruptAt is the index of a bad record followed by more data: damage,
	// not a crash, and never truncated away silently.
	corrupt      bool
	corruptIndex uint64
	corruptErr   error
}

// scanBytes walks the records of a whole segment held in b. With link it
// also checks that each record continues the hash chain, and ends the valid
// prefix at the first record that does not or that fails its checksum,
// whatever follows: that is how the segment being written is read, where a
// reused file holds stale records past the end (segfile.go). The caller
// tells a crash from damage by what the tree and checkpoints already hold.
func scanBytes(b []byte, link bool) (scanResult, error) {
	var res scanResult
	h, err := decodeHeader(b)
	if err != nil {
		return res, err
	}
	res.header, res.lastChain, res.end = h, h.prevChain, headerSize
	off := int64(headerSize)
	var lh *leafHasher
	var leaf []byte
	if link {
		lh = newLeafHasher()
	}
	for off < int64(len(b)) {
		r, err := parseRecord(b[off:])
		switch {
		case errors.Is(err, errTorn):
			res.torn = true
			return res, nil
		case err != nil && link:
			if n := off + recordOverhead + int64(lenField(b[off:])); n < int64(len(b)) && continuesChain(b[off:], b[n:]) {
				// The next record continues this one's chain: it was
				// written, in order, and then damaged; not a torn write.
				res.corrupt, res.corruptIndex, res.corruptErr = true, h.first+res.count, err
				return res, nil
			}
			res.torn, res.breakErr = true, err
			return res, nil
		case err != nil:
			// A bad checksum on the very last record is a torn write whose
			// length field landed; anything after it means real damage.
			if off+recordOverhead+int64(lenField(b[off:])) >= int64(len(b)) {
				res.torn = true
				return res, nil
			}
			res.corrupt, res.corruptIndex, res.corruptErr = true, h.first+res.count, err
			return res, nil
		}
		if link {
			leaf = lh.sum(leaf[:0], r.payload)
			if chainNext(res.lastChain, leaf) != r.chain {
				res.torn, res.breakErr = true, errUnlinked
				return res, nil
			}
		}
		if res.count%sparseEvery == 0 {
			res.offsets = append(res.offsets, off)
		}
		res.count++
		res.lastChain = r.chain
		off += int64(r.size)
		res.end = off
	}
	return res, nil
}

// errUnlinked: a record with a good checksum that does not continue the
// hash chain (stale bytes of a reused file, or an entry moved or rewritten).
var errUnlinked = errors.New("record does not continue the hash chain")

func lenField(b []byte) uint32 {
	if len(b) < 4 {
		return 0
	}
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// ensureScanned fills count and offsets for a closed segment.
func (s *segment) ensureScanned() error {
	s.mu.Lock()
	scanned := s.scanned
	s.mu.Unlock()
	if scanned {
		return nil
	}
	path, compressed := s.location()
	if compressed {
		if x, ok, err := readZIndex(path); err != nil {
			return err
		} else if ok {
			s.mu.Lock()
			s.count, s.offsets, s.zidx, s.scanned = x.count, x.plain, &x, true
			s.mu.Unlock()
			return nil
		}
	}
	// Scanned outside the lock (content takes it); two first readers may
	// both scan, with the same result.
	b, err := s.content()
	if err != nil {
		return err
	}
	res, err := scanBytes(b, false)
	if err != nil {
		return fmt.Errorf("audit: segment %s: %w", filepath.Base(s.path), err)
	}
	if res.corrupt || res.torn {
		return fmt.Errorf("audit: segment %s: damaged at index %d (run belladonna audit verify)", filepath.Base(s.path), res.header.first+res.count)
	}
	s.mu.Lock()
	s.count, s.offsets, s.scanned = res.count, res.offsets, true
	s.mu.Unlock()
	return nil
}

// readRange returns payload copies of records [from, from+max) within s.
func (s *segment) readRange(from uint64, max int) ([][]byte, error) {
	if err := s.ensureScanned(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	count, offsets, zidx := s.count, s.offsets, s.zidx
	s.mu.Unlock()
	if from < s.first || from >= s.first+count {
		return nil, nil
	}
	rel := from - s.first
	start := offsets[rel/sparseEvery]
	skip := rel % sparseEvery
	n := min(uint64(max), count-rel)

	path, compressed := s.location()
	var src io.Reader
	switch {
	case compressed && zidx != nil:
		// Decompress only the frames holding the records asked for.
		g := int(rel / sparseEvery)
		groups := int((skip + n + sparseEvery - 1) / sparseEvery)
		groups = min(groups, len(zidx.compressed)-g)
		b, err := readFrames(path, *zidx, g, groups)
		if err != nil {
			return nil, err
		}
		src = bytes.NewReader(b)
	case compressed:
		b, err := s.content()
		if err != nil {
			return nil, err
		}
		src = bytes.NewReader(b[start:])
	default:
		f, _, nowCompressed, err := openSegmentFile(s)
		if err != nil {
			return nil, err
		}
		if nowCompressed {
			// Compressed since location(): read the new form.
			f.Close()
			return s.readRange(from, max)
		}
		defer f.Close()
		src = io.NewSectionReader(f, start, 1<<62)
	}
	br := bufio.NewReaderSize(src, 256<<10)
	out := make([][]byte, 0, n)
	var buf []byte
	for i := uint64(0); i < skip+n; i++ {
		r, err := readRecord(br, &buf)
		if err != nil {
			return nil, fmt.Errorf("audit: segment %s: record %d: %w", filepath.Base(path), from-skip+i, err)
		}
		if i >= skip {
			out = append(out, slices.Clone(r.payload))
		}
	}
	return out, nil
}

// readRecord reads the next record from br into *buf (reused across calls);
// the returned payload aliases *buf. io.EOF means a clean end.
func readRecord(br *bufio.Reader, buf *[]byte) (record, error) {
	hdr, err := br.Peek(4)
	if err != nil {
		if errors.Is(err, io.EOF) && len(hdr) == 0 {
			return record{}, io.EOF
		}
		return record{}, errTorn
	}
	n := lenField(hdr)
	if n > maxPayload {
		return record{}, fmt.Errorf("record length %d exceeds the %d byte limit: %w", n, maxPayload, errChecksum)
	}
	total := recordOverhead + int(n)
	if cap(*buf) < total {
		*buf = make([]byte, total)
	}
	b := (*buf)[:total]
	*buf = b // a record that fails its checksum stays there for the caller
	if _, err := io.ReadFull(br, b); err != nil {
		return record{}, errTorn
	}
	return parseRecord(b)
}
