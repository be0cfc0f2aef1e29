package mapping

import (
	"fmt"
	"io/fs"
	"math"
	"strings"
	"testing"

	"github.com/chronus-audio/chronus/controllers"
	"github.com/chronus-audio/chronus/engine/proto"
	"github.com/chronus-audio/chronus/maps"
)

// fmtOuts renders outputs compactly: "midi[port] 90 3c 64",
// "osc /1/fader1 f0.5 ->all".
func fmtOuts(outs []Output) string {
	var b strings.Builder
	for i := range outs {
		o := &outs[i]
		if i > 0 {
			b.WriteString("; ")
		}
		switch o.Kind {
		case OutMIDI:
			fmt.Fprintf(&b, "midi[%s] % x", o.Port, o.Message())
		case OutOSC:
			fmt.Fprintf(&b, "osc %s", o.Address())
			for _, a := range o.Args[:o.NArgs] {
				switch a.Type {
				case 's', 'S':
					fmt.Fprintf(&b, " s%s", o.String())
				case 'i':
					fmt.Fprintf(&b, " i%d", a.I)
				default:
					fmt.Fprintf(&b, " %c%s", a.Type, num(a.F))
				}
			}
			switch o.Dest {
			case DestAll:
				b.WriteString(" ->all")
			case DestSender:
				b.WriteString(" ->sender")
			case DestHost:
				fmt.Fprintf(&b, " ->%v", o.Host)
			}
		default:
			b.WriteString("?")
		}
		if o.FromOSC && o.Source != 0 {
			fmt.Fprintf(&b, " (from osc %d)", o.Source)
		}
	}
	return b.String()
}

const bridgeMap = `
[[rule]]
name = "keys thru to the external synth, one octave up on channel 3"
kind = "note"
device = "keystation"
to = { do = "midi-out", port = "Synth", type = "note", channel = 3, number = "event", velocity = 90 }

[[rule]]
name = "plain thru"
kind = ["cc", "bend", "program", "pressure", "poly-pressure"]
device = "keystation"
to = { do = "midi-out", port = "Synth" }

[[rule]]
name = "a knob to a TouchOSC fader"
cc = 74
to = { do = "osc-out", address = "/1/fader1" }

[[rule]]
name = "notes light a LED grid"
kind = "note"
to = { do = "osc-out", address = "/leds", args = "int", range = [0, 127] }

[[rule]]
name = "fader to CC 7 on a motor fader, and to the synth"
address = "/1/fader2"
to = [
  { do = "midi-out", port = "X-Touch", type = "cc", number = 7, channel = 1 },
  { do = "set", param = "master/gain", range = [0, 1] },
]

[[rule]]
name = "push pads play notes out"
address = "/2/push*"
to = { do = "midi-out", type = "note", number = 36 }

[[rule]]
address = "/bend"
to = { do = "midi-out", type = "bend", channel = 2 }

[[rule]]
address = "/prog"
arg = 0
to = { do = "midi-out", type = "program", number = "value", in = [0, 127], range = [0, 127] }

[[rule]]
address = "/press"
to = { do = "midi-out", type = "pressure", range = [0, 127] }

[[rule]]
address = "/relay/*"
to = [
  { do = "osc-out", address = "event", args = "event", dest = "all" },
  { do = "osc-out", address = "/ack", args = "none", dest = "sender" },
  { do = "osc-out", address = "/log", dest = "10.0.0.5:9001", range = [-1, 1] },
]
`

func TestOutputApply(t *testing.T) {
	m := mustCompile(t, bridgeMap)
	kp := func(ev *controllers.Event) *controllers.Event { return ev }
	fromOSC := func(ev *controllers.Event, src uint16) *controllers.Event { ev.Source = src; return ev }
	tests := []struct {
		name, device string
		ev           *controllers.Event
		want         string
		cmds         string
	}{
		{"note on thru", "Keystation 49", kp(midiEv(controllers.NoteOn, 0, 60, 100)),
			"midi[synth] 92 3c 5a; osc /leds i100 ->all", ""},
		{"note off thru", "Keystation 49", midiEv(controllers.NoteOff, 0, 60, 40),
			"midi[synth] 82 3c 00; osc /leds i40 ->all", ""},
		{"note from another device: only the LEDs", "nanoKEY", midiEv(controllers.NoteOn, 4, 61, 127),
			"osc /leds i127 ->all", ""},
		{"cc thru keeps its channel", "Keystation", midiEv(controllers.Control, 5, 1, 64), "midi[synth] b5 01 40", ""},
		{"bend thru", "Keystation", midiEv(controllers.PitchBend, 0, 0, 16383), "midi[synth] e0 7f 7f", ""},
		{"program thru", "Keystation", midiEv(controllers.Program, 1, 5, 0), "midi[synth] c1 05", ""},
		{"pressure thru", "Keystation", midiEv(controllers.Pressure, 1, 0, 77), "midi[synth] d1 4d", ""},
		{"poly pressure thru", "Keystation", midiEv(controllers.PolyPressure, 1, 60, 9), "midi[synth] a1 3c 09", ""},
		{"knob to OSC", "", midiEv(controllers.Control, 0, 74, 127), "osc /1/fader1 f1 ->all", ""},
		{"knob to OSC, half", "", midiEv(controllers.Control, 0, 74, 0), "osc /1/fader1 f0 ->all", ""},
		{"fader to a motor fader and the synth", "", fromOSC(oscEv("/1/fader2", 0.5), 3),
			"midi[x-touch] b0 07 40 (from osc 3)", "set ch0 master/gain 0.5"},
		{"push press", "", oscEv("/2/push5", 1.0), "midi[] 90 24 7f", ""},
		{"push release", "", oscEv("/2/push5", 0.0), "midi[] 80 24 00", ""},
		{"bend centre", "", oscEv("/bend", 0.5), "midi[] e1 00 40", ""},
		{"bend top", "", oscEv("/bend", 1.0), "midi[] e1 7f 7f", ""},
		{"bend bottom", "", oscEv("/bend", 0.0), "midi[] e1 00 00", ""},
		{"program from a value", "", oscEv("/prog", 12), "midi[] c0 0c", ""},
		{"pressure", "", oscEv("/press", 0.5), "midi[] d0 40", ""},
		{"a message without its value sends no cc", "", oscEv("/1/fader2"), "", ""},
		{"relay", "", fromOSC(oscEv("/relay/x", 0.25, "hi", 3), 7),
			"osc /relay/x f0.25 shi i3 ->all (from osc 7); osc /ack ->sender (from osc 7); osc /log f-0.5 ->10.0.0.5:9001 (from osc 7)", ""},
		{"relay without a value: only what needs none", "", fromOSC(oscEv("/relay/y"), 2),
			"osc /relay/y ->all (from osc 2); osc /ack ->sender (from osc 2)", ""},
	}
	for _, tc := range tests {
		cmds, outs := m.ApplyOut(tc.ev, tc.device, nil, nil)
		if got := fmtOuts(outs); got != tc.want {
			t.Errorf("%s:\n got: %s\nwant: %s", tc.name, got, tc.want)
		}
		if got := fmtCmds(cmds); got != tc.cmds {
			t.Errorf("%s: commands %s, want %s", tc.name, got, tc.cmds)
		}
		// Apply without outputs gives the same commands and nothing else.
		if got := fmtCmds(m.ApplyFrom(tc.ev, tc.device, nil)); got != tc.cmds {
			t.Errorf("%s: ApplyFrom gives %s, want %s", tc.name, got, tc.cmds)
		}
	}
}

// A bend passes through a midi-out bend target unchanged for every value.
func TestOutputBendPassesThrough(t *testing.T) {
	m := mustCompile(t, "[[rule]]\nkind = \"bend\"\nto = { do = \"midi-out\", type = \"bend\" }\n")
	for raw := int32(0); raw <= 16383; raw++ {
		_, outs := m.ApplyOut(midiEv(controllers.PitchBend, 0, 0, raw), "", nil, nil)
		if len(outs) != 1 {
			t.Fatalf("bend %d: %d outputs", raw, len(outs))
		}
		msg := outs[0].Message()
		if got := int32(msg[1]) | int32(msg[2])<<7; got != raw || msg[0] != 0xE0 {
			t.Fatalf("bend %d went out as % x (%d)", raw, msg, got)
		}
	}
}

// A curve on a midi-out target is the same curve as on a set target: the
// exponential position of a CC, scaled to 0..127.
func TestOutputCurve(t *testing.T) {
	m := mustCompile(t, "[[rule]]\ncc = 1\nto = { do = \"midi-out\", type = \"cc\", number = 2, range = [1, 127], curve = \"exponential\" }\n")
	for _, raw := range []int32{0, 32, 64, 100, 127} {
		_, outs := m.ApplyOut(midiEv(controllers.Control, 0, 1, raw), "", nil, nil)
		want := math.Round(math.Pow(127, float64(raw)/127)) // 1·(127/1)^u
		if len(outs) != 1 || float64(outs[0].MIDI[2]) != want {
			t.Fatalf("cc %d: %s, want value %v", raw, fmtOuts(outs), want)
		}
	}
}

func TestOutputCompileErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"osc-out without address", "[[rule]]\ncc = 1\nto = { do = \"osc-out\" }\n",
			`test.toml:3:1: do = "osc-out" needs the address to send to, e.g. address = "/1/fader1", or "event" for the message's own address`},
		{"osc-out pattern address", "[[rule]]\ncc = 1\nto = { do = \"osc-out\", address = \"/a/*\" }\n",
			`test.toml:3:24: address "/a/*" must be a plain OSC address: "/" and printable ASCII without spaces, "#" or pattern characters`},
		{"event address from MIDI", "[[rule]]\ncc = 1\nto = { do = \"osc-out\", address = \"event\" }\n",
			`test.toml:3:24: address = "event" sends on the OSC message's own address, but the rule does not match only OSC messages`},
		{"bad dest", "[[rule]]\ncc = 1\nto = { do = \"osc-out\", address = \"/a\", dest = \"tablet:9000\" }\n",
			`test.toml:3:40: dest must be "all", "sender" or an IP address and port like "192.168.1.20:9000", not "tablet:9000"`},
		{"sender of a MIDI event", "[[rule]]\ncc = 1\nto = { do = \"osc-out\", address = \"/a\", dest = \"sender\" }\n",
			`test.toml:3:40: dest = "sender" answers the OSC client that sent the message, but the rule does not match only OSC messages`},
		{"bad args", "[[rule]]\naddress = \"/x\"\nto = { do = \"osc-out\", address = \"/a\", args = \"all\" }\n",
			`test.toml:3:40: args must be "value", "int", "event" or "none", not "all"`},
		{"range with args none", "[[rule]]\naddress = \"/x\"\n[[rule.to]]\ndo = \"osc-out\"\naddress = \"/a\"\nargs = \"none\"\nrange = [0, 2]\n",
			`test.toml:7:1: range only applies to args = "value" or "int"`},
		{"midi-out from OSC without type", "[[rule]]\naddress = \"/x\"\nto = { do = \"midi-out\" }\n",
			`test.toml:3:1: do = "midi-out" needs type = "note", "cc", "program", "bend" or "pressure" (only MIDI note, control, bend, pressure and program events pass on as they are)`},
		{"unknown type", "[[rule]]\ncc = 1\nto = { do = \"midi-out\", type = \"sysex\" }\n",
			`test.toml:3:25: type must be "note", "cc", "program", "bend", "pressure" or "event", not "sysex"`},
		{"cc number from OSC", "[[rule]]\naddress = \"/x\"\nto = { do = \"midi-out\", type = \"cc\" }\n",
			"test.toml:3:1: give number: these events carry no note or controller number"},
		{"cc range too wide", "[[rule]]\ncc = 1\nto = { do = \"midi-out\", type = \"cc\", range = [0, 200] }\n",
			"test.toml:3:38: range [0, 200] is outside the target's 0..127 (0..127)"},
		{"velocity on a cc", "[[rule]]\ncc = 1\nto = { do = \"midi-out\", type = \"cc\", velocity = 3 }\n",
			`test.toml:3:38: velocity does not apply to type = "cc"`},
		{"number on a bend", "[[rule]]\nkind = \"bend\"\nto = { do = \"midi-out\", type = \"bend\", number = 3 }\n",
			`test.toml:3:40: number does not apply to type = "bend"`},
		{"midi-out on all channels", "[[rule]]\ncc = 1\nto = { do = \"midi-out\", channel = \"all\" }\n",
			`test.toml:3:25: channel = "all" does not apply to do = "midi-out"; give "event" or 1..16`},
		{"a key of osc-out on midi-out", "[[rule]]\ncc = 1\nto = { do = \"midi-out\", dest = \"all\" }\n",
			`test.toml:3:25: dest does not apply to do = "midi-out" (it takes: port, type, channel, number, velocity, range, curve, steps, arg, in)`},
		{"port typo", "[[rule]]\ncc = 1\nto = { do = \"midi-out\", prot = \"x\" }\n",
			`test.toml:3:25: unknown key "prot" in a target; did you mean "port"?`},
	}
	for _, tc := range tests {
		_, err := Compile("test.toml", []byte(tc.src))
		if err == nil {
			t.Errorf("%s: compiled, want %s", tc.name, tc.want)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("%s:\n got: %v\nwant: %s", tc.name, err, tc.want)
		}
	}
}

// ApplyOut allocates nothing when the slices have room, through a Session
// too, and Session.Apply still gives the same commands.
func TestApplyOutDoesNotAllocate(t *testing.T) {
	m := mustCompile(t, bridgeMap)
	sess := NewSession(NewLive(NewSet(m)), func(*controllers.Event) string { return "Keystation" })
	dst := make([]proto.Command, 0, 16)
	out := make([]Output, 0, 16)
	evs := []*controllers.Event{
		midiEv(controllers.NoteOn, 0, 60, 100), midiEv(controllers.Control, 0, 74, 10),
		midiEv(controllers.PitchBend, 0, 0, 100), oscEv("/1/fader2", 0.3), oscEv("/relay/a", 0.5, "x"),
		oscEv("/2/push1", 1.0), oscEv("/prog", 3),
	}
	sess.Apply(evs[0], dst)
	for _, ev := range evs {
		if n := testing.AllocsPerRun(100, func() { dst, out = sess.ApplyOut(ev, dst[:0], out[:0]) }); n != 0 {
			t.Errorf("Session.ApplyOut(%s %q): %v allocations", ev.Kind, ev.Address(), n)
		}
		if len(out) == 0 {
			t.Errorf("%s %q gave no output", ev.Kind, ev.Address())
		}
		if n := testing.AllocsPerRun(100, func() { dst, out = m.ApplyOut(ev, "Keystation", dst[:0], out[:0]) }); n != 0 {
			t.Errorf("Map.ApplyOut(%s %q): %v allocations", ev.Kind, ev.Address(), n)
		}
	}
	// Session.Apply tracks notes; ApplyOut does the same.
	sess2 := NewSession(NewLive(NewSet(mustCompile(t, "[[rule]]\nnote = 60\nto = [{ do = \"note\" }, { do = \"midi-out\" }]\n"))), nil)
	cmds, outs := sess2.ApplyOut(midiEv(controllers.NoteOn, 0, 60, 100), nil, nil)
	if sess2.Held() != 1 || len(cmds) != 1 || fmtOuts(outs) != "midi[] 90 3c 64" {
		t.Fatalf("held %d, cmds %s, outs %s", sess2.Held(), fmtCmds(cmds), fmtOuts(outs))
	}
}

// The example bridge map in maps/examples compiles and bridges both ways.
func TestExampleBridgeMap(t *testing.T) {
	src, err := fs.ReadFile(maps.FS(), "examples/bridge.toml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Compile("maps/examples/bridge.toml", src)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Enabled() || m.Description() == "" {
		t.Fatalf("enabled %v, description %q", m.Enabled(), m.Description())
	}
	for _, tc := range []struct {
		device string
		ev     *controllers.Event
		want   string
	}{
		{"", oscEv("/1/fader1", 1.0), "midi[x-touch] b0 01 7f"},
		{"", oscEv("/1/fader2", 0.0), "midi[x-touch] b0 02 40"},
		{"X-Touch ONE MIDI 1", midiEv(controllers.Control, 0, 1, 127), "osc /1/fader1 f1 ->all"},
		{"X-Touch ONE MIDI 1", midiEv(controllers.Control, 1, 1, 127), ""}, // channel 2
		{"", oscEv("/2/push1", 1.0), "midi[x-touch] 90 24 7f"},
		{"", oscEv("/2/push1", 0.0), "midi[x-touch] 80 24 00"},
		{"X-Touch", midiEv(controllers.NoteOn, 0, 40, 99), "osc /pads/velocity i99 ->all"},
		{"Keystation 49", midiEv(controllers.NoteOn, 0, 60, 99), "midi[synth] 91 3c 63"},
		{"", oscEv("/1/toggle1", 1.0), "osc /chronus/toggle1 i1 ->192.168.1.50:9100"},
	} {
		_, outs := m.ApplyOut(tc.ev, tc.device, nil, nil)
		if got := fmtOuts(outs); got != tc.want {
			t.Errorf("%s %q from %q: got %s, want %s", tc.ev.Kind, tc.ev.Address(), tc.device, got, tc.want)
		}
	}
}

// An osc-out address fills {number} (0-127) and {channel} (1-16, OSC
// messages count as 1) from the event.
func TestOutputAddressTemplate(t *testing.T) {
	tests := []struct {
		filter, address string
		ev              *controllers.Event
		want            string
	}{
		{`kind = "note"`, "/led/{number}", midiEv(controllers.NoteOn, 0, 36, 100), "/led/36"},
		{`kind = "note"`, "/led/{number}", midiEv(controllers.NoteOff, 0, 0, 0), "/led/0"},
		{`kind = "note"`, "/led/{number}", midiEv(controllers.NoteOn, 0, 127, 1), "/led/127"},
		{`cc = [0, 127]`, "/ch{channel}/fader", midiEv(controllers.Control, 0, 7, 1), "/ch1/fader"},
		{`cc = [0, 127]`, "/ch{channel}/fader", midiEv(controllers.Control, 9, 7, 1), "/ch10/fader"},
		{`cc = [0, 127]`, "/ch{channel}/cc{number}", midiEv(controllers.Control, 15, 74, 1), "/ch16/cc74"},
		{`program = [0, 127]`, "/{channel}/{number}/{number}", midiEv(controllers.Program, 2, 5, 0), "/3/5/5"},
		{`kind = "poly-pressure"`, "/key{number}", midiEv(controllers.PolyPressure, 0, 61, 9), "/key61"},
		{`kind = "bend"`, "/bend/{channel}", midiEv(controllers.PitchBend, 4, 0, 9000), "/bend/5"},
		{`address = "/x"`, "/in/{channel}", oscEv("/x", 0.5), "/in/1"},
		{`kind = "start"`, "/transport{channel}", midiEv(controllers.Start, 0, 0, 0), "/transport1"},
		{`kind = "note"`, "/plain", midiEv(controllers.NoteOn, 3, 60, 1), "/plain"},
	}
	for _, tc := range tests {
		src := fmt.Sprintf("[[rule]]\n%s\nto = { do = \"osc-out\", address = %q, args = \"none\" }\n", tc.filter, tc.address)
		m := mustCompile(t, src)
		_, outs := m.ApplyOut(tc.ev, "", nil, nil)
		if len(outs) != 1 || outs[0].Address() != tc.want {
			t.Errorf("%q with %s %d on channel %d: %s, want %s", tc.address, tc.ev.Kind, tc.ev.Number, tc.ev.Channel+1, fmtOuts(outs), tc.want)
		}
	}
}

// Address templates are checked when the map is read: unknown or unclosed
// placeholders, {number} for events without one, and an expansion that
// could outgrow an OSC address are errors at the address key.
func TestOutputAddressTemplateErrors(t *testing.T) {
	long := "/" + strings.Repeat("a", controllers.MaxAddr-4) // with {number}: 128 bytes at most
	tests := []struct{ name, filter, address, want string }{
		{"typo", `cc = 1`, "/led/{numbr}", `test.toml:3:24: address "/led/{numbr}": unknown placeholder {numbr}; did you mean {number}?`},
		{"unknown", `cc = 1`, "/led/{velocity}",
			`test.toml:3:24: address "/led/{velocity}": unknown placeholder {velocity} (an osc-out address takes {number} and {channel}, and no patterns)`},
		{"a pattern", `cc = 1`, "/a/{x,y}",
			`test.toml:3:24: address "/a/{x,y}": unknown placeholder {x,y} (an osc-out address takes {number} and {channel}, and no patterns)`},
		{"unclosed", `cc = 1`, "/led/{number",
			`test.toml:3:24: address "/led/{number" has a "{" without its "}"; an osc-out address takes the placeholders {number} and {channel}`},
		{"stray brace", `cc = 1`, "/led/}{number}",
			`test.toml:3:24: address "/led/}{number}" must be a plain OSC address: "/" and printable ASCII without spaces, "#" or pattern characters`},
		{"a placeholder is no address", `cc = 1`, "{number}",
			`test.toml:3:24: address "{number}" must be a plain OSC address: "/" and printable ASCII without spaces, "#" or pattern characters`},
		{"number of a bend", `kind = "bend"`, "/b/{number}",
			`test.toml:3:24: address "/b/{number}": {number} needs events with a number (note, control, program, poly-pressure), but the rule matches others`},
		{"number of OSC", `address = "/x"`, "/b/{number}",
			`test.toml:3:24: address "/b/{number}": {number} needs events with a number (note, control, program, poly-pressure), but the rule matches others`},
		{"too long", `cc = 1`, long + "a{number}",
			fmt.Sprintf(`test.toml:3:24: address %q can expand to 129 bytes, more than the 128 an OSC address may have`, long+"a{number}")},
		{"too long without placeholders", `cc = 1`, long + "aaaaa",
			fmt.Sprintf(`test.toml:3:24: address %q is longer than 128 bytes`, long+"aaaaa")},
	}
	for _, tc := range tests {
		src := fmt.Sprintf("[[rule]]\n%s\nto = { do = \"osc-out\", address = %q }\n", tc.filter, tc.address)
		_, err := Compile("test.toml", []byte(src))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s:\n got: %v\nwant: %s", tc.name, err, tc.want)
		}
	}
	// The longest that fits compiles, and its widest expansion fills the
	// address exactly.
	m := mustCompile(t, fmt.Sprintf("[[rule]]\ncc = [0, 127]\nto = { do = \"osc-out\", address = %q }\n", long+"{number}"))
	_, outs := m.ApplyOut(midiEv(controllers.Control, 0, 127, 1), "", nil, nil)
	if len(outs) != 1 || outs[0].Address() != long+"127" || outs[0].AddrLen != controllers.MaxAddr {
		t.Fatalf("the longest template: %d outputs, %q", len(outs), fmtOuts(outs))
	}
}

// A template that does not fit (only a hand-made one can) sends nothing
// rather than a cut address.
func TestOutputAddressTemplateOverflow(t *testing.T) {
	m := mustCompile(t, "[[rule]]\ncc = [0, 127]\nto = { do = \"osc-out\", address = \"/{number}\" }\n")
	m.rules[0].targets[0].out.addr = append([]byte(strings.Repeat("a", controllers.MaxAddr-1)), phNumber)
	for _, num := range []uint8{9, 10} {
		var a [controllers.MaxAddr]byte
		n, ok := expandAddr(&a, m.rules[0].targets[0].out.addr, midiEv(controllers.Control, 0, num, 1))
		if fits := num < 10; ok != fits || ok && int(n) != controllers.MaxAddr {
			t.Fatalf("number %d: %d bytes, ok %v", num, n, ok)
		}
	}
	if _, outs := m.ApplyOut(midiEv(controllers.Control, 0, 100, 1), "", nil, nil); len(outs) != 0 {
		t.Fatalf("an address that does not fit went out: %s", fmtOuts(outs))
	}
}
