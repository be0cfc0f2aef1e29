package main

import (
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"gitlab.com/gomidi/midi/v2/drivers"
	"gitlab.com/gomidi/midi/v2/drivers/rtmididrv/imported/rtmidi"

	"github.com/chronus-audio/chronus/controllers"
	"github.com/chronus-audio/chronus/controllers/midi"
)

// fakeRtIn stands in for RtMidi's input (rtmidi.MIDIIn, an interface): it
// keeps the callback so the test can call it as RtMidi's thread would.
type fakeRtIn struct {
	rtmidi.MIDIIn // nil: methods the raw path must not use panic

	mu       sync.Mutex
	cb       func(rtmidi.MIDIIn, []byte, float64)
	ignore   [3]bool
	canceled int
}

func (f *fakeRtIn) IgnoreTypes(sysex, time, sense bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ignore = [3]bool{sysex, time, sense}
	return nil
}

func (f *fakeRtIn) SetCallback(cb func(rtmidi.MIDIIn, []byte, float64)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cb = cb
	return nil
}

func (f *fakeRtIn) CancelCallback() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cb = nil
	f.canceled++
	return nil
}

// deliver calls the callback from a fresh goroutine, like RtMidi's thread,
// and reports a panic instead of crashing the test binary.
func (f *fakeRtIn) deliver(msg []byte) (panicked any) {
	f.mu.Lock()
	cb := f.cb
	f.mu.Unlock()
	done := make(chan any)
	go func() {
		defer func() { done <- recover() }()
		if cb != nil {
			cb(f, msg, 0.001)
		}
	}()
	return <-done
}

// fakePort is an rtmididrv-like input whose Underlying is the fake RtMidi
// input. Its own Listen stands for gomidi's reader path.
type fakePort struct {
	rt       *fakeRtIn
	mu       sync.Mutex
	open     bool
	listened int // calls of the driver's own Listen
}

func (p *fakePort) Open() error     { p.mu.Lock(); defer p.mu.Unlock(); p.open = true; return nil }
func (p *fakePort) Close() error    { p.mu.Lock(); defer p.mu.Unlock(); p.open = false; return nil }
func (p *fakePort) IsOpen() bool    { p.mu.Lock(); defer p.mu.Unlock(); return p.open }
func (p *fakePort) Number() int     { return 0 }
func (p *fakePort) String() string  { return "Fake Synth 20:0" }
func (p *fakePort) Underlying() any { return rtmidi.MIDIIn(p.rt) }
func (p *fakePort) Listen(func([]byte, int32), drivers.ListenConfig) (func(), error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.listened++
	return func() {}, nil
}

type fakeRtDriver struct{ in *fakePort }

func (d fakeRtDriver) Ins() ([]drivers.In, error)   { return []drivers.In{d.in}, nil }
func (d fakeRtDriver) Outs() ([]drivers.Out, error) { return nil, nil }
func (d fakeRtDriver) String() string               { return "fake rtmidi" }
func (d fakeRtDriver) Close() error                 { return nil }

func giantSysEx(n int) []byte {
	m := make([]byte, n)
	m[0], m[n-1] = 0xF0, 0xF7
	for i := 1; i < n-1; i++ {
		m[i] = byte(i % 128)
	}
	return m
}

// TestSysExBypassesGomidiReader: with --sysex, an RtMidi input is read raw
// (gomidi's reader, which panics on a SysEx longer than its buffer, is not
// used), a 1 MiB SysEx is dropped and counted without a panic on the
// driver's thread, and the messages around it arrive in order. Without
// --sysex the driver's own Listen is used, as before.
func TestSysExBypassesGomidiReader(t *testing.T) {
	port := &fakePort{rt: &fakeRtIn{}}
	var mu sync.Mutex
	var got []controllers.Event
	c, err := midi.New(quietDriver{fakeRtDriver{port}}, midi.Config{SysEx: true, Poll: time.Hour},
		midi.HandlerFunc(func(ev *controllers.Event) { mu.Lock(); got = append(got, *ev); mu.Unlock() }), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if port.listened != 0 {
		t.Fatal("with SysEx on, the driver's own Listen (gomidi's reader) was used")
	}
	port.rt.mu.Lock()
	ignore := port.rt.ignore
	port.rt.mu.Unlock()
	if ignore != [3]bool{false, false, true} {
		t.Errorf("IgnoreTypes(sysex, time, sense) = %v, want SysEx and clock through, active sensing ignored", ignore)
	}
	for _, m := range [][]byte{{0x90, 60, 100}, giantSysEx(1 << 20), giantSysEx(100), {0x80, 60, 0}} {
		if p := port.rt.deliver(m); p != nil {
			t.Fatalf("the callback panicked on a %d-byte message: %v", len(m), p)
		}
	}
	c.Close()
	if n := port.rt.canceled; n != 1 {
		t.Errorf("CancelCallback called %d times on close, want 1", n)
	}
	var kinds []controllers.Kind
	var lens []int
	for _, ev := range got {
		kinds, lens = append(kinds, ev.Kind), append(lens, int(ev.RawLen))
	}
	// Close releases nothing: the note was already off.
	if len(got) != 3 || kinds[0] != controllers.NoteOn || kinds[1] != controllers.SysEx || lens[1] != 100 || kinds[2] != controllers.NoteOff {
		t.Errorf("events: kinds %v, lengths %v; want note-on, the 100-byte SysEx, note-off", kinds, lens)
	}
	if s := c.Stats(); s.Oversized != 1 {
		t.Errorf("Stats.Oversized = %d, want 1 (the 1 MiB SysEx)", s.Oversized)
	}

	off := &fakePort{rt: &fakeRtIn{}}
	c2, err := midi.New(quietDriver{fakeRtDriver{off}}, midi.Config{Poll: time.Hour}, midi.HandlerFunc(func(*controllers.Event) {}), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	c2.Close()
	if off.listened != 1 || off.rt.cb != nil {
		t.Errorf("SysEx off: driver Listen called %d times, raw callback set %v; want the driver's Listen only", off.listened, off.rt.cb != nil)
	}
}
