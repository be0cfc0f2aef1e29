package mapping

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/chronus-audio/chronus/controllers"
	"github.com/chronus-audio/chronus/engine/proto"
)

// kitchenSink exercises every action, filter and value source.
const kitchenSink = `
[map]
description = "every feature"

[[rule]]
name = "keys"
kind = "note"
channel = [1, 2]
note = [36, 96]
to = { do = "note" }

[[rule]]
name = "low keys: up an octave on channel 3 at a fixed velocity"
kind = "note"
note = [0, 35]
to = { do = "note", transpose = 12, channel = 3, velocity = 90 }

[[rule]]
cc = 74
to = { do = "set", param = "filter/cutoff", range = [100, 10000], curve = "exponential" }

[[rule]]
cc = 75
to = { do = "set", param = "filter/cutoff", range = [100, 10000], curve = "logarithmic" }

[[rule]]
cc = 76
to = { do = "set", param = "delay/mix", curve = "inverted" }

[[rule]]
cc = 77
to = { do = "set", param = "osc1/wave", steps = 6 }

[[rule]]
cc = 20
value = [64, 127]
to = { do = "trigger", param = "lfo/shape", value = 3 }

[[rule]]
cc = 21
to = { do = "toggle", param = "delay/mix", range = [0, 0.5], latch = true }

[[rule]]
cc = 23
to = { do = "toggle", param = "filter/type", range = [0, 1] }

[[rule]]
cc = 22
to = { do = "record", latch = true }

[[rule]]
kind = "pitch-bend"
to = [ { do = "bend" }, { do = "set", param = "filter/envamount", range = [-2, 2] } ]

[[rule]]
kind = "poly-pressure"
to = { do = "pressure" }

[[rule]]
kind = "program"
to = { do = "program" }

[[rule]]
cc = 123
to = { do = "all-notes-off", when = "any", channel = "all" }

[[rule]]
kind = "start"
to = { do = "record-start" }

[[rule]]
address = "/synth/cutoff"
to = { do = "set", param = "filter/cutoff", range = [100, 10000], curve = "exponential" }

[[rule]]
address = "/pad/*"
to = { do = "note", key = 60, velocity = "value" }

[[rule]]
address = "/xy"
to = [
  { do = "set", param = "filter/cutoff", curve = "none", arg = 0 },
  { do = "set", param = "filter/resonance", arg = 1, in = [0, 100], range = [1, 11] },
]

[[rule]]
address = "/gate"
to = { do = "note", key = 69 }

[[rule]]
address = "/knob"
in = [-64, 63]
to = { do = "control", number = 1 }

[[rule]]
address = "/preset"
in = [0, 127]
to = { do = "program", number = "value" }

[[rule]]
address = "/load"
to = { do = "patch-load", name = "warm-pad" }

[[rule]]
address = "/grid/*/[1-2]"
to = { do = "note", key = "$2", transpose = 40 }

[[rule]]
address = "/keys"
arg = 1
to = { do = "note", key_arg = 0, velocity = "value" }

[[rule]]
address = "/stop"
final = true
to = { do = "record-stop" }

[[rule]]
address = "/stop"
to = { do = "status" }

[[rule]]
device = "Nano"
cc = 1
to = { do = "control", number = 2 }

[[rule]]
address = "/fixed"
to = { do = "set", param = "master/gain", channel = 5, curve = "none" }
`

func TestApply(t *testing.T) {
	m := mustCompile(t, kitchenSink)
	u64 := 64.0 / 127
	allOff := make([]string, 16)
	for ch := range allOff {
		allOff[ch] = fmt.Sprintf("all-notes-off ch%d", ch)
	}
	tests := []struct {
		name string
		ev   *controllers.Event
		want string
	}{
		{"note on keeps key, velocity, channel", midiEv(controllers.NoteOn, 1, 60, 64), "note-on ch1 k60 " + num(u64)},
		{"note off", midiEv(controllers.NoteOff, 1, 60, 0), "note-off ch1 k60 0"},
		{"note off with release velocity", midiEv(controllers.NoteOff, 0, 60, 127), "note-off ch0 k60 1"},
		{"note on velocity 0 is a note off", midiEv(controllers.NoteOn, 0, 60, 0), "note-off ch0 k60 0"},
		{"channel filter", midiEv(controllers.NoteOn, 2, 60, 64), ""},
		{"note filter and transpose", midiEv(controllers.NoteOn, 0, 30, 10), "note-on ch2 k42 " + num(90.0/127)},
		{"exponential at 0", midiEv(controllers.Control, 0, 74, 0), "set ch0 filter/cutoff 100"},
		{"exponential at 127", midiEv(controllers.Control, 0, 74, 127), "set ch0 filter/cutoff 10000"},
		{"exponential at 64", midiEv(controllers.Control, 0, 74, 64), "set ch0 filter/cutoff " + num(100*math.Pow(100, u64))},
		{"logarithmic at 64", midiEv(controllers.Control, 0, 75, 64), "set ch0 filter/cutoff " + num(100+9900*math.Log(1+99*u64)/math.Log(100))},
		{"inverted at 0", midiEv(controllers.Control, 0, 76, 0), "set ch0 delay/mix 1"},
		{"inverted at 127", midiEv(controllers.Control, 0, 76, 127), "set ch0 delay/mix 0"},
		{"stepped", midiEv(controllers.Control, 0, 77, 64), "set ch0 osc1/wave " + num(math.Round(u64*5))},
		{"value filter rejects", midiEv(controllers.Control, 0, 20, 63), ""},
		{"trigger on press", midiEv(controllers.Control, 0, 20, 64), "set ch0 lfo/shape 3"},
		{"latch without a session: press gives on", midiEv(controllers.Control, 0, 21, 127), "set ch0 delay/mix 0.5"},
		{"latch ignores release", midiEv(controllers.Control, 0, 21, 0), ""},
		{"switch on", midiEv(controllers.Control, 0, 23, 127), "set ch0 filter/type 1"},
		{"switch off", midiEv(controllers.Control, 0, 23, 0), "set ch0 filter/type 0"},
		{"bend top", midiEv(controllers.PitchBend, 0, 0, 16383), "pitch-bend ch0 " + num(8191.0/8192) + "; set ch0 filter/envamount " + num(-2+4*(8191.0/8192+1)/2)},
		{"bend centre", midiEv(controllers.PitchBend, 0, 0, 8192), "pitch-bend ch0 0; set ch0 filter/envamount 0"},
		{"bend bottom", midiEv(controllers.PitchBend, 0, 0, 0), "pitch-bend ch0 -1; set ch0 filter/envamount -2"},
		{"poly pressure per note", midiEv(controllers.PolyPressure, 0, 61, 127), "pressure ch0 k61 1"},
		{"program", midiEv(controllers.Program, 3, 5, 0), "program ch3 k5"},
		{"all notes off with value 0, every channel", midiEv(controllers.Control, 0, 123, 0), strings.Join(allOff, "; ")},
		{"MIDI start", &controllers.Event{Kind: controllers.Start}, "record-start ch0"},
		{"no kind", &controllers.Event{}, ""},
		{"unknown kind", &controllers.Event{Kind: 200}, ""},
		{"OSC fader", oscEv("/synth/cutoff", 0.5), "set ch0 filter/cutoff 1000"},
		{"OSC int argument", oscEv("/synth/cutoff", 1), "set ch0 filter/cutoff 10000"},
		{"OSC value clamped", oscEv("/synth/cutoff", 7.0), "set ch0 filter/cutoff 10000"},
		{"OSC without the argument is ignored by set", oscEv("/synth/cutoff"), ""},
		{"OSC string is no value", oscEv("/synth/cutoff", "loud"), ""},
		{"pattern rule", oscEv("/pad/a", 0.25), "note-on ch0 k60 0.25"},
		{"velocity-sensitive pad release", oscEv("/pad/a", 0.0), "note-off ch0 k60 0"},
		{"pattern rule needs its segment count", oscEv("/pad/a/b", 1.0), ""},
		{"XY: two arguments, two targets", oscEv("/xy", 5000.0, 50.0), "set ch0 filter/cutoff 5000; set ch0 filter/resonance 6"},
		{"gate on", oscEv("/gate", 1.0), "note-on ch0 k69 " + num(100.0/127)},
		{"gate off", oscEv("/gate", 0.0), "note-off ch0 k69 0"},
		{`gate "on"`, oscEv("/gate", "on"), "note-on ch0 k69 " + num(100.0/127)},
		{`gate "off"`, oscEv("/gate", "off"), "note-off ch0 k69 0"},
		{`gate "OFF"`, oscEv("/gate", "OFF"), "note-off ch0 k69 0"},
		{`gate "false"`, oscEv("/gate", "false"), "note-off ch0 k69 0"},
		{`gate "true"`, oscEv("/gate", "true"), "note-on ch0 k69 " + num(100.0/127)},
		{"gate True", oscEv("/gate", true), "note-on ch0 k69 " + num(100.0/127)},
		{"gate False", oscEv("/gate", false), "note-off ch0 k69 0"},
		{"gate int 0", oscEv("/gate", 0), "note-off ch0 k69 0"},
		{`gate "0"`, oscEv("/gate", "0"), "note-off ch0 k69 0"},
		{`gate "1"`, oscEv("/gate", "1"), "note-on ch0 k69 " + num(100.0/127)},
		{`gate "banana" is ignored`, oscEv("/gate", "banana"), ""},
		{"gate without argument is a press", oscEv("/gate"), "note-on ch0 k69 " + num(100.0/127)},
		{"gate nil is a press", oscEv("/gate", nil), "note-on ch0 k69 " + num(100.0/127)},
		{"input range", oscEv("/knob", 0.0), "control ch0 k1 " + num(64.0/127)},
		{"program from a value", oscEv("/preset", 5), "program ch0 k5"},
		{"patch load on a bare message", oscEv("/load"), "patch-load ch0 warm-pad"},
		{"key from an address segment", oscEv("/grid/3/2", 1.0), "note-on ch0 k43 " + num(100.0/127)},
		{"segment outside the class", oscEv("/grid/3/3", 1.0), ""},
		{"segment not a number", oscEv("/grid/x/1", 1.0), ""},
		{"key from an argument", oscEv("/keys", 62.0, 0.5), "note-on ch0 k62 0.5"},
		{"key from an argument, release", oscEv("/keys", 62.0, 0.0), "note-off ch0 k62 0"},
		{"key argument out of range", oscEv("/keys", 200.0, 0.5), ""},
		{"final stops later rules", oscEv("/stop"), "record-stop ch0"},
		{"device rule without a device", midiEv(controllers.Control, 0, 1, 10), ""},
		{"fixed target channel", oscEv("/fixed", 2.0), "set ch4 master/gain 2"},
		{"curve none clamps to the parameter", oscEv("/fixed", 9.0), "set ch4 master/gain 4"},
		{"incoming pattern matches a literal rule", oscEv("/synth/cut*", 0.5), "set ch0 filter/cutoff 1000"},
		{"incoming pattern equal to a rule pattern", oscEv("/pad/*", 1.0), "note-on ch0 k60 1"},
		{"malformed incoming pattern", oscEv("/synth/cut[", 0.5), ""},
		{"unknown address", oscEv("/nothing", 0.5), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := m.Apply(tc.ev, nil)
			checkValid(t, got)
			if s := fmtCmds(got); s != tc.want {
				t.Errorf("\n got: %s\nwant: %s", s, tc.want)
			}
		})
	}
}

func TestApplyFromDevice(t *testing.T) {
	m := mustCompile(t, kitchenSink)
	if !m.NeedsDevice() {
		t.Fatal("NeedsDevice = false with a device rule")
	}
	ev := midiEv(controllers.Control, 0, 1, 127)
	if got := fmtCmds(m.ApplyFrom(ev, "KORG nanoKEY2 MIDI 1", nil)); got != "control ch0 k2 1" {
		t.Errorf("matching device: %s", got)
	}
	if got := fmtCmds(m.ApplyFrom(ev, "Keystation 49", nil)); got != "" {
		t.Errorf("other device: %s", got)
	}
}

// [map] channel sets the default output channel; a target may still take
// the event's.
func TestApplyMapChannel(t *testing.T) {
	m := mustCompile(t, `
[map]
channel = 2
[[rule]]
cc = 7
to = [ { do = "control" }, { do = "control", channel = "event" } ]
`)
	if got := fmtCmds(m.Apply(midiEv(controllers.Control, 9, 7, 127), nil)); got != "control ch1 k7 1; control ch9 k7 1" {
		t.Errorf("got %s", got)
	}
}

// Every matching rule of every map fires, maps in file-name order; a final
// rule stops the later maps too.
func TestSetLayering(t *testing.T) {
	a, _ := Compile("b-second.toml", []byte("[[rule]]\ncc = 1\nto = { do = \"control\", number = 2 }\n"))
	b, _ := Compile("a-first.toml", []byte("[[rule]]\ncc = 1\nto = { do = \"control\", number = 3 }\n[[rule]]\ncc = 1\nto = { do = \"control\", number = 4 }\n"))
	c, _ := Compile("00-user.toml", []byte("[[rule]]\ncc = 1\nvalue = [0, 10]\nfinal = true\nto = { do = \"control\", number = 5 }\n"))
	s := NewSet(a, b, c)
	if got := fmtCmds(s.Apply(midiEv(controllers.Control, 0, 1, 127), nil)); got != "control ch0 k3 1; control ch0 k4 1; control ch0 k2 1" {
		t.Errorf("all rules: %s", got)
	}
	if got := fmtCmds(s.Apply(midiEv(controllers.Control, 0, 1, 0), nil)); got != "control ch0 k5 0" {
		t.Errorf("final: %s", got)
	}
	// A file with the same name replaces the earlier one.
	b2, _ := Compile("/home/me/maps/a-first.toml", []byte("[[rule]]\ncc = 1\nto = { do = \"control\", number = 9 }\n"))
	s = NewSet(a, b, b2)
	if got := fmtCmds(s.Apply(midiEv(controllers.Control, 0, 1, 127), nil)); got != "control ch0 k9 1; control ch0 k2 1" {
		t.Errorf("replaced: %s", got)
	}
	if s.Lookup("a-first.toml") != b2 {
		t.Error("Lookup does not find the replacement")
	}
}

func TestApplyAppendsToDst(t *testing.T) {
	m := mustCompile(t, kitchenSink)
	dst := []proto.Command{{Op: proto.OpStatus}}
	dst = m.Apply(oscEv("/synth/cutoff", 0.5), dst)
	if len(dst) != 2 || dst[0].Op != proto.OpStatus || dst[1].Op != proto.OpSet {
		t.Fatalf("got %s", fmtCmds(dst))
	}
}
