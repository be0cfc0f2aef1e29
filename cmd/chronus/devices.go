package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/chronus-audio/chronus/engine/device"
)

func init() { addSubcommand(newDevicesCmd) }

func newDevicesCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "devices",
		Short: "List the audio output devices PortAudio can open.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			devs, err := device.List()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if len(devs) == 0 {
				fmt.Fprintln(w, "No audio output device found; `chronus run` will use the null device.")
				return nil
			}
			for _, d := range devs {
				mark := " "
				if d.Default {
					mark = "*"
				}
				fmt.Fprintf(w, "%s %2d  %-40s %-8s %d ch, %.0f Hz\n", mark, d.Index, d.Name, d.HostAPI, d.Channels, d.DefaultRate)
			}
			return nil
		},
	}
}
