package maps_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/chronus-audio/chronus/controllers"
	"github.com/chronus-audio/chronus/dsp"
	"github.com/chronus-audio/chronus/engine/proto"
	"github.com/chronus-audio/chronus/mapping"
	"github.com/chronus-audio/chronus/maps"
)

func load(t *testing.T, name string) *mapping.Map {
	t.Helper()
	src, err := fs.ReadFile(maps.FS(), name)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mapping.Compile("maps/"+name, src)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func midiEv(kind controllers.Kind, ch, num uint8, raw int32) *controllers.Event {
	ev := &controllers.Event{Kind: kind, Channel: ch, Number: num, Raw: raw, Norm: float64(raw) / 127}
	switch kind {
	case controllers.PitchBend:
		ev.Norm = float64(raw-8192) / 8192
	case controllers.Program:
		ev.Raw, ev.Norm = int32(num), float64(num)/127
	}
	return ev
}

// oscEv: float64 → 'f', int → 'i', string → 's', bool → 'T'/'F'.
func oscEv(addr string, args ...any) *controllers.Event {
	ev := &controllers.Event{Kind: controllers.OSC}
	ev.AddrLen = uint8(copy(ev.Addr[:], addr))
	str := false
	for i, a := range args {
		arg := &ev.Args[i]
		switch v := a.(type) {
		case float64:
			arg.Type, arg.F, arg.I = 'f', v, int64(v)
		case int:
			arg.Type, arg.F, arg.I = 'i', float64(v), int64(v)
		case string:
			arg.Type, arg.I = 's', int64(len(v))
			if !str {
				str = true
				ev.StrLen = uint8(copy(ev.Str[:], v))
			}
		case bool:
			arg.Type = 'F'
			if v {
				arg.Type, arg.F, arg.I = 'T', 1, 1
			}
		default:
			panic(fmt.Sprintf("oscEv: %T", a))
		}
	}
	ev.NArgs = uint8(len(args))
	return ev
}

func num(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e9 {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%.5g", v)
}

func fmtCmds(cmds []proto.Command) string {
	var b strings.Builder
	for i := range cmds {
		c := &cmds[i]
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%v ch%d", c.Op, c.Channel)
		switch c.Op {
		case proto.OpSet:
			fmt.Fprintf(&b, " %s/%s %s", c.Module.String(), c.Param.String(), num(c.Value))
		case proto.OpNoteOn, proto.OpNoteOff, proto.OpControl:
			fmt.Fprintf(&b, " k%d %s", c.Key, num(c.Value))
		case proto.OpProgram:
			fmt.Fprintf(&b, " k%d", c.Key)
		case proto.OpPitchBend, proto.OpPressure:
			fmt.Fprintf(&b, " %s", num(c.Value))
		}
	}
	return b.String()
}

// apply runs ev and checks that every command is a valid protocol command
// whose parameter the synth knows.
func apply(t *testing.T, m *mapping.Map, ev *controllers.Event) []proto.Command {
	t.Helper()
	out := m.Apply(ev, nil)
	for i := range out {
		if err := out[i].Validate(); err != nil {
			t.Fatalf("%s: invalid command %s: %v", ev.Address(), out[i].String(), err)
		}
		if out[i].Op == proto.OpSet {
			if _, ok := dsp.ParamByName(out[i].Module.String(), out[i].Param.String()); !ok {
				t.Fatalf("%s: the synth does not know %s", ev.Address(), out[i].String())
			}
		}
	}
	return out
}

type step struct {
	name string
	ev   *controllers.Event
	want string
}

func run(t *testing.T, m *mapping.Map, steps []step) {
	t.Helper()
	for _, st := range steps {
		if got := fmtCmds(apply(t, m, st.ev)); got != st.want {
			t.Errorf("%s:\n got: %s\nwant: %s", st.name, got, st.want)
		}
	}
}

func TestShippedMapsCompileAndAreDocumented(t *testing.T) {
	names, err := fs.Glob(maps.FS(), "*.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"generic-keyboard.toml", "open-stage-control.toml", "prototype.toml", "touchosc-simple.toml"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("shipped maps %v, want %v", names, want)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		m := load(t, n)
		if m.Description() == "" || m.Len() == 0 || !m.Enabled() {
			t.Errorf("%s: description %q, %d rules, enabled %v", n, m.Description(), m.Len(), m.Enabled())
		}
		if !strings.Contains(string(readme), n) {
			t.Errorf("README.md does not mention %s", n)
		}
	}
	if _, err := fs.Stat(maps.FS(), "examples/open-stage-control.json"); err != nil {
		t.Errorf("the Open Stage Control session is not embedded: %v", err)
	}
	set, err := mapping.Load(maps.FS())
	if err != nil || len(set.Maps()) != len(want) {
		t.Fatalf("Load: %v, %d maps", err, len(set.Maps()))
	}
}

func TestGenericKeyboard(t *testing.T) {
	m := load(t, "generic-keyboard.toml")
	vel := func(v int32) string { return num(float64(v) / 127) }
	run(t, m, []step{
		{"note on, channel 3", midiEv(controllers.NoteOn, 2, 60, 100), "note-on ch2 k60 " + vel(100)},
		{"note off", midiEv(controllers.NoteOff, 2, 60, 64), "note-off ch2 k60 " + vel(64)},
		{"lowest note", midiEv(controllers.NoteOn, 0, 0, 1), "note-on ch0 k0 " + vel(1)},
		{"highest note", midiEv(controllers.NoteOn, 15, 127, 127), "note-on ch15 k127 1"},
		{"bend up", midiEv(controllers.PitchBend, 0, 0, 16383), "pitch-bend ch0 " + num(8191.0/8192)},
		{"bend centre", midiEv(controllers.PitchBend, 0, 0, 8192), "pitch-bend ch0 0"},
		{"bend down", midiEv(controllers.PitchBend, 0, 0, 0), "pitch-bend ch0 -1"},
		{"aftertouch", midiEv(controllers.Pressure, 0, 0, 127), "pressure ch0 1"},
		{"program change", midiEv(controllers.Program, 0, 24, 0), "program ch0 k24"},
		{"mod wheel", midiEv(controllers.Control, 0, 1, 64), "control ch0 k1 " + vel(64)},
		{"breath", midiEv(controllers.Control, 0, 2, 127), "pressure ch0 1"},
		{"volume", midiEv(controllers.Control, 0, 7, 100), "control ch0 k7 " + vel(100)},
		{"pan", midiEv(controllers.Control, 0, 10, 0), "control ch0 k10 0"},
		{"expression", midiEv(controllers.Control, 0, 11, 127), "control ch0 k11 1"},
		{"sustain down", midiEv(controllers.Control, 0, 64, 127), "control ch0 k64 1"},
		{"sustain up", midiEv(controllers.Control, 0, 64, 0), "control ch0 k64 0"},
		{"resonance", midiEv(controllers.Control, 0, 71, 32), "control ch0 k71 " + vel(32)},
		{"brightness", midiEv(controllers.Control, 0, 74, 96), "control ch0 k74 " + vel(96)},
		{"RPN select", midiEv(controllers.Control, 0, 101, 0), "control ch0 k101 0"},
		{"data entry", midiEv(controllers.Control, 0, 6, 12), "control ch0 k6 " + vel(12)},
		{"attack time, exponential", midiEv(controllers.Control, 0, 73, 64), "set ch0 env/attack " + num(0.001*math.Pow(4000, 64.0/127))},
		{"release time max", midiEv(controllers.Control, 0, 72, 127), "set ch0 env/release 8"},
		{"decay time min", midiEv(controllers.Control, 0, 75, 0), "set ch0 env/decay 0.005"},
		{"vibrato rate", midiEv(controllers.Control, 0, 76, 127), "set ch0 lfo/rate 20"},
		{"vibrato depth", midiEv(controllers.Control, 0, 77, 127), "set ch0 lfo/depth 1"},
		{"reverb send", midiEv(controllers.Control, 0, 91, 127), "set ch0 reverb/mix 1"},
		{"chorus send drives the delay", midiEv(controllers.Control, 0, 93, 0), "set ch0 delay/mix 0"},
		{"all sound off (value 0)", midiEv(controllers.Control, 4, 120, 0), "all-sound-off ch4"},
		{"reset controllers", midiEv(controllers.Control, 4, 121, 0), "reset-controllers ch4"},
		{"all notes off", midiEv(controllers.Control, 4, 123, 0), "all-notes-off ch4"},
		{"poly off ends notes too", midiEv(controllers.Control, 4, 127, 0), "all-notes-off ch4"},
		{"bank select is not mapped", midiEv(controllers.Control, 0, 0, 1), ""},
		{"poly aftertouch is not mapped", midiEv(controllers.PolyPressure, 0, 60, 100), ""},
		{"MIDI start is not mapped", &controllers.Event{Kind: controllers.Start}, ""},
		{"OSC is not for this map", oscEv("/1/fader1", 0.5), ""},
	})
}

func TestTouchOSCSimple(t *testing.T) {
	m := load(t, "touchosc-simple.toml")
	v100 := num(100.0 / 127)
	run(t, m, []step{
		{"fader 1 bottom", oscEv("/1/fader1", 0.0), "set ch0 filter/cutoff 40"},
		{"fader 1 middle: geometric mean", oscEv("/1/fader1", 0.5), "set ch0 filter/cutoff " + num(math.Sqrt(40*16000))},
		{"fader 1 top", oscEv("/1/fader1", 1.0), "set ch0 filter/cutoff 16000"},
		{"fader 2", oscEv("/1/fader2", 1.0), "set ch0 filter/resonance 12"},
		{"fader 3", oscEv("/1/fader3", 0.0), "set ch0 env/attack 0.001"},
		{"fader 4", oscEv("/1/fader4", 1.0), "set ch0 env/release 8"},
		{"fader 5", oscEv("/1/fader5", 0.25), "set ch0 channel/volume 0.25"},
		{"toggle 1 on", oscEv("/1/toggle1", 1.0), "set ch0 delay/mix 0.35"},
		{"toggle 1 off", oscEv("/1/toggle1", 0.0), "set ch0 delay/mix 0"},
		{"toggle 2 on", oscEv("/1/toggle2", 1.0), "set ch0 reverb/mix 0.4"},
		{"toggle 3: sustain", oscEv("/1/toggle3", 1.0), "control ch0 k64 1"},
		{"toggle 4 on: record", oscEv("/1/toggle4", 1.0), "record-start ch0"},
		{"toggle 4 off: stop", oscEv("/1/toggle4", 0.0), "record-stop ch0"},
		{"push 1 press: kick on channel 10", oscEv("/2/push1", 1.0), "note-on ch9 k36 " + v100},
		{"push 1 release", oscEv("/2/push1", 0.0), "note-off ch9 k36 0"},
		{"push 16", oscEv("/2/push16", 1.0), "note-on ch9 k70 " + v100},
		{"push 17 does not exist", oscEv("/2/push17", 1.0), ""},
		{"page 2 toggle 1: preset pad", oscEv("/2/toggle1", 1.0), "set ch0 channel/preset 1"},
		{"page 2 toggle 1 off does nothing", oscEv("/2/toggle1", 0.0), ""},
		{"XY", oscEv("/3/xy", 0.5, 1.0), "set ch0 filter/cutoff " + num(math.Sqrt(60*12000)) + "; set ch0 filter/resonance 10"},
		{"page 3 toggle 2: high-pass", oscEv("/3/toggle2", 1.0), "set ch0 filter/type 1"},
		{"grid cell 1/1", oscEv("/4/multitoggle/1/1", 1.0), "note-on ch0 k36 " + v100},
		{"grid cell 8/8", oscEv("/4/multitoggle/8/8", 1.0), "note-on ch0 k99 " + v100},
		{"grid cell 3/2 off", oscEv("/4/multitoggle/3/2", 0.0), "note-off ch0 k46 0"},
		{"grid cell 9/1 does not exist", oscEv("/4/multitoggle/9/1", 1.0), ""},
		{"page 4 toggle 1: record", oscEv("/4/toggle1", 1.0), "record-start ch0"},
		{"page 4 toggle 4", oscEv("/4/toggle4", 0.0), "reset-controllers ch0"},
	})
	// Every control of the layout does something.
	var addrs []string
	for i := 1; i <= 5; i++ {
		addrs = append(addrs, fmt.Sprintf("/1/fader%d", i))
	}
	for p := 1; p <= 4; p++ {
		for i := 1; i <= 4; i++ {
			addrs = append(addrs, fmt.Sprintf("/%d/toggle%d", p, i))
		}
	}
	for i := 1; i <= 16; i++ {
		addrs = append(addrs, fmt.Sprintf("/2/push%d", i))
	}
	for x := 1; x <= 8; x++ {
		for y := 1; y <= 8; y++ {
			addrs = append(addrs, fmt.Sprintf("/4/multitoggle/%d/%d", x, y))
		}
	}
	addrs = append(addrs, "/3/xy")
	notes := map[uint8]string{}
	for _, a := range addrs {
		out := apply(t, m, oscEv(a, 1.0, 1.0))
		if len(out) == 0 {
			t.Errorf("%s does nothing", a)
		}
		for _, c := range out {
			if c.Op == proto.OpNoteOn && c.Channel == 0 {
				if prev, dup := notes[c.Key]; dup {
					t.Errorf("%s and %s play the same note %d", prev, a, c.Key)
				}
				notes[c.Key] = a
			}
		}
	}
	if len(notes) != 64 {
		t.Errorf("the grid plays %d distinct notes, want 64", len(notes))
	}
}

// A latched grid cell holds its note through the Session until switched off.
func TestTouchOSCGridHoldsNotes(t *testing.T) {
	m := load(t, "touchosc-simple.toml")
	s := mapping.NewSession(mapping.NewLive(mapping.NewSet(m)), nil)
	s.Apply(oscEv("/4/multitoggle/1/1", 1.0), nil)
	s.Apply(oscEv("/4/multitoggle/2/1", 1.0), nil)
	if s.Held() != 2 {
		t.Fatalf("held %d", s.Held())
	}
	s.Apply(oscEv("/4/multitoggle/1/1", 0.0), nil)
	if s.Held() != 1 {
		t.Fatalf("held %d", s.Held())
	}
	s.Apply(oscEv("/4/toggle2", 1.0), nil) // all notes off, every channel
	if s.Held() != 0 {
		t.Fatalf("held %d after panic", s.Held())
	}
}

func TestPrototype(t *testing.T) {
	m := load(t, "prototype.toml")
	on := "note-on ch0 k69 " + num(100.0/127)
	off := "note-off ch0 k69 0"
	run(t, m, []step{
		{"frequency", oscEv("/mod/sine/freq", 440.0), "set ch0 osc1/freq 440"},
		{"frequency via osc1", oscEv("/mod/osc1/frequency", 220), "set ch0 osc1/freq 220"},
		{"engine frequency", oscEv("/engine/freq", 330.0), "set ch0 osc1/freq 330"},
		{"engine gain", oscEv("/engine/gain", 0.5), "set ch0 master/gain 0.5"},
		{"sine amplitude", oscEv("/mod/sine/amp", 0.3), "set ch0 osc1/level 0.3"},
		{"adsr attack", oscEv("/mod/adsr/attack", 0.02), "set ch0 env/attack 0.02"},
		{"env release", oscEv("/mod/env/release", 1.5), "set ch0 env/release 1.5"},
		{"filter cutoff", oscEv("/mod/filter/cutoff", 1200.0), "set ch0 filter/cutoff 1200"},
		{"filter q", oscEv("/mod/filter/q", 4.0), "set ch0 filter/resonance 4"},
		{"lfo rate", oscEv("/mod/lfo/rate", 5.0), "set ch0 lfo/rate 5"},
		{"delay feedback", oscEv("/mod/delay/feedback", 0.4), "set ch0 delay/feedback 0.4"},
		{"reverb room", oscEv("/mod/reverb/room", 0.8), "set ch0 reverb/size 0.8"},
		{"master volume", oscEv("/mod/master/volume", 0.9), "set ch0 master/gain 0.9"},
		{"out of range is clamped", oscEv("/mod/filter/cutoff", 99999.0), "set ch0 filter/cutoff 24000"},
		{"unknown parameter", oscEv("/mod/sine/colour", 1.0), ""},
		{"unknown module", oscEv("/mod/granular/size", 1.0), ""},
		{"gate 1", oscEv("/gate/adsr", 1), on},
		{"gate 0", oscEv("/gate/adsr", 0), off},
		{"gate 1.0", oscEv("/gate/adsr", 1.0), on},
		{`gate "on"`, oscEv("/gate/adsr", "on"), on},
		{`gate "off"`, oscEv("/gate/adsr", "off"), off},
		{`gate "true"`, oscEv("/gate/adsr", "true"), on},
		{`gate "false"`, oscEv("/gate/adsr", "false"), off},
		{"gate T", oscEv("/gate/adsr", true), on},
		{"gate F", oscEv("/gate/adsr", false), off},
		{"gate on env", oscEv("/gate/env", 1), on},
	})
	// The synth names: every /mod/<module>/<param> that the map takes sets a
	// parameter the synth resolves (apply checks), for every module of the
	// prototype.
	for _, mod := range []string{"sine", "osc1", "adsr", "env", "filter", "lfo", "delay", "reverb", "master"} {
		found := 0
		for _, p := range []string{"freq", "amp", "wave", "attack", "decay", "sustain", "release", "cutoff", "resonance", "q", "rate", "depth", "shape", "time", "feedback", "mix", "size", "damping", "gain", "drive"} {
			found += len(apply(t, m, oscEv("/mod/"+mod+"/"+p, 0.5)))
		}
		if found < 2 {
			t.Errorf("module %s: only %d parameters answer", mod, found)
		}
	}
}

// The prototype's bug: the string "off" was read as true, so the note it
// should have released stayed stuck. Every release form must leave no note
// held, and the frequency set before the gate is the one that plays.
func TestPrototypeGateNeverSticks(t *testing.T) {
	m := load(t, "prototype.toml")
	for _, release := range []any{0, 0.0, "off", "false", "OFF", false} {
		s := mapping.NewSession(mapping.NewLive(mapping.NewSet(m)), nil)
		out := s.Apply(oscEv("/mod/sine/freq", 261.63), nil)
		out = s.Apply(oscEv("/gate/adsr", 1), out)
		if got := fmtCmds(out); got != "set ch0 osc1/freq 261.63; note-on ch0 k69 "+num(100.0/127) {
			t.Fatalf("start: %s", got)
		}
		if s.Held() != 1 {
			t.Fatalf("held %d after the gate", s.Held())
		}
		out = s.Apply(oscEv("/gate/adsr", release), nil)
		if s.Held() != 0 || fmtCmds(out) != "note-off ch0 k69 0" {
			t.Errorf("release %#v: %s, %d notes still held", release, fmtCmds(out), s.Held())
		}
	}
}

func TestOpenStageControl(t *testing.T) {
	m := load(t, "open-stage-control.toml")
	run(t, m, []step{
		{"keyboard press", oscEv("/chronus/keyboard", 60.0, 0.8), "note-on ch0 k60 0.8"},
		{"keyboard release", oscEv("/chronus/keyboard", 60.0, 0.0), "note-off ch0 k60 0"},
		{"drum pad", oscEv("/chronus/drum", 38.0, 1.0), "note-on ch9 k38 " + num(100.0/127)},
		{"drum pad release", oscEv("/chronus/drum", 38.0, 0.0), "note-off ch9 k38 0"},
		{"bend down", oscEv("/chronus/bend", -1.0), "pitch-bend ch0 -1"},
		{"bend centre", oscEv("/chronus/bend", 0.0), "pitch-bend ch0 0"},
		{"mod wheel", oscEv("/chronus/mod", 0.5), "control ch0 k1 0.5"},
		{"cutoff in Hz", oscEv("/chronus/cutoff", 2500.0), "set ch0 filter/cutoff 2500"},
		{"wave switch", oscEv("/chronus/wave", 2.0), "set ch0 osc1/wave 2"},
		{"preset dropdown", oscEv("/chronus/preset", 7.0), "set ch0 channel/preset 7"},
		{"xy", oscEv("/chronus/lfo", 1.0, 0.5), "set ch0 lfo/rate 20; set ch0 lfo/depth 1"},
		{"record on", oscEv("/chronus/record", 1.0), "record-start ch0"},
		{"record off", oscEv("/chronus/record", 0.0), "record-stop ch0"},
	})
}

// The example session's widgets send what the map expects: every message a
// widget can send (its range's ends and middle, each key, each value) is
// mapped, and every rule of the map is reached by some widget.
func TestOpenStageControlSessionMatchesMap(t *testing.T) {
	m := load(t, "open-stage-control.toml")
	raw, err := fs.ReadFile(maps.FS(), "examples/open-stage-control.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Type    string         `json:"type"`
		Content map[string]any `json:"content"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Type != "session" || doc.Content["type"] != "root" {
		t.Fatalf("not an Open Stage Control session: type %q, root %v", doc.Type, doc.Content["type"])
	}
	var widgets []map[string]any
	var walk func(w map[string]any)
	walk = func(w map[string]any) {
		for _, key := range []string{"widgets", "tabs"} {
			list, _ := w[key].([]any)
			for _, c := range list {
				cw := c.(map[string]any)
				widgets = append(widgets, cw)
				walk(cw)
			}
		}
	}
	walk(doc.Content)
	if len(widgets) < 10 {
		t.Fatalf("%d widgets", len(widgets))
	}
	rangeOf := func(w map[string]any, key string) (lo, hi float64) {
		r, _ := w[key].(map[string]any)
		lo, hi = 0, 1
		if r != nil {
			lo, hi = r["min"].(float64), r["max"].(float64)
		}
		return lo, hi
	}
	reached := map[string]bool{}
	for _, w := range widgets {
		typ, id := w["type"].(string), w["id"].(string)
		addr, _ := w["address"].(string)
		if addr == "" || addr == "auto" {
			addr = "/" + id
		}
		var pre []any
		switch p := w["preArgs"].(type) {
		case []any:
			pre = p
		case float64:
			pre = []any{p}
		}
		var messages [][]any
		switch typ {
		case "fader", "knob":
			lo, hi := rangeOf(w, "range")
			for _, v := range []float64{lo, (lo + hi) / 2, hi} {
				messages = append(messages, []any{v})
			}
		case "button":
			messages = append(messages, []any{w["on"].(float64)}, []any{w["off"].(float64)})
		case "keyboard":
			start, keys := w["start"].(float64), w["keys"].(float64)
			for k := start; k < start+keys; k++ {
				messages = append(messages, []any{k, w["on"].(float64)}, []any{k, w["off"].(float64)})
			}
		case "xy":
			xlo, xhi := rangeOf(w, "rangeX")
			ylo, yhi := rangeOf(w, "rangeY")
			messages = append(messages, []any{xlo, ylo}, []any{xhi, yhi})
		case "switch", "dropdown":
			for _, v := range w["values"].(map[string]any) {
				messages = append(messages, []any{v.(float64)})
			}
		default:
			t.Fatalf("widget %s: type %s is not covered by this test", id, typ)
		}
		for i, msg := range messages {
			args := append(append([]any{}, pre...), msg...)
			out := apply(t, m, oscEv(addr, args...)) // numbers go as floats, o-s-c's default
			// A button's release may rightly do nothing (a one-shot action).
			if len(out) == 0 && !(typ == "button" && i == 1) {
				t.Errorf("widget %s (%s) sends %s %v, which the map ignores", id, typ, addr, args)
			}
		}
		reached[addr] = true
	}
	src, _ := fs.ReadFile(maps.FS(), "open-stage-control.toml")
	for _, line := range strings.Split(string(src), "\n") {
		if rest, ok := strings.CutPrefix(line, "address = \""); ok {
			a := rest[:strings.IndexByte(rest, '"')]
			if !reached[a] {
				t.Errorf("the map's address %s is sent by no widget of the session", a)
			}
		}
	}
}

// The examples in README.md compile, and its sample error lines are the
// ones Compile gives for the mistakes they describe.
func TestReadmeExamples(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(readme), "```toml\n")[1:]
	if len(blocks) < 4 {
		t.Fatalf("%d TOML examples in README.md", len(blocks))
	}
	for i, b := range blocks {
		src := b[:strings.Index(b, "```")]
		if _, err := mapping.Compile(fmt.Sprintf("README example %d", i+1), []byte(src)); err != nil {
			t.Errorf("%v\n%s", err, src)
		}
	}
	mistakes := map[string]string{
		`unknown parameter "filter/cutof"; did you mean "filter/cutoff"?`: "[[rule]]\ncc = 1\nto = { do = \"set\", param = \"filter/cutof\" }\n",
		`unknown key "chanel" in a rule; did you mean "channel"?`:         "[[rule]]\ncc = 1\nchanel = 2\nto = { do = \"control\" }\n",
		`range [0, 30000] is outside filter/cutoff (10..24000)`:           "[[rule]]\ncc = 1\nto = { do = \"set\", param = \"filter/cutoff\", range = [0, 30000] }\n",
		`unexpected character U+007D '}' at start of value`:               "[[rule]]\ncc = 1\nto = { do = \"control\", number = }\n",
	}
	for msg, src := range mistakes {
		_, err := mapping.Compile("x.toml", []byte(src))
		if err == nil || !strings.HasSuffix(err.Error(), ": "+msg) {
			t.Errorf("got %v, want it to end in %q", err, msg)
		}
		if !strings.Contains(string(readme), msg) {
			t.Errorf("README.md does not show %q", msg)
		}
	}
}
