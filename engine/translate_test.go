package engine

import (
	"testing"

	"github.com/chronus-audio/chronus/dsp"
	"github.com/chronus-audio/chronus/engine/proto"
)

// Every event kind that has a command comes back from the workers'
// translation as itself, with its fields, and every op the workers
// translate has one kind.
func TestCommandRoundTrip(t *testing.T) {
	var pt paramTable
	for k := dsp.EventKind(0); k < 255; k++ {
		ev := dsp.Event{Frame: 12345, Kind: k, Channel: 3, Key: 64, Value: 0.5}
		c, ok := Command(ev)
		if !ok {
			continue
		}
		if c.Flags&proto.FlagAbsolute == 0 || c.Frame != ev.Frame {
			t.Errorf("%v: command %v is not stamped for frame %d", k, c.String(), ev.Frame)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("%v: command %v: %v", k, c.String(), err)
		}
		back, ok := pt.event(&c)
		if !ok || back != ev {
			t.Errorf("%v: %v translates back to %+v, %v; want %+v", k, c.String(), back, ok, ev)
		}
	}
	for _, k := range []dsp.EventKind{dsp.NoteOn, dsp.NoteOff, dsp.Control, dsp.PitchBend, dsp.Pressure, dsp.Program,
		dsp.AllNotesOff, dsp.AllSoundOff, dsp.ResetControllers, dsp.GraphSelect, dsp.ProgramToGraph} {
		if _, ok := Command(dsp.Event{Kind: k}); !ok {
			t.Errorf("%v has no command", k)
		}
	}
	if _, ok := Command(dsp.Event{Kind: dsp.SetParam}); ok {
		t.Error("SetParam has a command without its parameter's name")
	}
	reset := proto.Command{Op: proto.OpReset, Frame: 1, Flags: proto.FlagAbsolute}
	if ev, ok := pt.event(&reset); !ok || ev.Kind != dsp.AllSoundOff {
		t.Errorf("reset translates to %+v, %v; want all sound off", ev, ok)
	}
}
