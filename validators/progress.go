package validators

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// progressMinItems is the size below which progress is not worth the noise.
const progressMinItems = 50

// IsTerminal reports whether w is a terminal; reports and progress only use
// colours and carriage returns there.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress writes "phase i/n" lines that overwrite each other. A nil progress
// or one without a writer does nothing.
type progress struct {
	w       io.Writer
	enabled bool // set once the work is known to be large enough
	dirty   bool
}

func newProgress(w io.Writer) *progress { return &progress{w: w} }

// step reports item i of n. Progress switches on only for more than
// progressMinItems items, and then for the remaining phases too.
func (p *progress) step(phase string, i, n int) {
	if p == nil || p.w == nil {
		return
	}
	if n > progressMinItems {
		p.enabled = true
	}
	if !p.enabled {
		return
	}
	// \033[K clears what a longer previous line left behind.
	fmt.Fprintf(p.w, "\r%s %d/%d\033[K", phase, i, n)
	p.dirty = true
}

// phase reports a phase without a count.
func (p *progress) phase(name string) {
	if p == nil || p.w == nil || !p.enabled {
		return
	}
	fmt.Fprintf(p.w, "\r%s\033[K", name)
	p.dirty = true
}

// clear erases the progress line, so that the report starts on a clean line.
func (p *progress) clear() {
	if p == nil || p.w == nil || !p.dirty {
		return
	}
	fmt.Fprint(p.w, "\r\033[K")
	p.dirty = false
}
