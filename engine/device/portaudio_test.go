//go:build cgo

package device

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chronus-audio/chronus/engine/device/jackd"
)

// startJack starts a private dummy JACK server for this test.
func startJack(t *testing.T, period int) *jackd.Server {
	t.Helper()
	s, err := jackd.StartFree("chronus-device-test", 48000, period)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

func TestPortAudioOnJackDummy(t *testing.T) {
	startJack(t, 128)
	devs, err := List()
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) == 0 {
		t.Fatal("PortAudio lists no output device while a JACK server runs")
	}
	src := &counting{}
	out, err := OpenPortAudio(Config{Backend: PortAudio, Device: "system", SampleRate: 48000}, src)
	if err != nil {
		t.Fatalf("open: %v (devices %+v)", err, devs)
	}
	defer out.Close()
	if err := out.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	src.panic.Store(true)
	time.Sleep(100 * time.Millisecond)
	src.panic.Store(false)
	time.Sleep(100 * time.Millisecond)
	st := out.Stats()
	if st.Frames < 24000 {
		t.Fatalf("JACK dummy played %d frames in 1.2 s, want at least half real time", st.Frames)
	}
	if st.Panics == 0 {
		t.Fatal("a panicking source was not counted")
	}
	if out.Info().Backend != PortAudio {
		t.Fatalf("info %+v", out.Info())
	}
	// The stream survived the panics: frames kept coming.
	before := out.Stats().Frames
	time.Sleep(100 * time.Millisecond)
	if out.Stats().Frames == before {
		t.Fatal("the stream stopped after the source panicked")
	}
}

func TestAutoFallsBackToNull(t *testing.T) {
	// No JACK server under this name and no sound card here: auto must give
	// a working null device and say why.
	t.Setenv("JACK_DEFAULT_SERVER", fmt.Sprintf("chronus-absent-%d", os.Getpid()))
	out, why, err := Open(Config{Backend: Auto, SampleRate: 48000, Device: "no-such-device-xyz"}, &counting{})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if out.Info().Backend != Null || why == nil {
		t.Fatalf("auto gave %+v, fallback reason %v", out.Info(), why)
	}
}

// TestFallbackWhenJackDies kills the JACK server under a playing PortAudio
// output: the null device must take over, once, and the source keep going.
func TestFallbackWhenJackDies(t *testing.T) {
	s := startJack(t, 128)
	src := &exclusive{}
	var told atomic.Int32
	out, why, err := Open(Config{Backend: PortAudio, Device: "system", SampleRate: 48000,
		OnFallback: func(error) { told.Add(1) }}, src)
	if err != nil || why != nil {
		t.Fatal(err, why)
	}
	defer out.Close()
	f, ok := out.(*Fallback)
	if !ok {
		t.Fatalf("Open gave a %T, want a *Fallback", out)
	}
	if err := out.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "JACK to play", func() bool { return src.frames.Load() > 9600 })
	go s.Kill() // SIGKILL, as a crash would, then free JACK's registry slot
	waitFor(t, "the fallback", f.FellBack)
	at := src.frames.Load()
	waitFor(t, "the null device to play", func() bool { return src.frames.Load() > at+24000 })
	if n := told.Load(); n != 1 {
		t.Fatalf("told %d times, want once", n)
	}
	if out.Info().Backend != Null || !errors.Is(out.Err(), ErrFellBack) || out.Stats().FellBack != 1 {
		t.Fatalf("after the fallback: %+v %v %+v", out.Info(), out.Err(), out.Stats())
	}
	if n := src.overlap.Load(); n != 0 {
		t.Fatalf("the source was called by two outputs at once %d times", n)
	}
}
