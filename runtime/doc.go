// Package runtime assembles Belladonna's long-running modes from a Config:
// each mode has one constructor and Start/Stop, so cmd holds no wiring.
package runtime
