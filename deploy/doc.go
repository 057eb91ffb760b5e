// Package deploy holds what operators deploy next to Belladonna: the
// Grafana dashboard, the Prometheus alert rules and a Kubernetes sidecar
// example. Its tests check that they load and that every metric they name
// is one Belladonna exports.
package deploy
