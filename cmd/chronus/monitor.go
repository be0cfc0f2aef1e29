package main

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/chronus-audio/chronus/controllers"
)

func init() { addSubcommand(newMonitorCmd) }

func newMonitorCmd(a *app) *cobra.Command {
	var f inputFlags
	cmd := &cobra.Command{
		Use:   "monitor",
		Short: "Print every incoming MIDI and OSC event, normalised, until Ctrl-C.",
		Long: "Print every incoming MIDI and OSC event as a musician reads it: where it came from,\n" +
			"what it is, the raw value and the value normalised to 0..1 (-1..1 for pitch bend).\n" +
			"Use it to see what a controller sends before writing a map.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var mu sync.Mutex
			out := cmd.OutOrStdout()
			var in *inputs
			in, err := openInputs(f, a.log, func(ev *controllers.Event) {
				mu.Lock()
				defer mu.Unlock()
				fmt.Fprintln(out, describe(in, ev))
			})
			if err != nil {
				return err
			}
			defer in.Close()
			<-cmd.Context().Done()
			return nil
		},
	}
	f.register(cmd.Flags())
	return cmd
}

var noteNames = [12]string{"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"}

// noteName is a MIDI note as a musician writes it: 60 = C4.
func noteName(n uint8) string { return fmt.Sprintf("%s%d", noteNames[n%12], int(n)/12-1) }

// describe renders one event as a line: source, kind, what, raw, normalised.
func describe(in *inputs, ev *controllers.Event) string {
	var b strings.Builder
	if ev.Kind == controllers.OSC {
		from := fmt.Sprintf("client %d", ev.Source)
		if in != nil && in.osc != nil {
			if c, ok := in.osc.Client(ev.Source); ok {
				from = c.Addr.String()
			}
		}
		fmt.Fprintf(&b, "osc   %-21s %s", from, ev.Address())
		for i := 0; i < int(ev.NArgs); i++ {
			arg := ev.Args[i]
			switch arg.Type {
			case 's', 'S':
				fmt.Fprintf(&b, " %q", ev.String())
			case 'i', 'h', 'c':
				fmt.Fprintf(&b, " %d", arg.I)
			case 'T':
				b.WriteString(" true")
			case 'F':
				b.WriteString(" false")
			case 'N':
				b.WriteString(" nil")
			default:
				fmt.Fprintf(&b, " %g", arg.F)
			}
		}
		if !ev.Due.IsZero() {
			fmt.Fprintf(&b, "  (due in %v)", ev.Due.Sub(ev.Arrived).Round(100_000))
		}
		return b.String()
	}
	port := fmt.Sprintf("port %d", ev.Source)
	if in != nil && in.midi != nil {
		if n := in.midi.PortName(ev.Source); n != "" {
			port = n
		}
	}
	fmt.Fprintf(&b, "midi  %-21s ch %-2d %-13s", trim(port, 21), ev.Channel+1, ev.Kind)
	switch ev.Kind {
	case controllers.NoteOn, controllers.NoteOff, controllers.PolyPressure:
		fmt.Fprintf(&b, " %-4s (%3d)  vel %3d  %.3f", noteName(ev.Number), ev.Number, ev.Raw, ev.Norm)
	case controllers.Control:
		fmt.Fprintf(&b, " cc %3d       val %3d  %.3f", ev.Number, ev.Raw, ev.Norm)
	case controllers.PitchBend:
		fmt.Fprintf(&b, "              %5d  %+.3f", ev.Raw, ev.Norm)
	case controllers.Program:
		fmt.Fprintf(&b, " program %3d", ev.Number+1)
	case controllers.Pressure:
		fmt.Fprintf(&b, "              %5d  %.3f", ev.Raw, ev.Norm)
	case controllers.SysEx:
		fmt.Fprintf(&b, " %d bytes", ev.RawLen)
	}
	return strings.TrimRight(b.String(), " ")
}

func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

var _ io.Writer = (*strings.Builder)(nil)
