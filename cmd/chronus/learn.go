package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chronus-audio/chronus/controllers"
	"github.com/chronus-audio/chronus/mapping"
)

func init() { addSubcommand(newLearnCmd) }

func newLearnCmd(a *app) *cobra.Command {
	var f inputFlags
	var param, appendTo string
	cmd := &cobra.Command{
		Use:   "learn",
		Short: "Wait for the next control you move and print the map rule for it.",
		Long: "Wait for the next control you move (a MIDI knob, key or pad, or an OSC control)\n" +
			"and print a map rule for it: notes play notes, anything else sets --param.\n" +
			"With --append FILE the rule is added to that map file (by default in the\n" +
			"user map directory), where Chronus picks it up while it runs.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			got := make(chan controllers.Event, 1)
			in, err := openInputs(f, a.log, func(ev *controllers.Event) {
				if learnable(ev) {
					select {
					case got <- *ev:
					default:
					}
				}
			})
			if err != nil {
				return err
			}
			defer in.Close()
			a.log.Info().Msg("Move a control or play a note now.")
			var ev controllers.Event
			select {
			case ev = <-got:
			case <-cmd.Context().Done():
				return nil
			}
			device := ""
			if ev.Kind != controllers.OSC && in.midi != nil {
				device = in.midi.PortName(ev.Source)
			}
			rule := learnRule(&ev, device, param)
			// The rule must compile: check it exactly as a map file would.
			if _, err := mapping.Compile("learned.toml", []byte(rule)); err != nil {
				return fmt.Errorf("the learned rule does not compile (please report this): %w", err)
			}
			if appendTo == "" {
				fmt.Fprint(cmd.OutOrStdout(), rule)
				return nil
			}
			path := appendTo
			if !strings.ContainsRune(path, filepath.Separator) {
				path = filepath.Join(mapping.UserDir(a.configDir), path)
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			old, _ := os.ReadFile(path)
			if _, err := mapping.Compile(path, append(old, "\n"+rule...)); err != nil {
				return fmt.Errorf("appending the rule would break %s: %w", path, err)
			}
			fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
			if err != nil {
				return err
			}
			defer fh.Close()
			if _, err := fh.WriteString("\n" + rule); err != nil {
				return err
			}
			a.log.Info().Str("file", path).Msg("The learned rule was appended to the map file.")
			return nil
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&param, "param", "filter/cutoff", "parameter a learned control sets (module/name, see maps/README.md)")
	cmd.Flags().StringVar(&appendTo, "append", "", "append the rule to this map file (a bare name goes in the user map directory)")
	return cmd
}

// learnable skips what nobody moves on purpose (clock ticks, releases).
func learnable(ev *controllers.Event) bool {
	switch ev.Kind {
	case controllers.NoteOn, controllers.Control, controllers.PitchBend, controllers.Pressure,
		controllers.Program, controllers.OSC:
		return true
	}
	return false
}

// learnRule writes the TOML rule for ev.
func learnRule(ev *controllers.Event, device, param string) string {
	var b strings.Builder
	b.WriteString("[[rule]]\n")
	switch ev.Kind {
	case controllers.OSC:
		fmt.Fprintf(&b, "name = %q\naddress = %q\n", "learned: "+ev.Address(), ev.Address())
		fmt.Fprintf(&b, "to = { do = \"set\", param = %q }\n", param)
		return b.String()
	case controllers.NoteOn:
		fmt.Fprintf(&b, "name = %q\nnote = %d\nchannel = %d\n", fmt.Sprintf("learned: %s on channel %d", noteName(ev.Number), ev.Channel+1), ev.Number, ev.Channel+1)
		if device != "" {
			fmt.Fprintf(&b, "device = %q\n", device)
		}
		b.WriteString("to = { do = \"note\" }\n")
		return b.String()
	case controllers.Control:
		fmt.Fprintf(&b, "name = %q\ncc = %d\nchannel = %d\n", fmt.Sprintf("learned: cc %d on channel %d", ev.Number, ev.Channel+1), ev.Number, ev.Channel+1)
	case controllers.PitchBend:
		fmt.Fprintf(&b, "name = %q\nkind = \"pitch-bend\"\nchannel = %d\n", fmt.Sprintf("learned: pitch bend on channel %d", ev.Channel+1), ev.Channel+1)
	case controllers.Pressure:
		fmt.Fprintf(&b, "name = %q\nkind = \"pressure\"\nchannel = %d\n", fmt.Sprintf("learned: aftertouch on channel %d", ev.Channel+1), ev.Channel+1)
	case controllers.Program:
		fmt.Fprintf(&b, "name = %q\nprogram = %d\nchannel = %d\n", fmt.Sprintf("learned: program %d on channel %d", ev.Number+1, ev.Channel+1), ev.Number, ev.Channel+1)
	}
	if device != "" {
		fmt.Fprintf(&b, "device = %q\n", device)
	}
	fmt.Fprintf(&b, "to = { do = \"set\", param = %q }\n", param)
	return b.String()
}
