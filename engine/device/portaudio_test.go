//go:build cgo

package device

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/chronus-audio/chronus/engine/device/jackd"
)

// startJack starts a private dummy JACK server for this test.
func startJack(t *testing.T, period int) *jackd.Server {
	t.Helper()
	s, err := jackd.Start(fmt.Sprintf("chronus-test-%d", os.Getpid()), 48000, period)
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
