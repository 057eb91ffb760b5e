// Command belladonna is the Belladonna policy-as-code engine's CLI.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
