// Package sinktest starts real receivers for the sink tests: rsyslogd and a
// throwaway PostgreSQL cluster, as child processes of the test, with their
// state in t.TempDir(). Servers that are not installed skip the test, except
// under CI (CI set in the environment), where a missing server is a failure:
// CI installs them (.ci/run), so absence there is a broken setup, not a
// reason to pass.
package sinktest
