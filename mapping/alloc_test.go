package mapping

import (
	"testing"

	"github.com/chronus-audio/chronus/controllers"
	"github.com/chronus-audio/chronus/engine/proto"
)

// allocEvents covers every path of Apply that a live input takes.
func allocEvents() []*controllers.Event {
	return []*controllers.Event{
		midiEv(controllers.NoteOn, 0, 60, 100),
		midiEv(controllers.NoteOff, 0, 60, 0),
		midiEv(controllers.Control, 0, 74, 64),
		midiEv(controllers.Control, 0, 75, 64),
		midiEv(controllers.Control, 0, 21, 127),
		midiEv(controllers.Control, 0, 123, 0),
		midiEv(controllers.Control, 0, 1, 64),
		midiEv(controllers.PitchBend, 0, 0, 12000),
		midiEv(controllers.PolyPressure, 0, 60, 30),
		midiEv(controllers.Program, 0, 7, 0),
		oscEv("/synth/cutoff", 0.3),
		oscEv("/synth/cut*", 0.3),
		oscEv("/pad/b", 0.7),
		oscEv("/xy", 300.0, 20.0),
		oscEv("/gate", "off"),
		oscEv("/gate", "on"),
		oscEv("/gate", "banana"),
		oscEv("/grid/7/1", 1.0),
		oscEv("/keys", 61.0, 0.4),
		oscEv("/preset", 3),
		oscEv("/load"),
		oscEv("/stop"),
		oscEv("/nothing/here", 1.0),
	}
}

func TestApplyDoesNotAllocate(t *testing.T) {
	m := mustCompile(t, kitchenSink)
	set := NewSet(m)
	sess := NewSession(NewLive(set), func(*controllers.Event) string { return "nanoKEY" })
	dst := make([]proto.Command, 0, 64)
	evs := allocEvents()
	sess.Apply(evs[0], dst) // adopt the Set outside the measurement
	for _, ev := range evs {
		if n := testing.AllocsPerRun(100, func() { dst = m.Apply(ev, dst[:0]) }); n != 0 {
			t.Errorf("Map.Apply(%s %q): %v allocations", ev.Kind, ev.Address(), n)
		}
		if n := testing.AllocsPerRun(100, func() { dst = set.ApplyFrom(ev, "nanoKEY", dst[:0]) }); n != 0 {
			t.Errorf("Set.ApplyFrom(%s %q): %v allocations", ev.Kind, ev.Address(), n)
		}
		if n := testing.AllocsPerRun(100, func() { dst = sess.Apply(ev, dst[:0]) }); n != 0 {
			t.Errorf("Session.Apply(%s %q): %v allocations", ev.Kind, ev.Address(), n)
		}
	}
}

// The output paths a live input takes allocate nothing when the slices have
// room: address templates, the Session's tracking of notes and pedals sent
// to MIDI outputs, SyncOut with nothing to adopt, and the note-offs a
// reload sends for them (the swap itself allocates the new bookkeeping
// once, off the measured path).
func TestOutputTemplatesAndTrackingDoNotAllocate(t *testing.T) {
	leds := "[[rule]]\nkind = \"note\"\nto = { do = \"osc-out\", address = \"/ch{channel}/led/{number}\", args = \"int\", range = [0, 127] }\n"
	ext, lm := compileAs(t, "ext.toml", extMap), compileAs(t, "leds2.toml", leds)
	sess := NewSession(NewLive(NewSet(ext, lm)), nil)
	dst := make([]proto.Command, 0, 16)
	out := make([]Output, 0, 64)
	evs := []*controllers.Event{
		midiEv(controllers.NoteOn, 0, 60, 100), midiEv(controllers.NoteOff, 0, 60, 0),
		midiEv(controllers.NoteOn, 9, 127, 100), midiEv(controllers.Control, 0, 64, 127),
	}
	sess.Apply(evs[0], dst) // adopt the Set outside the measurement
	for _, ev := range evs {
		if n := testing.AllocsPerRun(100, func() { dst, out = sess.ApplyOut(ev, dst[:0], out[:0]) }); n != 0 {
			t.Errorf("Session.ApplyOut(%s %d): %v allocations", ev.Kind, ev.Number, n)
		}
		if len(out) == 0 {
			t.Errorf("%s %d gave no output", ev.Kind, ev.Number)
		}
	}
	if n := testing.AllocsPerRun(100, func() { dst, out = sess.SyncOut(dst[:0], out[:0]) }); n != 0 {
		t.Errorf("SyncOut without a reload: %v allocations", n)
	}
	held := outNotes{port: "synth"}
	for k := range held.keys {
		held.keys[k] = [2]uint64{1<<60 | 1, 1 << 3}
	}
	held.pedal = 0xffff
	if n := testing.AllocsPerRun(100, func() { h := held; out = releaseOut(&h, out[:0]) }); n != 0 || len(out) != 64 {
		t.Errorf("releaseOut: %v allocations, %d outputs, want 64", n, len(out))
	}
}
