// Package httpstatus records the status code a handler answered with, for
// metrics and logs.
package httpstatus

import "net/http"

// Writer remembers the status written through it (200 when the handler
// only wrote a body).
type Writer struct {
	http.ResponseWriter
	Status int
}

// Wrap starts a Writer at 200.
func Wrap(w http.ResponseWriter) *Writer { return &Writer{ResponseWriter: w, Status: http.StatusOK} }

// WriteHeader records code and passes it on.
func (w *Writer) WriteHeader(code int) {
	w.Status = code
	w.ResponseWriter.WriteHeader(code)
}
