package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/audit/crypt"
	"github.com/belladonna-dev/belladonna/internal/logfields"
)

// A running serve holds the audit log's single-writer lock and caches
// subject keys, so `belladonna audit erase` and `audit rotate-key` act
// through it: serve listens on a Unix socket in the audit directory (mode
// 0600, and only peers with serve's own uid or root are served) and the CLI
// asks it. Without a serve the CLI opens the log itself.
const controlSocketName = "control.sock"

// ControlSocket is where a running serve listens for audit commands.
func ControlSocket(auditDir string) string { return filepath.Join(auditDir, controlSocketName) }

// ErrNotRunning: no serve listens on the control socket.
var ErrNotRunning = errors.New("no running serve holds this audit log")

type controlServer struct {
	srv  *http.Server
	path string
	done chan struct{}
}

// startControl serves erase and rotate-key for l. The caller holds the
// log's lock, so a socket file already there is a dead serve's.
func startControl(dir string, l *audit.Log, subjects *crypt.SubjectStore, logger *slog.Logger) (*controlServer, error) {
	path := ControlSocket(dir)
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("audit control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("audit control socket: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/audit/erase", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Subject string `json:"subject"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil || req.Subject == "" {
			controlError(w, http.StatusBadRequest, "invalid_parameter", "want {\"subject\": \"...\"}")
			return
		}
		res, err := EraseSubject(r.Context(), l, subjects, req.Subject)
		switch {
		case errors.Is(err, crypt.ErrUnknownSubject):
			controlError(w, http.StatusNotFound, "unknown_subject", err.Error())
		case errors.Is(err, ErrNoEncryption):
			controlError(w, http.StatusConflict, "no_encryption", err.Error())
		case err != nil:
			controlError(w, http.StatusInternalServerError, "internal_error", err.Error())
		default:
			// The subject is not logged: naming it would re-link the erased entries.
			logger.Info("audit: subject key destroyed", logfields.SubjectKeyID, res.SubjectKeyID, logfields.Index, res.Index)
			json.NewEncoder(w).Encode(res)
		}
	})
	mux.HandleFunc("POST /v1/audit/rotate-key", func(w http.ResponseWriter, r *http.Request) {
		res, err := RotateKey(r.Context(), l, subjects)
		switch {
		case errors.Is(err, ErrNoEncryption):
			controlError(w, http.StatusConflict, "no_encryption", err.Error())
		case err != nil:
			controlError(w, http.StatusInternalServerError, "internal_error", err.Error())
		default:
			logger.Info("audit: encryption key rotated", logfields.KeyID, res.KeyID, logfields.Index, res.Index)
			json.NewEncoder(w).Encode(res)
		}
	})
	c := &controlServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, path: path, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		if err := c.srv.Serve(peerCheckListener{ln.(*net.UnixListener), logger}); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("audit control socket stopped", logfields.Error, err)
		}
	}()
	return c, nil
}

func (c *controlServer) stop(ctx context.Context) error {
	err := c.srv.Shutdown(ctx)
	<-c.done
	os.Remove(c.path)
	return err
}

func controlError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
}

// peerCheckListener drops connections from other users: the socket's mode
// already keeps them out, this fails closed should the mode be loosened.
type peerCheckListener struct {
	*net.UnixListener
	logger *slog.Logger
}

func (l peerCheckListener) Accept() (net.Conn, error) {
	for {
		c, err := l.AcceptUnix()
		if err != nil {
			return nil, err
		}
		uid, err := peerUID(c)
		if err == nil && (uid == uint32(os.Geteuid()) || uid == 0) {
			return c, nil
		}
		l.logger.Warn("audit control socket: refused a connection from another user", logfields.UID, uid, logfields.Error, err)
		c.Close()
	}
}

func peerUID(c *net.UnixConn) (uint32, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *unix.Ucred
	var serr error
	if err := raw.Control(func(fd uintptr) { cred, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) }); err != nil {
		return 0, err
	}
	if serr != nil {
		return 0, serr
	}
	return cred.Uid, nil
}

// ControlClient asks a running serve to act on its audit log.
type ControlClient struct {
	path string
	http *http.Client
}

// NewControlClient talks to the serve holding the log in auditDir.
func NewControlClient(auditDir string) *ControlClient {
	path := ControlSocket(auditDir)
	return &ControlClient{path: path, http: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		},
	}}}
}

// ControlError is an error the serve answered with.
type ControlError struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *ControlError) Error() string { return e.Message }

// Erase asks the serve to erase subject. ErrNotRunning when no serve
// listens; a *ControlError with Code "unknown_subject" for a subject
// without a key.
func (c *ControlClient) Erase(ctx context.Context, subject string) (Erased, error) {
	var out Erased
	body, _ := json.Marshal(map[string]string{"subject": subject})
	return out, c.call(ctx, "/v1/audit/erase", body, &out)
}

// RotateKey asks the serve to rotate the encryption key.
func (c *ControlClient) RotateKey(ctx context.Context) (Rotated, error) {
	var out Rotated
	return out, c.call(ctx, "/v1/audit/rotate-key", nil, &out)
}

func (c *ControlClient) call(ctx context.Context, route string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://belladonna"+route, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return ErrNotRunning
		}
		return fmt.Errorf("audit control socket %s: %w", c.path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		ce := &ControlError{Status: resp.StatusCode}
		if err := json.NewDecoder(resp.Body).Decode(ce); err != nil || ce.Message == "" {
			ce.Message = fmt.Sprintf("serve answered %s", resp.Status)
		}
		return ce
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
