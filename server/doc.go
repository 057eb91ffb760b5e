// Package server is the HTTP decision API: OPA-compatible POST/GET
// /v1/data/{path}, GET /health and GET /metrics, with request size limits,
// optional bearer-token authentication and rate limiting.
//
// Responses use OPA's own wire types (v1/server/types) so clients written for
// OPA read them unchanged. The server never evaluates policy itself: it parses
// the request and calls engine.Decide.
package server
