package dsp

import (
	"math"
	"testing"
)

func TestMIDIEvent(t *testing.T) {
	const f = 12345
	for _, tc := range []struct {
		name string
		msg  []byte
		ok   bool
		want Event
	}{
		{"note on", []byte{0x93, 60, 127}, true, Event{Frame: f, Kind: NoteOn, Channel: 3, Key: 60, Value: 1}},
		{"note on soft", []byte{0x90, 61, 1}, true, Event{Frame: f, Kind: NoteOn, Key: 61, Value: 1.0 / 127}},
		{"note on vel 0 is off", []byte{0x9F, 62, 0}, true, Event{Frame: f, Kind: NoteOff, Channel: 15, Key: 62}},
		{"note off", []byte{0x81, 63, 64}, true, Event{Frame: f, Kind: NoteOff, Channel: 1, Key: 63, Value: 64.0 / 127}},
		{"cc", []byte{0xB2, 7, 100}, true, Event{Frame: f, Kind: Control, Channel: 2, Key: 7, Value: 100.0 / 127}},
		{"sustain off", []byte{0xB2, 64, 0}, true, Event{Frame: f, Kind: Control, Channel: 2, Key: 64, Value: 0}},
		{"all sound off", []byte{0xB9, 120, 0}, true, Event{Frame: f, Kind: AllSoundOff, Channel: 9}},
		{"reset controllers", []byte{0xB0, 121, 0}, true, Event{Frame: f, Kind: ResetControllers}},
		{"local control is a plain cc", []byte{0xB0, 122, 127}, true, Event{Frame: f, Kind: Control, Key: 122, Value: 1}},
		{"all notes off", []byte{0xB4, 123, 0}, true, Event{Frame: f, Kind: AllNotesOff, Channel: 4}},
		{"omni off", []byte{0xB4, 124, 0}, true, Event{Frame: f, Kind: AllNotesOff, Channel: 4}},
		{"poly on", []byte{0xB4, 127, 0}, true, Event{Frame: f, Kind: AllNotesOff, Channel: 4}},
		{"program", []byte{0xC5, 33}, true, Event{Frame: f, Kind: Program, Channel: 5, Key: 33}},
		{"pressure", []byte{0xD6, 127}, true, Event{Frame: f, Kind: Pressure, Channel: 6, Value: 1}},
		{"bend centre", []byte{0xE0, 0x00, 0x40}, true, Event{Frame: f, Kind: PitchBend}},
		{"bend min", []byte{0xE0, 0x00, 0x00}, true, Event{Frame: f, Kind: PitchBend, Value: -1}},
		{"bend max", []byte{0xE1, 0x7F, 0x7F}, true, Event{Frame: f, Kind: PitchBend, Channel: 1, Value: 1}},
		{"bend half down", []byte{0xE0, 0x00, 0x20}, true, Event{Frame: f, Kind: PitchBend, Value: -0.5}},
		{"bend lsb counts", []byte{0xE0, 0x01, 0x40}, true, Event{Frame: f, Kind: PitchBend, Value: 1.0 / 8191}},
		{"poly aftertouch ignored", []byte{0xA0, 60, 100}, false, Event{}},
		{"too short", []byte{0x90, 60}, false, Event{}},
		{"too long program", []byte{0xC0, 1, 2}, false, Event{}},
		{"data byte high bit", []byte{0x90, 0x80, 10}, false, Event{}},
		{"running status", []byte{60, 100}, false, Event{}},
		{"sysex", []byte{0xF0, 0x7E, 0xF7}, false, Event{}},
		{"clock", []byte{0xF8}, false, Event{}},
		{"empty", nil, false, Event{}},
	} {
		got, ok := MIDIEvent(f, tc.msg)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s: MIDIEvent(% x) = %+v, %v; want %+v, %v", tc.name, tc.msg, got, ok, tc.want, tc.ok)
		}
	}
}

// TestMIDIEventBendIsMonotonic checks all 16384 bend values: strictly rising,
// within -1..1, and 0 exactly at the centre.
func TestMIDIEventBendIsMonotonic(t *testing.T) {
	prev := math.Inf(-1)
	for v := 0; v < 16384; v++ {
		ev, ok := MIDIEvent(0, []byte{0xE0, byte(v & 0x7F), byte(v >> 7)})
		if !ok || ev.Value <= prev || ev.Value < -1 || ev.Value > 1 {
			t.Fatalf("bend %d: %v (ok %v) after %v", v, ev.Value, ok, prev)
		}
		if v == 8192 && ev.Value != 0 {
			t.Fatalf("centre gives %v", ev.Value)
		}
		prev = ev.Value
	}
}

func TestMIDIEventAllocs(t *testing.T) {
	msgs := [][]byte{{0x90, 60, 100}, {0x80, 60, 0}, {0xB0, 1, 64}, {0xE0, 1, 2}, {0xC0, 5}, {0xD0, 9}}
	var sink Event
	allocs := testing.AllocsPerRun(1000, func() {
		for _, m := range msgs {
			ev, _ := MIDIEvent(1, m)
			sink.Frame += ev.Frame
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per run, want 0", allocs)
	}
}

func BenchmarkMIDIEvent(b *testing.B) {
	msg := []byte{0x90, 60, 100}
	b.ReportAllocs()
	var n uint64
	for i := 0; b.Loop(); i++ {
		ev, _ := MIDIEvent(uint64(i), msg)
		n += ev.Frame
	}
	_ = n
}
