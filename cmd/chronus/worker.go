package main

import (
	"github.com/spf13/cobra"

	"github.com/chronus-audio/chronus/engine"
)

func init() { addSubcommand(newWorkerCmd) }

// newWorkerCmd is the hidden subcommand the engine re-executes through
// /proc/self/exe for each DSP worker process.
func newWorkerCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:    "worker",
		Short:  "Run one DSP worker process (started by the engine, not by hand).",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return engine.RunWorker()
		},
	}
}
