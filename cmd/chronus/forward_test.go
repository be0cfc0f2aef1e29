package main

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	gomidi "gitlab.com/gomidi/midi/v2"
	"gitlab.com/gomidi/midi/v2/drivers/testdrv"

	"github.com/chronus-audio/chronus/controllers"
	"github.com/chronus-audio/chronus/controllers/midi"
	"github.com/chronus-audio/chronus/controllers/osc"
	"github.com/chronus-audio/chronus/mapping"
)

// fakeOSC records what would be sent, as "kind:who address args".
type fakeOSC struct {
	mu   sync.Mutex
	sent []string
}

func fmtPacket(p osc.Packet) string {
	m := p.(*osc.Message)
	var b strings.Builder
	b.WriteString(m.Address)
	for _, a := range m.Arguments {
		switch v := a.(type) {
		case float32:
			fmt.Fprintf(&b, " %.4g", v)
		default:
			fmt.Fprintf(&b, " %v", v)
		}
	}
	return b.String()
}

func (f *fakeOSC) add(s string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, s)
	return nil
}
func (f *fakeOSC) Send(p osc.Packet) error { return f.add("all " + fmtPacket(p)) }
func (f *fakeOSC) SendExcept(src uint16, p osc.Packet) error {
	return f.add(fmt.Sprintf("except%d %s", src, fmtPacket(p)))
}
func (f *fakeOSC) Reply(src uint16, p osc.Packet) error {
	return f.add(fmt.Sprintf("reply%d %s", src, fmtPacket(p)))
}
func (f *fakeOSC) SendTo(dst netip.AddrPort, p osc.Packet) error {
	return f.add(fmt.Sprintf("to%v %s", dst, fmtPacket(p)))
}
func (f *fakeOSC) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sent
	f.sent = nil
	return s
}

const bridgeTestMap = `
[[rule]]
address = "/fader"
to = { do = "midi-out", port = "%s", type = "cc", number = 7 }

[[rule]]
cc = 7
to = { do = "osc-out", address = "/fader" }

[[rule]]
note = 1
to = { do = "osc-out", address = "/marker", args = "none" }
`

// TestBridgeLoopSuppression: an OSC fader goes out as MIDI CC 7 to a
// device that echoes everything it receives (testdrv loops its output into
// its input); the echo must not come back in and be forwarded to OSC as if
// the device had moved. A real move on the device still goes to OSC. With
// loop suppression off the same test sees the loop, so it can fail.
func TestBridgeLoopSuppression(t *testing.T) {
	for _, tc := range []struct {
		name   string
		window time.Duration
		loops  bool
	}{{"suppressed", 0, false}, {"suppression off", -1, true}} {
		t.Run(tc.name, func(t *testing.T) {
			drv := testdrv.New("bridge" + strings.ReplaceAll(tc.name, " ", ""))
			events := make(chan controllers.Event, 16)
			c, err := midi.New(drv, midi.Config{Outputs: []string{"bridge"}, EchoWindow: tc.window, Poll: time.Hour},
				midi.HandlerFunc(func(ev *controllers.Event) { events <- *ev }), zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			outs, _ := drv.Outs()
			device, err := gomidi.SendTo(outs[0]) // the device itself sending
			if err != nil {
				t.Fatal(err)
			}
			m, err := mapping.Compile("bridge.toml", fmt.Appendf(nil, bridgeTestMap, "BRIDGE"))
			if err != nil {
				t.Fatal(err)
			}
			sess := mapping.NewSession(mapping.NewLive(mapping.NewSet(m)), nil)
			fo := &fakeOSC{}
			fwd := newForwarder(c, fo, zerolog.Nop())
			// route as the player does, on this goroutine.
			route := func(ev *controllers.Event) {
				_, o := sess.ApplyOut(ev, nil, nil)
				fwd.send(o)
			}
			// drain handles events until the marker note arrives: then
			// everything sent before it has been handled.
			drain := func() {
				t.Helper()
				if err := device(gomidi.NoteOn(0, 1, 1)); err != nil {
					t.Fatal(err)
				}
				for {
					select {
					case ev := <-events:
						route(&ev)
						if ev.Kind == controllers.NoteOn && ev.Number == 1 {
							return
						}
					case <-time.After(5 * time.Second):
						t.Fatal("the marker note did not arrive")
					}
				}
			}

			ev := controllers.Event{Kind: controllers.OSC, Source: 3, NArgs: 1}
			ev.AddrLen = uint8(copy(ev.Addr[:], "/fader"))
			ev.Args[0] = controllers.Arg{Type: 'f', F: 0.5}
			route(&ev)
			drain()
			got := fo.take()
			want := []string{"all /marker"}
			if tc.loops {
				// The echo of CC 7 = 64 came back and was forwarded.
				want = []string{"all /fader 0.5039", "all /marker"}
			}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Fatalf("after an OSC fader move, OSC sent %q, want %q", got, want)
			}
			st := c.Stats()
			if st.Sent != 1 || (st.Echoes == 1) == tc.loops {
				t.Fatalf("MIDI stats %+v: want 1 sent and the echo dropped = %v", st, !tc.loops)
			}
			// The player of the device moves the fader itself.
			if err := device(gomidi.ControlChange(0, 7, 127)); err != nil {
				t.Fatal(err)
			}
			drain()
			if got := fo.take(); strings.Join(got, "|") != "all /fader 1|all /marker" {
				t.Fatalf("a move on the device sent %q to OSC, want /fader 1 then the marker", got)
			}
			if st := c.Stats(); st.Sent != 1 {
				t.Fatalf("the device's own move went back out to MIDI: %+v", st)
			}
		})
	}
}

// fakeMIDI records sends per output index.
type fakeMIDI struct {
	ports []midi.PortInfo
	sent  []string
}

func (f *fakeMIDI) Send(out int, msg []byte) error {
	f.sent = append(f.sent, fmt.Sprintf("%d:% x", out, msg))
	return nil
}
func (f *fakeMIDI) Ports() []midi.PortInfo { return f.ports }

// The forwarder picks ports by name, keeps OSC's "not back to the sender",
// and at close ends the notes the maps left on.
func TestForwarderRoutesAndReleases(t *testing.T) {
	fm := &fakeMIDI{ports: []midi.PortInfo{
		{Index: 0, Name: "Keystation In", Dir: midi.In},
		{Index: 0, Name: "Synth Out 1", Dir: midi.Out},
		{Index: 1, Name: "X-Touch", Dir: midi.Out},
		{Index: 2, Name: "synth out 2", Dir: midi.Out},
	}}
	fo := &fakeOSC{}
	f := newForwarder(fm, fo, zerolog.Nop())
	out := func(port string, b ...byte) mapping.Output {
		o := mapping.Output{Kind: mapping.OutMIDI, Port: port, Len: uint8(len(b))}
		copy(o.MIDI[:], b)
		return o
	}
	osco := func(addr string, d mapping.Dest, fromOSC bool, src uint16) mapping.Output {
		o := mapping.Output{Kind: mapping.OutOSC, Dest: d, FromOSC: fromOSC, Source: src, NArgs: 2}
		o.AddrLen = uint8(copy(o.Addr[:], addr))
		o.Args[0] = controllers.Arg{Type: 'i', I: 5, F: 5}
		o.Args[1] = controllers.Arg{Type: 's', Kept: true, I: 2}
		o.StrLen = uint8(copy(o.Str[:], "hi"))
		if d == mapping.DestHost {
			o.Host = netip.MustParseAddrPort("10.0.0.5:9001")
		}
		return o
	}
	f.send([]mapping.Output{
		out("synth", 0x90, 60, 100), out("x-touch", 0xB0, 7, 64), out("", 0x91, 61, 1),
		out("synth", 0x80, 60, 0), out("synth", 0x92, 62, 90), out("nothing", 0xC0, 1),
		osco("/a", mapping.DestAll, true, 4), osco("/b", mapping.DestAll, false, 4),
		osco("/c", mapping.DestSender, true, 4), osco("/d", mapping.DestHost, true, 4),
	})
	want := "0:90 3c 64|2:90 3c 64|1:b0 07 40|0:91 3d 01|1:91 3d 01|2:91 3d 01|0:80 3c 00|2:80 3c 00|0:92 3e 5a|2:92 3e 5a"
	if got := strings.Join(fm.sent, "|"); got != want {
		t.Fatalf("MIDI sent\n %s\nwant\n %s", got, want)
	}
	if got := strings.Join(fo.take(), "|"); got != "except4 /a 5 hi|all /b 5 hi|reply4 /c 5 hi|to10.0.0.5:9001 /d 5 hi" {
		t.Fatalf("OSC sent %s", got)
	}
	fm.sent = nil
	f.close()
	// Still held: 61 on channel 2 on every port, 62 on channel 3 on the synths.
	got := strings.Join(fm.sent, "|")
	for _, w := range []string{"0:81 3d 00", "1:81 3d 00", "2:81 3d 00", "0:82 3e 00", "2:82 3e 00"} {
		if !strings.Contains(got, w) {
			t.Errorf("close sent %s, missing %s", got, w)
		}
	}
	if len(fm.sent) != 5 {
		t.Errorf("close sent %d note-offs, want 5: %s", len(fm.sent), got)
	}
}

// A pad plays note 60 on an external synth through a midi-out rule; the map
// is edited while the pad is down so that its rule now sends note 61. The
// reload must send the note-off of 60 to the port at once (the player's
// idle sync), as it would for a synth note; the pad's release then ends 61,
// which never sounded, and nothing is left for close. testdrv loops what the
// port receives back into its input, which the test reads.
func TestForwardReloadReleasesOutputNotes(t *testing.T) {
	drv := testdrv.New("reloadrelease")
	events := make(chan controllers.Event, 16)
	c, err := midi.New(drv, midi.Config{Outputs: []string{"reloadrelease"}, EchoWindow: -1, Poll: time.Hour},
		midi.HandlerFunc(func(ev *controllers.Event) { events <- *ev }), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pad := func(note int) *mapping.Map {
		m, err := mapping.Compile("pad.toml", fmt.Appendf(nil,
			"[[rule]]\naddress = \"/pad\"\nto = { do = \"midi-out\", port = \"RELOADRELEASE\", type = \"note\", number = %d }\n", note))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	live := mapping.NewLive(mapping.NewSet(pad(60)))
	p := &player{live: live, sess: mapping.NewSession(live, nil), fwd: newForwarder(c, nil, zerolog.Nop()),
		outs: make([]mapping.Output, 0, 16)}
	received := func(what string, kind controllers.Kind, note uint8) {
		t.Helper()
		select {
		case ev := <-events:
			if ev.Kind != kind || ev.Number != note {
				t.Fatalf("%s: the port received %s %d, want %s %d", what, ev.Kind, ev.Number, kind, note)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: the port received nothing, want %s %d", what, kind, note)
		}
	}
	down, up := oscEvent(1, "/pad", 1), oscEvent(1, "/pad", 0) // feedback_test.go
	p.route(down)
	received("pad down", controllers.NoteOn, 60)
	live.Store(mapping.NewSet(pad(61)))
	p.syncMaps()
	received("reload", controllers.NoteOff, 60)
	p.route(up)
	received("pad up", controllers.NoteOff, 61)
	p.fwd.close()
	if st := c.Stats(); st.Sent != 3 {
		t.Fatalf("sent %d messages, want note-on, the reload's note-off and the release (close has nothing to end)", st.Sent)
	}
	select {
	case ev := <-events:
		t.Fatalf("the port also received %s %d", ev.Kind, ev.Number)
	case <-time.After(50 * time.Millisecond):
	}
}

// A MIDI pad lights the LED with its own number and channel on the OSC
// clients (an osc-out address template), through the player's route.
func TestForwardAddressTemplate(t *testing.T) {
	m, err := mapping.Compile("leds.toml", []byte(
		"[[rule]]\nkind = \"note\"\nto = { do = \"osc-out\", address = \"/ch{channel}/led/{number}\", args = \"int\", range = [0, 127] }\n"))
	if err != nil {
		t.Fatal(err)
	}
	live := mapping.NewLive(mapping.NewSet(m))
	fo := &fakeOSC{}
	p := &player{live: live, sess: mapping.NewSession(live, nil), fwd: newForwarder(nil, fo, zerolog.Nop()),
		outs: make([]mapping.Output, 0, 16)}
	for _, ev := range []controllers.Event{
		{Kind: controllers.NoteOn, Channel: 1, Number: 36, Raw: 100, Norm: 100.0 / 127},
		{Kind: controllers.NoteOff, Channel: 9, Number: 127},
	} {
		p.route(&ev)
	}
	if got := strings.Join(fo.take(), "|"); got != "all /ch2/led/36 100|all /ch10/led/127 0" {
		t.Fatalf("OSC sent %s", got)
	}
}
