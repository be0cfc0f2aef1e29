package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestNetworkPathConfinesNames(t *testing.T) {
	dir := "/srv/rec"
	now := time.Date(2026, 11, 23, 18, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name, want string
		bad        bool
	}{
		{"", "/srv/rec/chronus_20261123_180405.wav", false},
		{"take one", "/srv/rec/take one.wav", false},
		{"take.WAV", "/srv/rec/take.WAV", false},
		{"Übung 3", "/srv/rec/Übung 3.wav", false},
		{"../evil", "", true},
		{"a/b", "", true},
		{`a\b`, "", true},
		{"/etc/passwd", "", true},
		{"..", "", true},
		{".hidden", "", true},
		{"bell\x07", "", true},
		{"new\nline", "", true},
		{strings.Repeat("x", 101), "", true},
		{"bad\xffutf8", "", true},
	} {
		got, err := networkPath(dir, tc.name, now)
		if tc.bad {
			if !errors.Is(err, errNameRefused) {
				t.Errorf("networkPath(%q) = %q, %v; want refused", tc.name, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("networkPath(%q) = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

// Path attacks over OSC are refused and nothing is written outside the
// recordings directory; a good name records inside it.
func TestRecordNamesOverOSC(t *testing.T) {
	in := startInstrumentWith(t, false)
	recDir := filepath.Join(filepath.Dir(in.take), "rec")
	outside := filepath.Join(filepath.Dir(in.take), "evil.wav")
	time.Sleep(200 * time.Millisecond)
	in.oscsend("/record/start", "s", "../evil")
	in.oscsend("/record/start", "s", outside)
	in.oscsend("/record/start", "s", "ok take")
	time.Sleep(500 * time.Millisecond)
	in.oscsend("/record/stop")
	time.Sleep(300 * time.Millisecond)
	in.terminate()
	if _, err := os.Stat(outside); err == nil {
		t.Fatal("a name from the network wrote outside the recordings directory")
	}
	ents, _ := os.ReadDir(recDir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "ok take.mid,ok take.wav" {
		t.Fatalf("recordings directory holds %v, want only the good take", names)
	}
	soxi(t, "-s", filepath.Join(recDir, "ok take.wav"))
}

// SIGKILL of the whole program while it records: the file opens in soxi and
// in a Go reader, and misses at most about the last second.
func TestSIGKILLWhileRecording(t *testing.T) {
	in := startInstrument(t) // records from the start to in.take
	began := time.Now()
	time.Sleep(2500 * time.Millisecond)
	in.cmd.Process.Signal(syscall.SIGKILL)
	elapsed := time.Since(began).Seconds()
	in.cmd.Wait()
	// The workers follow their parent (lifeline): none is left.
	time.Sleep(200 * time.Millisecond)
	if out, _ := exec.Command("pgrep", "-f", in.take).Output(); len(out) > 0 {
		t.Fatalf("processes left after SIGKILL: %s", out)
	}
	b, err := os.ReadFile(in.take)
	if err != nil {
		t.Fatal(err)
	}
	frames := len(wavFloats(t, b)) / 2
	samples, err := strconv.Atoi(soxi(t, "-s", in.take))
	if err != nil || samples != frames {
		t.Fatalf("soxi says %d samples (%v), the Go reader %d", samples, err, frames)
	}
	// Recording began before the OSC port was logged (<= elapsed), and the
	// header is rewritten every second.
	if sec := float64(frames) / 48000; sec < elapsed-1.5 || sec > elapsed+0.1 {
		t.Fatalf("after SIGKILL the file holds %.2f s of %.2f s recorded", sec, elapsed)
	}
}
