// Command chronus is a live synthesizer for Linux. Its subcommands each live in
// their own file and register themselves in init() with addSubcommand.
//
// Every flag can also be given as an environment variable CHRONUS_<FLAG>, the
// flag name in upper case with '-' turned into '_' (CHRONUS_RATE,
// CHRONUS_LOG_LEVEL). A flag given on the command line wins over the variable.
// Logs go to standard error only: standard output may carry audio data.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/chronus-audio/chronus/engine/quiet"
)

// envPrefix starts the environment variable of every flag.
const envPrefix = "CHRONUS_"

// app is what subcommands share: the logger and the global settings. Fields are
// valid from the subcommand's RunE on, after the root's PersistentPreRunE ran.
type app struct {
	log       zerolog.Logger
	stdout    io.Writer
	stderr    io.Writer
	logLevel  string
	logFormat string
	configDir string
}

// subcommands holds the constructors added by addSubcommand.
var subcommands []func(*app) *cobra.Command

// addSubcommand registers a subcommand constructor; call it from an init() in the
// subcommand's own file. A subcommand must not set PersistentPreRun(E): the
// root's hook applies environment variables and sets up the logger.
func addSubcommand(newCmd func(*app) *cobra.Command) {
	subcommands = append(subcommands, newCmd)
}

// usageError marks an error in the command line or environment (exit status 2).
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// reportedError is an error that was already logged with its details; main only
// sets the exit status.
type reportedError struct{ error }

func (e reportedError) Unwrap() error { return e.error }

func main() {
	// Logs go to a copy of stderr that stays open while fd 2 is silenced
	// around C libraries that print noise there (ALSA, JACK, RtMidi).
	os.Exit(run(os.Args[1:], os.Stdout, quiet.Stderr()))
}

// run executes the command line args and returns the process exit status.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{stdout: stdout, stderr: stderr}
	// Until the flags are parsed, log with the defaults so that even a bad
	// command line is reported in the right format.
	a.log, _ = newLogger(stderr, "info", "auto")
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var rep reportedError
	if !errors.As(err, &rep) {
		a.log.Error().Err(err).Msg("Chronus could not run the command.")
	}
	var use usageError
	if errors.As(err, &use) || isCobraUsageError(err) {
		return 2
	}
	return 1
}

// isCobraUsageError recognises cobra's own errors for unknown commands, which
// do not go through the flag error function.
func isCobraUsageError(err error) bool {
	return strings.HasPrefix(err.Error(), "unknown command ")
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "chronus",
		Short: "Chronus is a live, fault-tolerant synthesizer for Linux.",
		Long: "Chronus is a live, fault-tolerant synthesizer for Linux.\n\n" +
			"Every flag can also be set with an environment variable CHRONUS_<FLAG>\n" +
			"(upper case, '-' becomes '_', e.g. CHRONUS_RATE=44100, CHRONUS_LOG_LEVEL=debug).\n" +
			"A flag given on the command line wins over its variable.",
		SilenceErrors: true, // run logs the error once
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd.Flags()); err != nil {
				return err
			}
			l, err := newLogger(a.stderr, a.logLevel, a.logFormat)
			if err != nil {
				return usageError{err}
			}
			a.log = l
			return nil
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&a.logLevel, "log-level", "info", "least severe log level shown: debug, info, warn, error")
	pf.StringVar(&a.logFormat, "log-format", "auto", "log format: auto (console on a terminal, else JSON), console or json")
	pf.StringVar(&a.configDir, "config", defaultConfigDir(), "configuration directory")
	for _, newCmd := range subcommands {
		root.AddCommand(newCmd(a))
	}
	return root
}

// defaultConfigDir is $XDG_CONFIG_HOME/chronus, else ~/.config/chronus.
func defaultConfigDir() string {
	if x := os.Getenv("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "chronus")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".config", "chronus")
	}
	return filepath.Join(".config", "chronus")
}

// envName is the environment variable for the flag called name.
func envName(name string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// applyEnv sets every flag not given on the command line from its environment
// variable, if that is set.
func applyEnv(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "help" {
			return
		}
		name := envName(f.Name)
		v, ok := os.LookupEnv(name)
		if !ok {
			return
		}
		if serr := fs.Set(f.Name, v); serr != nil {
			err = usageError{fmt.Errorf("environment variable %s=%q is not a valid %s for --%s", name, v, f.Value.Type(), f.Name)}
		}
	})
	return err
}

// exactArgs is cobra.ExactArgs with a usage-class error that names the command.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("%s needs %s, got %d arguments (see %s --help)", cmd.CommandPath(), what, len(args), cmd.CommandPath())}
		}
		return nil
	}
}
