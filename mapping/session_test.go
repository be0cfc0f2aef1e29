package mapping

import (
	"testing"

	"github.com/chronus-audio/chronus/controllers"
	"github.com/chronus-audio/chronus/engine/proto"
)

// synthNotes models what the synth holds: a note-on holds (channel, key), a
// note-off or all-notes-off releases it.
type synthNotes map[[2]uint8]bool

func (s synthNotes) play(cmds []proto.Command) {
	for _, c := range cmds {
		switch c.Op {
		case proto.OpNoteOn:
			s[[2]uint8{c.Channel, c.Key}] = true
		case proto.OpNoteOff:
			delete(s, [2]uint8{c.Channel, c.Key})
		case proto.OpAllNotesOff, proto.OpAllSoundOff:
			for k := range s {
				if k[0] == c.Channel {
					delete(s, k)
				}
			}
		}
	}
}

const keysV1 = "[[rule]]\nkind = \"note\"\nto = { do = \"note\" }\n"
const keysV2 = "[[rule]]\nkind = \"note\"\nto = { do = \"note\", transpose = 12 }\n"

func compileAs(t *testing.T, name, src string) *Map {
	t.Helper()
	m, err := Compile(name, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The reload case of the issue: a key is held, the map is edited to
// transpose, the key is released. Without the Session the new map's
// note-off names another key and the old note sticks; with it, the reload
// releases the old map's note.
func TestSessionReloadNeverLeavesANoteStuck(t *testing.T) {
	v1 := NewSet(compileAs(t, "keys.toml", keysV1))
	v2 := NewSet(compileAs(t, "keys.toml", keysV2))
	down, up := midiEv(controllers.NoteOn, 0, 60, 100), midiEv(controllers.NoteOff, 0, 60, 0)

	// Negative control: the pure Set alone leaves the note stuck.
	pure := synthNotes{}
	pure.play(v1.Apply(down, nil))
	pure.play(v2.Apply(up, nil))
	if len(pure) != 1 {
		t.Fatalf("negative control: %d notes held, want the stuck one", len(pure))
	}

	live := NewLive(v1)
	s := NewSession(live, nil)
	synth := synthNotes{}
	synth.play(s.Apply(down, nil))
	if s.Held() != 1 {
		t.Fatalf("held %d after note-on", s.Held())
	}
	live.Store(v2)
	out := s.Apply(up, nil)
	synth.play(out)
	if len(synth) != 0 || s.Held() != 0 {
		t.Fatalf("after reload and key up: synth holds %v, session %d; commands %s", synth, s.Held(), fmtCmds(out))
	}
	if got := fmtCmds(out); got != "note-off ch0 k60 0; note-off ch0 k72 0" {
		t.Errorf("commands: %s", got)
	}
}

// Sync releases at once, and only the notes of maps that changed; notes of
// an unchanged map keep sounding.
func TestSessionSyncReleasesOnlyChangedMaps(t *testing.T) {
	keys := compileAs(t, "keys.toml", keysV1)
	pads := compileAs(t, "pads.toml", "[[rule]]\naddress = \"/pad\"\nto = { do = \"note\", key = 36, channel = 10 }\n")
	pads2 := compileAs(t, "pads.toml", "[[rule]]\naddress = \"/pad\"\nto = { do = \"note\", key = 38, channel = 10 }\n")
	live := NewLive(NewSet(keys, pads))
	s := NewSession(live, nil)
	synth := synthNotes{}
	synth.play(s.Apply(midiEv(controllers.NoteOn, 0, 60, 100), nil))
	synth.play(s.Apply(oscEv("/pad", 1.0), nil))
	if s.Held() != 2 {
		t.Fatalf("held %d", s.Held())
	}
	live.Store(NewSet(keys, pads2))
	out := s.Sync(nil)
	if got := fmtCmds(out); got != "note-off ch9 k36 0" {
		t.Fatalf("sync: %s", got)
	}
	synth.play(out)
	if s.Held() != 1 || !synth[[2]uint8{0, 60}] {
		t.Fatalf("the unchanged map's note should still sound: held %d, synth %v", s.Held(), synth)
	}
	if got := fmtCmds(s.Sync(nil)); got != "" {
		t.Fatalf("second sync: %s", got)
	}
	// Removing the map releases its notes too.
	live.Store(NewSet(pads2))
	if got := fmtCmds(s.Sync(nil)); got != "note-off ch0 k60 0" {
		t.Fatalf("removed map: %s", got)
	}
	if s.Held() != 0 {
		t.Fatalf("held %d", s.Held())
	}
}

func TestSessionTracksReleasesAndAllNotesOff(t *testing.T) {
	m := mustCompile(t, kitchenSink)
	s := NewSession(NewLive(NewSet(m)), nil)
	s.Apply(midiEv(controllers.NoteOn, 0, 60, 100), nil)
	s.Apply(midiEv(controllers.NoteOn, 0, 64, 100), nil)
	s.Apply(midiEv(controllers.NoteOn, 1, 67, 100), nil)
	if s.Held() != 3 {
		t.Fatalf("held %d, want 3", s.Held())
	}
	s.Apply(midiEv(controllers.NoteOff, 0, 60, 0), nil)
	if s.Held() != 2 {
		t.Fatalf("held %d after a note-off, want 2", s.Held())
	}
	s.Apply(midiEv(controllers.Control, 0, 123, 0), nil) // all notes off, every channel
	if s.Held() != 0 {
		t.Fatalf("held %d after all-notes-off", s.Held())
	}
	s.Apply(midiEv(controllers.NoteOn, 0, 60, 100), nil)
	if got := fmtCmds(s.ReleaseAll(nil)); got != "note-off ch0 k60 0" || s.Held() != 0 {
		t.Fatalf("ReleaseAll: %s, held %d", got, s.Held())
	}
}

// Latching toggles flip on each press and ignore releases; the state lives
// in the Session and survives a reload that leaves the map unchanged.
func TestSessionLatches(t *testing.T) {
	m := mustCompile(t, kitchenSink)
	live := NewLive(NewSet(m))
	s := NewSession(live, nil)
	press, release := midiEv(controllers.Control, 0, 21, 127), midiEv(controllers.Control, 0, 21, 0)
	steps := []struct {
		ev   *controllers.Event
		want string
	}{
		{press, "set ch0 delay/mix 0.5"},
		{release, ""},
		{press, "set ch0 delay/mix 0"},
		{release, ""},
		{press, "set ch0 delay/mix 0.5"},
	}
	for i, st := range steps {
		if got := fmtCmds(s.Apply(st.ev, nil)); got != st.want {
			t.Fatalf("step %d: %s, want %s", i, got, st.want)
		}
	}
	live.Store(NewSet(m)) // a new Set, the same Map
	if got := fmtCmds(s.Apply(press, nil)); got != "set ch0 delay/mix 0" {
		t.Fatalf("after an unchanged reload: %s", got)
	}
	rec := midiEv(controllers.Control, 0, 22, 127)
	if got := fmtCmds(s.Apply(rec, nil)); got != "record-start ch0" {
		t.Fatalf("record latch 1: %s", got)
	}
	if got := fmtCmds(s.Apply(rec, nil)); got != "record-stop ch0" {
		t.Fatalf("record latch 2: %s", got)
	}
}

func TestSessionDeviceNames(t *testing.T) {
	m := mustCompile(t, kitchenSink)
	calls := 0
	names := func(ev *controllers.Event) string {
		calls++
		if ev.Source == 2 {
			return "nanoKONTROL2"
		}
		return "Keystation 61"
	}
	s := NewSession(NewLive(NewSet(m)), names)
	ev := midiEv(controllers.Control, 0, 1, 127)
	if got := fmtCmds(s.Apply(ev, nil)); got != "" {
		t.Fatalf("source 0: %s", got)
	}
	ev.Source = 2
	if got := fmtCmds(s.Apply(ev, nil)); got != "control ch0 k2 1" {
		t.Fatalf("source 2: %s", got)
	}
	if calls != 2 {
		t.Fatalf("names called %d times", calls)
	}
	// No device rules: names is never called.
	s = NewSession(NewLive(NewSet(compileAs(t, "keys.toml", keysV1))), names)
	s.Apply(midiEv(controllers.NoteOn, 0, 60, 1), nil)
	if calls != 2 {
		t.Fatal("names called although no rule needs it")
	}
}

func TestSessionZeroLive(t *testing.T) {
	s := NewSession(&Live{}, nil)
	if got := s.Apply(midiEv(controllers.NoteOn, 0, 60, 1), nil); len(got) != 0 {
		t.Fatalf("empty live set produced %s", fmtCmds(got))
	}
}

// A map that leaves the sustain pedal down and is then edited to no longer
// map the pedal would leave every sustained note ringing: the swap lifts
// the pedal it held.
func TestSessionReleasesThePedalOfAChangedMap(t *testing.T) {
	v1 := compileAs(t, "keys.toml", keysV1+"[[rule]]\ncc = 64\nto = { do = \"control\" }\n")
	v2 := compileAs(t, "keys.toml", keysV1)
	live := NewLive(NewSet(v1))
	s := NewSession(live, nil)
	s.Apply(midiEv(controllers.Control, 3, 64, 127), nil)
	s.Apply(midiEv(controllers.NoteOn, 3, 60, 100), nil)
	s.Apply(midiEv(controllers.NoteOff, 3, 60, 0), nil) // sustained by the pedal
	if s.Held() != 0 {
		t.Fatalf("held %d", s.Held())
	}
	live.Store(NewSet(v2))
	if got := fmtCmds(s.Sync(nil)); got != "control ch3 k64 0" {
		t.Fatalf("swap: %s", got)
	}
	// A pedal that was lifted needs nothing.
	live.Store(NewSet(v1))
	s.Sync(nil)
	s.Apply(midiEv(controllers.Control, 3, 64, 127), nil)
	s.Apply(midiEv(controllers.Control, 3, 64, 0), nil)
	live.Store(NewSet(v2))
	if got := fmtCmds(s.Sync(nil)); got != "" {
		t.Fatalf("lifted pedal: %s", got)
	}
}

// Maps that send notes to MIDI outputs, for the reload tests: ext.toml
// plays channel-1 keys on an external synth (channel 3) and a fixed note 36
// on every output, and passes the sustain pedal on; leds.toml lights the
// channel-2 keys on a pad controller.
const (
	extMap = `
[[rule]]
kind = "note"
channel = 1
to = [
  { do = "midi-out", port = "Synth", channel = 3 },
  { do = "midi-out", type = "note", number = 36, velocity = 100 },
]

[[rule]]
cc = 64
to = { do = "midi-out", port = "Synth", channel = 3 }
`
	ledsMap = "[[rule]]\nkind = \"note\"\nchannel = 2\nto = { do = \"midi-out\", port = \"X-Touch\", type = \"note\", velocity = 127 }\n"
)

// A reload releases the notes (and lifts the sustain pedal) that a removed
// or changed map left on MIDI outputs, on the port each went to, and only
// those: notes already released and notes of unchanged maps are left
// alone.
func TestSessionReloadReleasesOutputNotes(t *testing.T) {
	on := func(ch, key uint8) *controllers.Event { return midiEv(controllers.NoteOn, ch, key, 100) }
	off := func(ch, key uint8) *controllers.Event { return midiEv(controllers.NoteOff, ch, key, 0) }
	pedal := func(v int32) *controllers.Event { return midiEv(controllers.Control, 0, 64, v) }
	ext, leds := compileAs(t, "ext.toml", extMap), compileAs(t, "leds.toml", ledsMap)
	extEdited := compileAs(t, "ext.toml", extMap+"# edited\n")
	ledsEdited := compileAs(t, "leds.toml", ledsMap+"# edited\n")
	tests := []struct {
		name   string
		play   []*controllers.Event
		reload *Set
		want   string // sent by the reload
		rest   string // still held after it: sent when every map goes
	}{
		{"a changed map: each note on the port it went to",
			[]*controllers.Event{on(0, 60), on(0, 62), on(1, 70)}, NewSet(extEdited, leds),
			"midi[synth] 82 3c 00; midi[synth] 82 3e 00; midi[] 80 24 00", "midi[x-touch] 81 46 00"},
		{"a removed map", []*controllers.Event{on(0, 60), on(1, 70)}, NewSet(leds),
			"midi[synth] 82 3c 00; midi[] 80 24 00", "midi[x-touch] 81 46 00"},
		{"only the changed map", []*controllers.Event{on(0, 60), on(1, 70), on(1, 71)}, NewSet(ext, ledsEdited),
			"midi[x-touch] 81 46 00; midi[x-touch] 81 47 00", "midi[synth] 82 3c 00; midi[] 80 24 00"},
		{"released notes are not released again", []*controllers.Event{on(0, 60), off(0, 60)}, NewSet(extEdited, leds), "", ""},
		{"a note-on at velocity 0 is a release",
			[]*controllers.Event{on(0, 60), midiEv(controllers.NoteOn, 0, 60, 0)}, NewSet(extEdited, leds), "", ""},
		{"a pedal left down is lifted", []*controllers.Event{pedal(127), on(0, 60), off(0, 60)}, NewSet(leds),
			"midi[synth] b2 40 00", ""},
		{"a pedal let up needs nothing", []*controllers.Event{pedal(127), pedal(0)}, NewSet(leds), "", ""},
		{"a new Set of the same maps", []*controllers.Event{on(0, 60), on(1, 70)}, NewSet(ext, leds),
			"", "midi[synth] 82 3c 00; midi[] 80 24 00; midi[x-touch] 81 46 00"},
	}
	for _, tc := range tests {
		live := NewLive(NewSet(ext, leds))
		s := NewSession(live, nil)
		for _, ev := range tc.play {
			if cmds, _ := s.ApplyOut(ev, nil, nil); len(cmds) != 0 {
				t.Fatalf("%s: synth commands %s", tc.name, fmtCmds(cmds))
			}
		}
		live.Store(tc.reload)
		cmds, outs := s.SyncOut(nil, nil)
		if got := fmtOuts(outs); got != tc.want || len(cmds) != 0 {
			t.Errorf("%s:\n got: %s (commands %s)\nwant: %s", tc.name, got, fmtCmds(cmds), tc.want)
		}
		live.Store(nil)
		if _, outs = s.SyncOut(nil, nil); fmtOuts(outs) != tc.rest {
			t.Errorf("%s: then removing every map sent\n %s\nwant\n %s", tc.name, fmtOuts(outs), tc.rest)
		}
	}
}

// Sync and Apply have no Output slice: the output note-offs of the swap they
// make wait for the next ApplyOut, which sends them before the event's own
// outputs.
func TestSessionSyncKeepsOutputReleasesForApplyOut(t *testing.T) {
	ext, leds := compileAs(t, "ext.toml", extMap), compileAs(t, "leds.toml", ledsMap)
	for _, adopt := range []string{"Sync", "Apply"} {
		live := NewLive(NewSet(ext, leds))
		s := NewSession(live, nil)
		s.ApplyOut(midiEv(controllers.NoteOn, 0, 60, 100), nil, nil)
		live.Store(NewSet(leds))
		if adopt == "Sync" {
			s.Sync(nil)
		} else {
			s.Apply(midiEv(controllers.NoteOn, 1, 70, 100), nil)
		}
		_, outs := s.ApplyOut(midiEv(controllers.NoteOn, 1, 71, 100), nil, nil)
		if got, want := fmtOuts(outs), "midi[synth] 82 3c 00; midi[] 80 24 00; midi[x-touch] 91 47 7f"; got != want {
			t.Errorf("after %s:\n got: %s\nwant: %s", adopt, got, want)
		}
		if _, outs = s.SyncOut(nil, nil); len(outs) != 0 {
			t.Errorf("after %s: sent again: %s", adopt, fmtOuts(outs))
		}
	}
}
