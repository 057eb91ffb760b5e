package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/open-policy-agent/opa/v1/version"
	"github.com/spf13/cobra"

	bversion "github.com/belladonna-dev/belladonna/internal/version"
)

func newVersionCommand(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the Belladonna, OPA and Go versions",
		Example: `  belladonna version`,
		Args:    cobra.NoArgs,
		// No configuration is needed to print a version.
		PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(stdout, "Belladonna: %s\n", bversion.Version)
			if bversion.Commit != "" {
				fmt.Fprintf(stdout, "Commit: %s\n", bversion.Commit)
			}
			fmt.Fprintf(stdout, "OPA: %s\n", version.Version)
			fmt.Fprintf(stdout, "Go: %s\n", runtime.Version())
			fmt.Fprintf(stdout, "Platform: %s/%s\n", runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
