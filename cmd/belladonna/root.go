package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/belladonna-dev/belladonna/config"
)

// globalParams are the flags every command shares.
type globalParams struct {
	configFile string
	logLevel   string
	logFormat  string

	// Set by the root's PersistentPreRunE.
	cfg    config.Config
	logger *slog.Logger
}

func (g *globalParams) addFlags(cmd *cobra.Command) {
	fs := cmd.PersistentFlags()
	fs.StringVar(&g.configFile, "config", "", "path to belladonna.yaml (default: ./belladonna.yaml when present, or $BELLADONNA_CONFIG)")
	fs.StringVar(&g.logLevel, "log-level", "", "log level: debug|info|warn|error (default from config, info)")
	fs.StringVar(&g.logFormat, "log-format", "", "log format: text|json (default from config, text)")
}

// load reads the configuration and builds the logger; flags win over the file
// and the environment.
func (g *globalParams) load(stderr io.Writer) error {
	cfg, err := config.Load(g.configFile)
	if err != nil {
		return usageError(err)
	}
	if g.logLevel != "" {
		cfg.Log.Level = g.logLevel
	}
	if g.logFormat != "" {
		cfg.Log.Format = g.logFormat
	}
	// Flags go through the same checks as the file and the environment.
	if err := cfg.Check(); err != nil {
		return usageError(err)
	}
	g.cfg = cfg
	g.logger = newLogger(stderr, cfg.Log.Level, cfg.Log.Format)
	return nil
}

// newLogger takes values config.Check has already accepted.
func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	switch level {
	case "debug":
		lv = slog.LevelDebug
	case "warn":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	default:
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	g := &globalParams{}
	root := &cobra.Command{
		Use:   "belladonna",
		Short: "Policy-as-code engine built on OPA/Rego",
		Long: `Belladonna validates, versions, bundles, serves and audits OPA/Rego policies.

Exit codes:
  0  success (validate: no finding at or above --fail-on)
  1  findings, failed tests, coverage below --threshold, or eval --fail on an undefined result
  2  usage, configuration or load error`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return g.load(stderr)
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	g.addFlags(root)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })

	root.AddCommand(
		newVersionCommand(stdout),
		newEvalCommand(g, stdout),
		newServeCommand(g, stdout),
		newValidateCommand(g, stdout, stderr),
		newTestCommand(g, stdout, stderr),
		newAuditCommand(g, stdout),
		newHistoryCommand(stdout),
		newShowCommand(stdout),
		newDiffCommand(g, stdout),
		newApproveCommand(stdout),
		newApprovalsCommand(g, stdout),
		newRollbackCommand(g, stdout),
		newSyncCommand(stdout),
		newBundleCommand(g, stdout),
		newFleetCommand(stdout),
	)
	return root
}

// run executes the CLI and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCommand(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	code := exitCode(err)
	if err != nil {
		// An ExitError without a cause means the command already printed why.
		if e, ok := errors.AsType[*ExitError](err); !ok || e.Err != nil {
			fmt.Fprintf(stderr, "error: %v\n", err)
		}
	}
	return code
}
