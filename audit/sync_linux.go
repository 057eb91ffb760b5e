//go:build linux

package audit

import (
	"os"
	"syscall"
)

// datasync makes f's data durable without flushing its timestamps. Writes
// into a reused segment's already allocated blocks then need no journal
// commit, which halves the cost of a group commit on ext4 (fsync of an
// extending write: ~0.45 ms; fdatasync of an overwrite: ~0.23 ms here).
// A write past the end still makes fdatasync flush the new size.
func datasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fdatasync(int(fd))
			if serr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: serr}
	}
	return nil
}
