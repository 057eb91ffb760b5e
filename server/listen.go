package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
)

// Listen opens addr: host:port over TCP, or unix:///path/to.sock for a
// Unix domain socket (as OPA's --addr), which only processes that can
// open the file reach: the socket is made 0660, and a stale socket left
// by a crash is replaced, but no other kind of file is.
func Listen(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	path, ok := strings.CutPrefix(addr, "unix://")
	if !ok {
		ln, err := lc.Listen(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("listening on %s: %w", addr, err)
		}
		return ln, nil
	}
	if path == "" {
		return nil, errors.New("listening on unix://: no socket path (want unix:///run/belladonna.sock)")
	}
	if st, err := os.Lstat(path); err == nil {
		if st.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("listening on %s: %s exists and is not a socket", addr, path)
		}
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("listening on %s: another process is serving on it", addr)
		}
		os.Remove(path)
	}
	ln, err := lc.Listen(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	return ln, nil
}
