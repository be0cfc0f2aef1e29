package midi

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	gomidi "gitlab.com/gomidi/midi/v2"
	"gitlab.com/gomidi/midi/v2/drivers"
	"gitlab.com/gomidi/midi/v2/drivers/testdrv"

	"github.com/chronus-audio/chronus/controllers"
)

// loop makes a fresh testdrv and returns it with a send function on its
// output, which loops back into its input. The Controller must be started
// (it calls Listen) before anything is sent: testdrv panics otherwise.
func loop(t *testing.T) (*testdrv.Driver, func(gomidi.Message)) {
	t.Helper()
	drv := testdrv.New(t.Name())
	outs, err := drv.Outs()
	if err != nil {
		t.Fatal(err)
	}
	send, err := gomidi.SendTo(outs[0])
	if err != nil {
		t.Fatal(err)
	}
	return drv, func(m gomidi.Message) {
		t.Helper()
		if err := send(m); err != nil {
			t.Fatalf("send % X: %v", []byte(m), err)
		}
	}
}

func TestTestdrvRoundTrip(t *testing.T) {
	drv, send := loop(t)
	c, h, _ := start(t, drv, Config{})
	if ps := c.Ports(); len(ps) != 1 || ps[0].Name != t.Name()+"-in" || !ps[0].Open {
		t.Fatalf("Ports() = %+v, want the one testdrv input, open", ps)
	}

	type want struct {
		kind     controllers.Kind
		ch, num  uint8
		raw      int32
		norm     float64
		normTol  float64
		noteOn   bool // gomidi's GetNoteStart agrees
		noteOff  bool // gomidi's GetNoteEnd agrees
		realtime bool
	}
	cases := []struct {
		name string
		msg  gomidi.Message
		want want
	}{
		{"note on", gomidi.NoteOn(1, 60, 100), want{kind: controllers.NoteOn, ch: 1, num: 60, raw: 100, norm: 100.0 / 127, noteOn: true}},
		{"note on velocity 0", gomidi.NoteOn(1, 60, 0), want{kind: controllers.NoteOff, ch: 1, num: 60, raw: 0, norm: 0, noteOff: true}},
		{"note off", gomidi.NoteOffVelocity(2, 61, 30), want{kind: controllers.NoteOff, ch: 2, num: 61, raw: 30, norm: 30.0 / 127, noteOff: true}},
		{"note on max", gomidi.NoteOn(15, 127, 127), want{kind: controllers.NoteOn, ch: 15, num: 127, raw: 127, norm: 1, noteOn: true}},
		{"control", gomidi.ControlChange(3, 7, 127), want{kind: controllers.Control, ch: 3, num: 7, raw: 127, norm: 1}},
		{"control zero", gomidi.ControlChange(3, 74, 0), want{kind: controllers.Control, ch: 3, num: 74, raw: 0, norm: 0}},
		{"bend lowest", gomidi.Pitchbend(0, -8192), want{kind: controllers.PitchBend, raw: 0, norm: -1}},
		{"bend centre", gomidi.Pitchbend(0, 0), want{kind: controllers.PitchBend, raw: 8192, norm: 0}},
		{"bend highest", gomidi.Pitchbend(4, 8191), want{kind: controllers.PitchBend, ch: 4, raw: 16383, norm: 1, normTol: 1.0 / 8192}},
		{"aftertouch", gomidi.AfterTouch(5, 50), want{kind: controllers.Pressure, ch: 5, raw: 50, norm: 50.0 / 127}},
		{"poly aftertouch", gomidi.PolyAfterTouch(6, 62, 70), want{kind: controllers.PolyPressure, ch: 6, num: 62, raw: 70, norm: 70.0 / 127}},
		{"program", gomidi.ProgramChange(7, 12), want{kind: controllers.Program, ch: 7, num: 12, raw: 12, norm: 12.0 / 127}},
		{"clock", gomidi.TimingClock(), want{kind: controllers.Clock, realtime: true}},
		{"start", gomidi.Start(), want{kind: controllers.Start, realtime: true}},
		{"continue", gomidi.Continue(), want{kind: controllers.Continue, realtime: true}},
		{"stop", gomidi.Stop(), want{kind: controllers.Stop, realtime: true}},
	}
	type span struct{ from, to time.Time }
	spans := make([]span, len(cases))
	for i, tc := range cases {
		spans[i].from = time.Now()
		send(tc.msg)
		drv.Sleep(time.Millisecond) // testdrv's virtual clock; must not matter
		spans[i].to = time.Now()
	}
	c.sync()
	evs := h.take()
	if len(evs) != len(cases) {
		t.Fatalf("got %d events, want %d", len(evs), len(cases))
	}
	for i, tc := range cases {
		ev, w := evs[i], tc.want
		t.Run(tc.name, func(t *testing.T) {
			if ev.Kind != w.kind || ev.Channel != w.ch || ev.Number != w.num || ev.Raw != w.raw {
				t.Errorf("got kind %v ch %d num %d raw %d, want %v %d %d %d",
					ev.Kind, ev.Channel, ev.Number, ev.Raw, w.kind, w.ch, w.num, w.raw)
			}
			if math.Abs(ev.Norm-w.norm) > w.normTol {
				t.Errorf("Norm = %v, want %v ± %v", ev.Norm, w.norm, w.normTol)
			}
			if ev.Source != 0 {
				t.Errorf("Source = %d, want 0", ev.Source)
			}
			if got := ev.RawMsg[:ev.RawLen]; !bytes.Equal(got, tc.msg) {
				t.Errorf("RawMsg = % X, want % X", got, []byte(tc.msg))
			}
			if ev.Arrived.Before(spans[i].from) || ev.Arrived.After(spans[i].to) {
				t.Errorf("Arrived %v is outside the send call [%v, %v]", ev.Arrived, spans[i].from, spans[i].to)
			}
			var ch, key, vel uint8
			if got := tc.msg.GetNoteStart(&ch, &key, &vel); got != w.noteOn {
				t.Errorf("gomidi GetNoteStart = %v, but the case says %v", got, w.noteOn)
			}
			if got := tc.msg.GetNoteEnd(&ch, &key); got != w.noteOff {
				t.Errorf("gomidi GetNoteEnd = %v, but the case says %v", got, w.noteOff)
			}
		})
	}
	if got := evs[7].Norm; got != 0 {
		t.Errorf("centred pitch bend Norm = %v, want exactly 0", got)
	}
	if got := evs[6].Norm; got != -1 {
		t.Errorf("lowest pitch bend Norm = %v, want exactly -1", got)
	}
	if s := c.Stats(); s.Messages != uint64(len(cases)) || s.Dropped != 0 || s.Ignored != 0 {
		t.Errorf("Stats = %+v, want %d messages, nothing dropped or ignored", s, len(cases))
	}
}

func TestMessagesWithoutKindAreIgnored(t *testing.T) {
	drv, send := loop(t)
	c, h, _ := start(t, drv, Config{})
	for _, m := range []gomidi.Message{gomidi.MTC(0x23), gomidi.SPP(300), gomidi.SongSelect(3), gomidi.Tune(), gomidi.Reset()} {
		send(m)
	}
	send(gomidi.NoteOn(0, 1, 1))
	c.sync()
	evs := h.take()
	if len(evs) != 1 || evs[0].Kind != controllers.NoteOn {
		t.Fatalf("events %+v, want only the note-on", evs)
	}
	if s := c.Stats(); s.Ignored != 5 {
		t.Errorf("Ignored = %d, want 5", s.Ignored)
	}
}

func TestRunningStatusAndPartialPackets(t *testing.T) {
	fd := &fakeDriver{}
	in := fd.plugIn("Keys")
	c, h, _ := start(t, fd, Config{})
	// Running status: one status byte, two notes. Then one message split over
	// two driver packets, with a clock byte in the middle.
	in.emit(0x90, 60, 100, 62, 90)
	in.emit(0xB0, 1)
	in.emit(0xF8, 64)
	c.sync()
	evs := h.take()
	want := []struct {
		kind controllers.Kind
		num  uint8
		raw  int32
	}{{controllers.NoteOn, 60, 100}, {controllers.NoteOn, 62, 90}, {controllers.Clock, 0, 0}, {controllers.Control, 1, 64}}
	if len(evs) != len(want) {
		t.Fatalf("got %d events, want %d: %+v", len(evs), len(want), evs)
	}
	for i, w := range want {
		if evs[i].Kind != w.kind || evs[i].Number != w.num || evs[i].Raw != w.raw {
			t.Errorf("event %d: %v %d %d, want %v %d %d", i, evs[i].Kind, evs[i].Number, evs[i].Raw, w.kind, w.num, w.raw)
		}
	}
}

func TestDecodeRejectsMalformed(t *testing.T) {
	for _, m := range [][]byte{nil, {0x40}, {0x90, 60}, {0xB0}, {0xE0, 1}, {0xC0}, {0xF1, 1}, {0xF7}, {0xFE}, {0xFF}} {
		var ev controllers.Event
		if decode(m, &ev) {
			t.Errorf("decode(% X) = true, want false", m)
		}
	}
}

func sysex(n int) gomidi.Message {
	m := make([]byte, n)
	m[0], m[n-1] = 0xF0, 0xF7
	for i := 1; i < n-1; i++ {
		m[i] = byte(i % 128)
	}
	return m
}

// TestGomidiReaderPanicsOnLongSysEx pins down the upstream behaviour the
// package doc relies on: gomidi v2.3.22's reader panics, inside the driver,
// on a SysEx longer than its buffer. If this starts failing, gomidi changed
// and the SysEx section of the package doc must be revisited.
func TestGomidiReaderPanicsOnLongSysEx(t *testing.T) {
	drv, send := loop(t)
	ins, _ := drv.Ins()
	stop, err := gomidi.ListenTo(ins[0], func(gomidi.Message, int32) {}, gomidi.UseSysEx(), gomidi.SysExBufferSize(1024))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	var got any
	func() {
		defer func() { got = recover() }()
		send(sysex(1025))
	}()
	if got == nil || !strings.Contains(fmt.Sprint(got), "index out of range [1024]") {
		t.Fatalf("recovered %v, want gomidi's index-out-of-range panic", got)
	}
}

func TestSysExDisabledIgnoresGiant(t *testing.T) {
	drv, send := loop(t)
	c, h, _ := start(t, drv, Config{})
	send(sysex(100 << 10)) // would panic in gomidi's reader if it were buffered
	send(sysex(20))
	send(gomidi.NoteOn(0, 60, 1))
	c.sync()
	evs := h.take()
	if len(evs) != 1 || evs[0].Kind != controllers.NoteOn {
		t.Fatalf("events %+v, want only the note-on", evs)
	}
	if s := c.Stats(); s.DriverPanics != 0 {
		t.Errorf("DriverPanics = %d, want 0", s.DriverPanics)
	}
}

func TestSysExEnabled(t *testing.T) {
	drv, send := loop(t)
	// The output is opened too, so Send can loop a SysEx back through testdrv.
	c, h, lb := start(t, drv, Config{SysEx: true, Outputs: []string{t.Name()}, EchoWindow: -1})
	out, ok := c.Output("-out")
	if !ok {
		t.Fatal("testdrv output not opened")
	}

	t.Run("short", func(t *testing.T) {
		m := sysex(20)
		send(m)
		c.sync()
		evs := h.take()
		if len(evs) != 1 || evs[0].Kind != controllers.SysEx || evs[0].RawLen != 20 {
			t.Fatalf("events %+v, want one 20-byte SysEx", evs)
		}
		if !bytes.Equal(evs[0].RawMsg[:], m[:controllers.MaxRaw]) {
			t.Errorf("RawMsg = % X, want the first %d bytes % X", evs[0].RawMsg, controllers.MaxRaw, []byte(m[:controllers.MaxRaw]))
		}
	})
	t.Run("longest", func(t *testing.T) {
		send(sysex(MaxSysEx))
		c.sync()
		evs := h.take()
		if len(evs) != 1 || evs[0].Kind != controllers.SysEx || evs[0].RawLen != MaxSysEx {
			t.Fatalf("got %d events, want one SysEx of RawLen %d", len(evs), MaxSysEx)
		}
	})
	t.Run("100 KiB", func(t *testing.T) {
		err := c.Send(out, sysex(100<<10))
		if !errors.Is(err, ErrDriverPanic) {
			t.Fatalf("Send(100 KiB SysEx) = %v, want ErrDriverPanic", err)
		}
		if s := c.Stats(); s.DriverPanics != 1 || s.SendErrors != 1 {
			t.Errorf("Stats = %+v, want 1 driver panic, 1 send error", s)
		}
		if n := lb.count(t, "The MIDI driver panicked while sending; the message was dropped.", t.Name()[:strings.Index(t.Name(), "/")]+"-out"); n != 1 {
			t.Errorf("%d panic log lines, want 1:\n%s", n, lb)
		}
		// The reader is left mid-SysEx; the next status byte resets it.
		send(gomidi.NoteOn(0, 60, 1))
		c.sync()
		evs := h.take()
		if len(evs) != 1 || evs[0].Kind != controllers.NoteOn {
			t.Fatalf("after the dropped SysEx: events %+v, want the note-on", evs)
		}
	})
}

func TestSysExMaxIsTheBound(t *testing.T) {
	drv, _ := loop(t)
	c, h, _ := start(t, drv, Config{SysEx: true, SysExMax: 1000, Outputs: []string{"-out"}, EchoWindow: -1})
	if err := c.Send(0, sysex(1000)); err != nil {
		t.Fatalf("Send(1000-byte SysEx) = %v, want nil", err)
	}
	if err := c.Send(0, sysex(1001)); !errors.Is(err, ErrDriverPanic) {
		t.Fatalf("Send(1001-byte SysEx) = %v, want ErrDriverPanic", err)
	}
	c.sync()
	evs := h.take()
	if len(evs) != 1 || evs[0].RawLen != 1000 {
		t.Fatalf("events %+v, want the 1000-byte SysEx only", evs)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	h := HandlerFunc(func(*controllers.Event) {})
	for _, cfg := range []Config{{SysExMax: MaxSysEx + 1}, {SysExMax: -1}, {Queue: -1}, {Poll: -time.Second}} {
		if _, err := New(&fakeDriver{}, cfg, h, zeroLog()); err == nil {
			t.Errorf("New(%+v) = nil error", cfg)
		}
	}
	if _, err := New(&fakeDriver{}, Config{}, nil, zeroLog()); err == nil {
		t.Error("New with a nil handler = nil error")
	}
}

func TestEchoThroughLoopback(t *testing.T) {
	drv, send := loop(t)
	c, h, _ := start(t, drv, Config{Outputs: []string{t.Name()}})
	cc := gomidi.ControlChange(0, 7, 100)
	if err := c.Send(0, cc); err != nil {
		t.Fatal(err)
	}
	c.sync()
	if evs := h.take(); len(evs) != 0 {
		t.Fatalf("our own send came back as %+v", evs)
	}
	send(cc) // the same value again, from the device: not an echo any more
	c.sync()
	if evs := h.take(); len(evs) != 1 {
		t.Fatalf("got %d events, want the device's own message", len(evs))
	}
	if s := c.Stats(); s.Echoes != 1 || s.Dropped != 1 || s.Sent != 1 || s.Messages != 1 {
		t.Errorf("Stats = %+v, want 1 echo dropped, 1 sent, 1 message", s)
	}
}

func TestEchoRules(t *testing.T) {
	fd := &fakeDriver{}
	padsIn := fd.plugIn("Pads In")
	keys := fd.plugIn("Keys")
	fd.plugOut("Pads Out")
	const window = 150 * time.Millisecond // wide: the steps before the expiry one must fit in it even under -race
	c, h, _ := start(t, fd, Config{Outputs: []string{"pads"}, EchoWindow: window})
	cc := []byte{0xB0, 20, 99}

	steps := []struct {
		name    string
		send    []byte
		wait    time.Duration
		from    *fakeIn
		msg     []byte
		delived bool
	}{
		{"echo from the same device", cc, 0, padsIn, cc, false},
		{"same message again is the user's", nil, 0, padsIn, cc, true},
		{"another device is never an echo", cc, 0, keys, cc, true},
		{"... and leaves the send pending", nil, 0, padsIn, cc, false},
		{"other bytes are not an echo", cc, 0, padsIn, []byte{0xB0, 20, 98}, true},
		{"... that send is still pending", nil, 0, padsIn, cc, false},
		{"after the window it is the user's", cc, 2 * window, padsIn, cc, true},
	}
	for _, st := range steps {
		if st.send != nil {
			if err := c.Send(0, st.send); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(st.wait)
		st.from.emit(st.msg...)
		c.sync()
		if got := len(h.take()) == 1; got != st.delived {
			t.Errorf("%s: delivered = %v, want %v", st.name, got, st.delived)
		}
	}
}

func TestEchoSuppressionOff(t *testing.T) {
	fd := &fakeDriver{}
	in := fd.plugIn("Pads In")
	fd.plugOut("Pads Out")
	c, h, _ := start(t, fd, Config{Outputs: []string{"pads"}, EchoWindow: -1})
	if err := c.Send(0, []byte{0x90, 1, 2}); err != nil {
		t.Fatal(err)
	}
	in.emit(0x90, 1, 2)
	c.sync()
	if len(h.take()) != 1 {
		t.Error("with EchoWindow < 0 an echo was dropped")
	}
}

func TestDeviceKey(t *testing.T) {
	cases := []struct{ in, out string }{
		{"bridge-in", "bridge-out"},
		{"Pads In", "Pads Out"},
		{"Synth_input", "Synth_output"},
		{"Keystation 49 MK3:Keystation 49 MK3 MIDI 1 20:0", "Keystation 49 MK3:Keystation 49 MK3 MIDI 1 20:0"},
	}
	for _, tc := range cases {
		if a, b := deviceKey(tc.in), deviceKey(tc.out); a != b {
			t.Errorf("deviceKey(%q) = %q, deviceKey(%q) = %q; want equal", tc.in, a, tc.out, b)
		}
	}
	for _, pair := range [][2]string{{"Checkin", "Checkout"}, {"A in", "B out"}, {"in", "out"}} {
		if deviceKey(pair[0]) == deviceKey(pair[1]) {
			t.Errorf("%q and %q count as one device", pair[0], pair[1])
		}
	}
}

func TestSelectionBySubstring(t *testing.T) {
	names := []string{
		"Keystation 49 MK3:Keystation 49 MK3 MIDI 1 20:0",
		"nanoKONTROL2:nanoKONTROL2 MIDI 1 24:0",
		"Midi Through:Midi Through Port-0 14:0",
	}
	cases := []struct {
		name      string
		ins, outs []string
		wantIn    []string
		wantOut   []string
	}{
		{"all inputs, no outputs by default", nil, nil, names, nil},
		{"several substrings, any case", []string{"keystation", "KONTROL2"}, []string{"kontrol"}, names[:2], names[1:2]},
		{"no match", []string{"Launchpad"}, []string{"Launchpad"}, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fd := &fakeDriver{}
			for _, n := range names {
				fd.plugIn(n)
				fd.plugOut(n)
			}
			c, _, lb := start(t, fd, Config{Inputs: tc.ins, Outputs: tc.outs})
			var gotIn, gotOut []string
			for _, p := range c.Ports() {
				if !p.Open {
					t.Errorf("port %q listed but not open", p.Name)
				}
				if p.Dir == In {
					gotIn = append(gotIn, p.Name)
				} else {
					gotOut = append(gotOut, p.Name)
				}
			}
			if fmt.Sprint(gotIn) != fmt.Sprint(tc.wantIn) || fmt.Sprint(gotOut) != fmt.Sprint(tc.wantOut) {
				t.Errorf("opened in %q out %q, want in %q out %q", gotIn, gotOut, tc.wantIn, tc.wantOut)
			}
			for i, p := range fd.ins {
				if want := contains(tc.wantIn, p.name); p.listening() != want {
					t.Errorf("input %d %q listening = %v, want %v", i, p.name, p.listening(), want)
				}
			}
			noMatch := "No MIDI input matches the selection; waiting for one to be plugged in."
			if want := len(tc.wantIn) == 0; (lb.count(t, noMatch, "") == 1) != want {
				t.Errorf("no-match line logged = %v, want %v:\n%s", !want, want, lb)
			}
			if n := lb.count(t, "Opened MIDI input.", ""); n != len(tc.wantIn) {
				t.Errorf("%d \"Opened MIDI input.\" lines, want %d", n, len(tc.wantIn))
			}
		})
	}
}

func TestDuplicateNamesGetSeparateEntries(t *testing.T) {
	fd := &fakeDriver{}
	a, b := fd.plugIn("Keys"), fd.plugIn("Keys")
	c, h, _ := start(t, fd, Config{})
	a.emit(0x90, 1, 1)
	b.emit(0x90, 2, 1)
	c.sync()
	evs := h.take()
	if len(evs) != 2 || evs[0].Source == evs[1].Source {
		t.Fatalf("events %+v, want two from different sources", evs)
	}
	if n0, n1 := c.PortName(evs[0].Source), c.PortName(evs[1].Source); n0 != "Keys" || n1 != "Keys #2" {
		t.Errorf("names %q, %q; want \"Keys\", \"Keys #2\"", n0, n1)
	}
}

func TestHotplugReleasesHeldNotes(t *testing.T) {
	fd := &fakeDriver{}
	keys := fd.plugIn("Keys")
	pads := fd.plugIn("Pads")
	c, h, lb := start(t, fd, Config{})
	if n := lb.count(t, "Opened MIDI input.", "Keys"); n != 1 {
		t.Fatalf("%d open lines for Keys, want 1:\n%s", n, lb)
	}

	keys.emit(0x90, 60, 100) // held
	keys.emit(0x90, 64, 100)
	keys.emit(0x90, 67, 100) // held
	keys.emit(0x91, 10, 80)  // held, channel 2
	keys.emit(0x80, 64, 0)   // released by a note-off
	keys.emit(0x91, 11, 80)
	keys.emit(0x91, 11, 0) // released by velocity 0
	keys.emit(0xB0, 64, 0) // pedal up: nothing to lift
	pads.emit(0x99, 36, 90)
	c.sync()
	before := h.take()
	keySrc := before[0].Source
	if padSrc := before[len(before)-1].Source; padSrc == keySrc {
		t.Fatal("two ports share a Source")
	}

	fd.unplug(keys)
	c.scan()
	c.sync()
	got := h.take()
	want := []struct{ ch, key uint8 }{{0, 60}, {0, 67}, {1, 10}}
	if len(got) != len(want) {
		t.Fatalf("released %d events %+v, want %d note-offs", len(got), got, len(want))
	}
	for i, w := range want {
		ev := got[i]
		if ev.Kind != controllers.NoteOff || ev.Source != keySrc || ev.Channel != w.ch || ev.Number != w.key || ev.Raw != 0 {
			t.Errorf("release %d = %v src %d ch %d key %d raw %d, want note-off src %d ch %d key %d raw 0",
				i, ev.Kind, ev.Source, ev.Channel, ev.Number, ev.Raw, keySrc, w.ch, w.key)
		}
		if raw := ev.RawMsg[:ev.RawLen]; !bytes.Equal(raw, []byte{0x80 | w.ch, w.key, 0}) {
			t.Errorf("release %d RawMsg = % X", i, raw)
		}
	}
	if lb.count(t, "MIDI input disconnected; every note it held has been released.", "Keys") != 1 {
		t.Errorf("no disconnect line for Keys:\n%s", lb)
	}
	if l, s := keys.counts(); l != 1 || s != 1 || keys.IsOpen() {
		t.Errorf("old Keys port: %d listens, %d stops, open %v; want 1, 1, false", l, s, keys.IsOpen())
	}
	if ps := c.Ports(); ps[keySrc].Open || !ps[1-keySrc].Open {
		t.Errorf("Ports() = %+v, want Keys closed and Pads open", ps)
	}
	if s := c.Stats(); s.Released != 3 {
		t.Errorf("Released = %d, want 3", s.Released)
	}

	// A second scan with the port still gone changes nothing.
	c.scan()
	c.sync()
	if evs := h.take(); len(evs) != 0 {
		t.Errorf("second scan emitted %+v", evs)
	}

	// Replug: a new port object with the same name.
	keys2 := fd.plugIn("Keys")
	c.scan()
	if lb.count(t, "MIDI input reconnected and re-opened.", "Keys") != 1 {
		t.Errorf("no reconnect line for Keys:\n%s", lb)
	}
	if !keys2.emit(0x90, 50, 1) {
		t.Fatal("the returning port is not listened to")
	}
	pads.emit(0x89, 36, 0)
	c.sync()
	evs := h.take()
	if len(evs) != 2 || evs[0].Kind != controllers.NoteOn || evs[0].Source != keySrc || evs[1].Source == keySrc {
		t.Fatalf("after replug: %+v, want a note-on from Keys (source %d), then the pad's note-off", evs, keySrc)
	}
	if s := c.Stats(); s.Reopens != 1 {
		t.Errorf("Reopens = %d, want 1", s.Reopens)
	}
	if c.PortName(keySrc) != "Keys" {
		t.Errorf("PortName(%d) = %q", keySrc, c.PortName(keySrc))
	}

	// The note held on the new connection is released at Close.
	c.Close()
	if evs := h.take(); len(evs) != 1 || evs[0].Kind != controllers.NoteOff || evs[0].Number != 50 {
		t.Errorf("Close released %+v, want note 50", evs)
	}
}

func TestHotplugLiftsSustain(t *testing.T) {
	fd := &fakeDriver{}
	keys := fd.plugIn("Keys")
	c, h, _ := start(t, fd, Config{})
	keys.emit(0xB2, 64, 127)
	keys.emit(0xB3, 64, 127)
	keys.emit(0xB3, 64, 0)
	c.sync()
	h.take()
	fd.unplug(keys)
	c.scan()
	c.sync()
	evs := h.take()
	if len(evs) != 1 || evs[0].Kind != controllers.Control || evs[0].Channel != 2 || evs[0].Number != 64 || evs[0].Raw != 0 {
		t.Fatalf("released %+v, want CC 64 = 0 on channel 2 only", evs)
	}
}

func TestStragglersAfterUnplugAreDropped(t *testing.T) {
	fd := &fakeDriver{}
	keys := fd.plugIn("Keys")
	c, h, _ := start(t, fd, Config{})
	keys.emit(0x90, 60, 100)
	c.sync()
	h.take()
	old := c.ins[0].l
	keys.mu.Lock()
	cb := keys.onMsg
	keys.mu.Unlock()

	fd.unplug(keys)
	c.scan()
	// A callback that was already running when the port closed.
	cb([]byte{0x90, 61, 100}, 0)
	// One that passed the dead check just before, and queued after the release.
	r := record{op: opEvent, l: old}
	decode([]byte{0x90, 62, 100}, &r.ev)
	c.queue <- r
	c.sync()
	evs := h.take()
	if len(evs) != 1 || evs[0].Number != 60 {
		t.Fatalf("events %+v, want only the release of note 60", evs)
	}
	if s := c.Stats(); s.Dropped != 2 {
		t.Errorf("Dropped = %d, want 2", s.Dropped)
	}
}

func TestPollerFollowsPorts(t *testing.T) {
	fd := &fakeDriver{}
	keys := fd.plugIn("Keys")
	fd.plugOut("Keys")
	c, h, lb := start(t, fd, Config{Poll: 5 * time.Millisecond, Outputs: []string{"keys"}})
	keys.emit(0x90, 60, 100)
	fd.unplug(keys)
	fd.unplug(fd.outs[0])
	waitFor(t, "the release of note 60", func() bool { return h.n.Load() == 2 })
	if evs := h.take(); evs[1].Kind != controllers.NoteOff || evs[1].Number != 60 {
		t.Errorf("second event %+v, want the release", evs[1])
	}
	waitFor(t, "the output to close", func() bool { return lb.count(t, "MIDI output disconnected.", "Keys") == 1 })
	if err := c.Send(0, []byte{0x90, 1, 1}); !errors.Is(err, ErrNotConnected) {
		t.Errorf("Send to an unplugged output = %v, want ErrNotConnected", err)
	}
	fd.plugIn("Keys")
	fd.plugOut("Keys")
	waitFor(t, "both ports to re-open", func() bool { return c.Stats().Reopens == 2 })
	if lb.count(t, "MIDI output reconnected and re-opened.", "Keys") != 1 {
		t.Errorf("no output reconnect line:\n%s", lb)
	}
	if err := c.Send(0, []byte{0x90, 1, 1}); err != nil {
		t.Errorf("Send after replug = %v", err)
	}
}

func TestNoSequencer(t *testing.T) {
	fd := &fakeDriver{err: errGarbage}
	c, h, lb := start(t, fd, Config{Outputs: []string{"x"}, Poll: time.Hour, Retry: 2 * time.Hour})
	c.scan()
	c.scan()
	lines := lb.lines(t)
	if len(lines) != 1 || lines[0].Level != "warn" || lines[0].Message != msgNoMIDI {
		t.Fatalf("log = %+v, want exactly one warning %q", lines, msgNoMIDI)
	}
	if s := lb.String(); strings.Contains(s, "can't open") || strings.Contains(s, "\\u0088") || strings.Contains(s, "\x88") {
		t.Errorf("the driver's error text leaked into the log: %s", s)
	}
	if ps := c.Ports(); len(ps) != 0 {
		t.Errorf("Ports() = %+v, want none", ps)
	}
	if got := c.interval(); got != 2*time.Hour {
		t.Errorf("poll interval while unavailable = %v, want Retry", got)
	}
	if err := c.Send(0, []byte{0xF8}); !errors.Is(err, ErrNoOutput) {
		t.Errorf("Send = %v, want ErrNoOutput", err)
	}
	if _, err := ListPorts(fd); err != ErrUnavailable {
		t.Errorf("ListPorts = %v, want ErrUnavailable itself", err)
	}

	// The sequencer appears later, with a device.
	fd.setErr(nil)
	in := fd.plugIn("Keys")
	c.scan()
	if lb.count(t, "MIDI is available again; looking for inputs.", "") != 1 || lb.count(t, "Opened MIDI input.", "Keys") != 1 {
		t.Errorf("log after recovery:\n%s", lb)
	}
	in.emit(0x90, 1, 1)
	c.sync()
	if len(h.take()) != 1 {
		t.Error("the late device's note did not arrive")
	}
}

func TestNilDriver(t *testing.T) {
	c, _, lb := start(t, nil, Config{})
	if lines := lb.lines(t); len(lines) != 1 || lines[0].Message != msgNoMIDI {
		t.Fatalf("log = %+v, want the one no-MIDI line", lines)
	}
	if len(c.Ports()) != 0 {
		t.Error("ports without a driver")
	}
	if _, err := ListPorts(nil); err != ErrUnavailable {
		t.Errorf("ListPorts(nil) = %v", err)
	}
}

func TestListPorts(t *testing.T) {
	fd := &fakeDriver{}
	fd.plugIn("A")
	fd.plugIn("B")
	fd.plugOut("C")
	ps, err := ListPorts(fd)
	want := []PortInfo{{0, "A", In, false}, {1, "B", In, false}, {0, "C", Out, false}}
	if err != nil || fmt.Sprint(ps) != fmt.Sprint(want) {
		t.Errorf("ListPorts = %+v, %v; want %+v", ps, err, want)
	}
	if fd.ins[0].IsOpen() || fd.outs[0].open {
		t.Error("ListPorts opened a port")
	}
}

func TestHandlerIsSerialisedAndOrderedPerPort(t *testing.T) {
	const ports, per = 4, 3000
	fd := &fakeDriver{}
	var ins []*fakeIn
	for i := 0; i < ports; i++ {
		ins = append(ins, fd.plugIn(fmt.Sprintf("port %d", i)))
	}
	c, h, _ := start(t, fd, Config{Queue: 16}) // small: the drivers must wait, not drop
	var wg sync.WaitGroup
	for _, in := range ins {
		wg.Add(1)
		go func(in *fakeIn) {
			defer wg.Done()
			for s := 0; s < per; s++ {
				in.emit(0xB0, byte(s>>7), byte(s&127)) // the sequence number in CC number and value
			}
		}(in)
	}
	wg.Wait()
	c.sync()
	evs := h.take()
	if len(evs) != ports*per {
		t.Fatalf("got %d events, want %d", len(evs), ports*per)
	}
	next := make([]int, ports)
	for _, ev := range evs {
		if s := int(ev.Number)<<7 | int(ev.Raw); s != next[ev.Source] {
			t.Fatalf("source %d: got %d, want %d", ev.Source, s, next[ev.Source])
		}
		next[ev.Source]++
	}
	if h.overlap.Load() {
		t.Error("the handler ran concurrently with itself")
	}
}

func TestSend(t *testing.T) {
	fd := &fakeDriver{}
	a := fd.plugOut("LEDs A")
	b := fd.plugOut("LEDs B")
	c, _, _ := start(t, fd, Config{Outputs: []string{"leds"}})
	ia, _ := c.Output("leds a")
	ib, _ := c.Output("LEDS B")

	// Concurrent senders: fakeOut has no lock, so -race checks that Send
	// serialises the driver calls.
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				out := ia
				if i%2 == 1 {
					out = ib
				}
				if err := c.Send(out, []byte{0xB0, byte(g), byte(i & 127)}); err != nil {
					t.Error(err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	if a.n != 800 || b.n != 800 {
		t.Errorf("sent %d and %d, want 800 each", a.n, b.n)
	}

	errCases := []struct {
		name  string
		setup func()
		out   int
		msg   []byte
		want  error
	}{
		{"empty", nil, ia, nil, ErrEmpty},
		{"bad index", nil, 7, []byte{0xF8}, ErrNoOutput},
		{"negative index", nil, -1, []byte{0xF8}, ErrNoOutput},
		{"driver error", func() { a.fail = errGarbage }, ia, []byte{0xF8}, ErrSend},
		{"driver panic", func() { a.fail, a.panics = nil, true }, ia, []byte{0xF8}, ErrDriverPanic},
	}
	for _, tc := range errCases {
		if tc.setup != nil {
			tc.setup()
		}
		err := c.Send(tc.out, tc.msg)
		if err != tc.want {
			t.Errorf("%s: Send = %v, want %v", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "can't open") {
			t.Errorf("%s: the driver's text leaked: %v", tc.name, err)
		}
	}
	c.Close()
	if err := c.Send(ib, []byte{0xF8}); err != ErrClosed {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
	if a.open || b.open {
		t.Error("Close left an output open")
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestPortFailingToOpenIsRetried(t *testing.T) {
	p := &refusingIn{fakeIn: fakeIn{name: "Busy"}, refuse: 2}
	drv := &listDriver{fakeDriver: &fakeDriver{}, in: p}
	c, _, lb := start(t, drv, Config{})
	c.scan()
	c.scan()
	if n := lb.count(t, "Could not open the MIDI input; it will be tried again at the next poll.", "Busy"); n != 1 {
		t.Errorf("%d failure lines, want 1:\n%s", n, lb)
	}
	if lb.count(t, "Opened MIDI input.", "Busy") != 1 {
		t.Errorf("not opened on the third try:\n%s", lb)
	}
	if s := c.Stats(); s.Reopens != 0 {
		t.Errorf("Reopens = %d after a first open", s.Reopens)
	}
}

// refusingIn fails Open a few times, with garbage text.
type refusingIn struct {
	fakeIn
	refuse int
}

func (p *refusingIn) Open() error {
	if p.refuse > 0 {
		p.refuse--
		return errGarbage
	}
	return p.fakeIn.Open()
}

type listDriver struct {
	*fakeDriver
	in drivers.In
}

func (d *listDriver) Ins() ([]drivers.In, error) { return []drivers.In{d.in}, nil }

func TestStableName(t *testing.T) {
	cases := []struct{ in, out string }{
		{"Keystation 49 MK3:Keystation 49 MK3 MIDI 1 20:0", "Keystation 49 MK3:Keystation 49 MK3 MIDI 1"},
		{"Midi Through:Midi Through Port-0 14:0", "Midi Through:Midi Through Port-0"},
		{"bridge-in", "bridge-in"},
		{"Pads 2:", "Pads 2:"},
		{"Pads :3", "Pads :3"},
		{"Pads a:3", "Pads a:3"},
	}
	for _, tc := range cases {
		if got := stableName(tc.in); got != tc.out {
			t.Errorf("stableName(%q) = %q, want %q", tc.in, got, tc.out)
		}
	}
}

func TestReplugUnderAnotherALSAAddress(t *testing.T) {
	const (
		at20 = "Keystation 49:Keystation 49 MIDI 1 20:0"
		at24 = "Keystation 49:Keystation 49 MIDI 1 24:0"
		at28 = "Keystation 49:Keystation 49 MIDI 1 28:0"
	)
	fd := &fakeDriver{}
	k := fd.plugIn(at20)
	fd.plugIn("Pads:Pads MIDI 1 32:0")
	c, h, lb := start(t, fd, Config{})
	k.emit(0x90, 60, 1)
	c.sync()
	src := h.take()[0].Source

	fd.unplug(k)
	c.scan()
	k2 := fd.plugIn(at24) // same device, next card index
	c.scan()
	if lb.count(t, "MIDI input reconnected and re-opened.", at24) != 1 {
		t.Fatalf("no reconnect line for the new address:\n%s", lb)
	}
	k2.emit(0x90, 61, 1)
	c.sync()
	evs := h.take()
	if len(evs) != 2 || evs[1].Source != src || c.PortName(src) != at24 {
		t.Fatalf("events %+v, name %q; want the release, then note 61 from source %d named %q", evs, c.PortName(src), src, at24)
	}
	// A second identical keyboard at another address is another port, not a
	// re-open of the first one, which is still connected.
	k3 := fd.plugIn(at28)
	c.scan()
	k3.emit(0x90, 62, 1)
	c.sync()
	evs = h.take()
	if len(evs) != 1 || evs[0].Source == src || c.Stats().Reopens != 1 {
		t.Fatalf("second keyboard: %+v, reopens %d; want a new source and still 1 re-open", evs, c.Stats().Reopens)
	}
}

func TestOutputsUnavailable(t *testing.T) {
	fd := &fakeDriver{outErr: errGarbage}
	fd.plugIn("Keys")
	c, _, lb := start(t, fd, Config{Outputs: []string{"keys"}})
	c.scan()
	if n := lb.count(t, "No MIDI output is available: the ALSA sequencer could not be opened.", ""); n != 1 {
		t.Errorf("%d output warnings, want 1:\n%s", n, lb)
	}
	if lb.count(t, msgNoMIDI, "") != 0 || lb.count(t, "Opened MIDI input.", "Keys") != 1 {
		t.Errorf("inputs should be unaffected:\n%s", lb)
	}
	if strings.Contains(lb.String(), "can't open") {
		t.Errorf("the driver's text leaked: %s", lb)
	}
}
