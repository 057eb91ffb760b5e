package audit

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
)

// Closed segments are compressed as a sequence of independent zstd frames:
// frame 0 holds the segment header, then one frame per sparseEvery records.
// A trailing zstd skippable frame indexes them (compressed and uncompressed
// offset of every record group, the record count, and a magic), so a reader
// decompresses one small frame to reach any entry, while `zstd -d` still
// restores the plain segment byte for byte.
const (
	zIndexMagic     = "BDZIDX01"
	skippableMagic  = 0x184D2A5B
	zIndexFooterLen = 16 // record count + magic
)

type zIndex struct {
	count      uint64
	compressed []int64 // per record group: offset of its frame in the .zst file
	plain      []int64 // per record group: offset of its first record in the plain segment
	end        int64   // where the index frame starts (end of data frames)
}

// writeCompressed streams the plain segment at src into w as indexed frames.
func writeCompressed(src string, w io.Writer) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	br := bufio.NewReaderSize(in, 1<<20)
	enc, err := sharedEncoder()
	if err != nil {
		return err
	}
	var zoff int64
	write := func(b []byte) error {
		n, err := w.Write(b)
		zoff += int64(n)
		return err
	}
	hdr := make([]byte, headerSize)
	if _, err := io.ReadFull(br, hdr); err != nil {
		return fmt.Errorf("reading header: %w", err)
	}
	if err := write(enc.EncodeAll(hdr, nil)); err != nil {
		return err
	}
	var idx zIndex
	plainOff := int64(headerSize)
	// One output buffer for every frame: compression allocated more than
	// the appends it runs beside, and each GC it caused stalled them.
	var group, rec, out []byte
	for done := false; !done; {
		group = group[:0]
		groupStart := plainOff
		n := 0
		for n < sparseEvery {
			r, err := readRecord(br, &rec)
			if errors.Is(err, io.EOF) {
				done = true
				break
			}
			if err != nil {
				return fmt.Errorf("record %d: %w", idx.count, err)
			}
			group = appendRecord(group, r.chain, r.payload)
			plainOff += int64(r.size)
			n++
			idx.count++
		}
		if n == 0 {
			break
		}
		start := time.Now()
		idx.compressed = append(idx.compressed, zoff)
		idx.plain = append(idx.plain, groupStart)
		out = enc.EncodeAll(group, out[:0])
		if err := write(out); err != nil {
			return err
		}
		// Pace, so compression spreads over time instead of taking a core
		// in bursts from the appenders.
		if want := time.Duration(len(group)) * time.Second / compressPace; time.Since(start) < want {
			time.Sleep(want - time.Since(start))
		}
	}
	return write(idx.encode())
}

func (x zIndex) encode() []byte {
	body := make([]byte, 0, 16*len(x.compressed)+zIndexFooterLen)
	for i := range x.compressed {
		body = binary.LittleEndian.AppendUint64(body, uint64(x.compressed[i]))
		body = binary.LittleEndian.AppendUint64(body, uint64(x.plain[i]))
	}
	body = binary.LittleEndian.AppendUint64(body, x.count)
	body = append(body, zIndexMagic...)
	out := binary.LittleEndian.AppendUint32(nil, skippableMagic)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(body)))
	return append(out, body...)
}

// readZIndex loads the index of a compressed segment; ok is false for a
// file without one (then it is read by decompressing it whole).
func readZIndex(path string) (zIndex, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return zIndex{}, false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return zIndex{}, false, err
	}
	size := st.Size()
	if size < 8+zIndexFooterLen {
		return zIndex{}, false, nil
	}
	foot := make([]byte, zIndexFooterLen)
	if _, err := f.ReadAt(foot, size-zIndexFooterLen); err != nil {
		return zIndex{}, false, err
	}
	if string(foot[8:]) != zIndexMagic {
		return zIndex{}, false, nil
	}
	count := binary.LittleEndian.Uint64(foot)
	groups := (count + sparseEvery - 1) / sparseEvery
	bodyLen := int64(groups)*16 + zIndexFooterLen
	start := size - bodyLen - 8
	if start < 0 || groups > uint64(size) {
		return zIndex{}, false, fmt.Errorf("audit: %s: corrupt compression index", filepath.Base(path))
	}
	body := make([]byte, groups*16)
	if _, err := f.ReadAt(body, start+8); err != nil {
		return zIndex{}, false, err
	}
	x := zIndex{count: count, end: start}
	for g := range groups {
		x.compressed = append(x.compressed, int64(binary.LittleEndian.Uint64(body[g*16:])))
		x.plain = append(x.plain, int64(binary.LittleEndian.Uint64(body[g*16+8:])))
	}
	return x, true, nil
}

var (
	decOnce sync.Once
	dec     *zstd.Decoder
	decErr  error
)

var (
	encOnce sync.Once
	enc     *zstd.Encoder
	encErr  error
)

// sharedEncoder is one encoder for every compression (EncodeAll is safe for
// concurrent use; with concurrency 1 compressions take turns).
func sharedEncoder() (*zstd.Encoder, error) {
	encOnce.Do(func() {
		enc, encErr = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	})
	return enc, encErr
}

// sharedDecoder is one decoder for all DecodeAll calls (it is safe for
// concurrent use): building one costs far more than decoding a frame.
func sharedDecoder() (*zstd.Decoder, error) {
	decOnce.Do(func() { dec, decErr = zstd.NewReader(nil, zstd.WithDecoderConcurrency(2)) })
	return dec, decErr
}

// readFrames decompresses the record groups [g, g+n) of an indexed segment.
func readFrames(path string, x zIndex, g, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	from := x.compressed[g]
	to := x.end
	if g+n < len(x.compressed) {
		to = x.compressed[g+n]
	}
	raw := make([]byte, to-from)
	if _, err := f.ReadAt(raw, from); err != nil {
		return nil, fmt.Errorf("audit: reading %s: %w", filepath.Base(path), err)
	}
	dec, err := sharedDecoder()
	if err != nil {
		return nil, err
	}
	out, err := dec.DecodeAll(raw, nil)
	if err != nil {
		return nil, fmt.Errorf("audit: decompressing %s: %w", filepath.Base(path), err)
	}
	return out, nil
}
