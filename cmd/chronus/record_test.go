package main

import (
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	goosc "github.com/hypebeast/go-osc/osc"
	"gitlab.com/gomidi/midi/v2/smf"

	"github.com/chronus-audio/chronus/dsp"
	"github.com/chronus-audio/chronus/engine"
	"github.com/chronus-audio/chronus/engine/proto"
	"github.com/chronus-audio/chronus/recorder"
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

// TestTakeMessageMatchesTheSynth: each worker command becomes the MIDI
// message that `chronus render` turns back into the same command (through
// dsp.MIDIEvent, as render reads it, and play's inverse of it), with the
// value on MIDI's grid; what MIDI cannot say becomes a text event.
func TestTakeMessageMatchesTheSynth(t *testing.T) {
	set := proto.Command{Op: proto.OpSet, Channel: 1, Value: 900}
	set.SetModule("filter")
	set.SetParam("cutoff")
	for _, tc := range []struct {
		c    proto.Command
		text string // "" : a channel message that reads back as c
	}{
		{c: proto.Command{Op: proto.OpNoteOn, Channel: 0, Key: 60, Value: 100.0 / 127}},
		{c: proto.Command{Op: proto.OpNoteOn, Channel: 9, Key: 36, Value: 1}},
		{c: proto.Command{Op: proto.OpNoteOn, Channel: 2, Key: 61, Value: 0.3}}, // OSC value: nearest step
		{c: proto.Command{Op: proto.OpNoteOff, Channel: 15, Key: 127, Value: 64.0 / 127}},
		{c: proto.Command{Op: proto.OpControl, Channel: 3, Key: 64, Value: 1}},
		{c: proto.Command{Op: proto.OpControl, Channel: 3, Key: 74, Value: 0}},
		{c: proto.Command{Op: proto.OpPitchBend, Channel: 4, Value: 1}},
		{c: proto.Command{Op: proto.OpPitchBend, Channel: 4, Value: -1}},
		{c: proto.Command{Op: proto.OpPitchBend, Channel: 4, Value: 0}},
		{c: proto.Command{Op: proto.OpPitchBend, Channel: 4, Value: 1000.0 / 8191}},
		{c: proto.Command{Op: proto.OpPitchBend, Channel: 4, Value: -0.25}},
		{c: proto.Command{Op: proto.OpPressure, Channel: 5, Value: 33.0 / 127}},
		{c: proto.Command{Op: proto.OpProgram, Channel: 6, Key: 42}},
		{c: proto.Command{Op: proto.OpAllNotesOff, Channel: 7}},
		{c: proto.Command{Op: proto.OpAllSoundOff, Channel: 7}},
		{c: proto.Command{Op: proto.OpResetControllers, Channel: 7}},
		{c: set, text: "set filter/cutoff=900 channel=2"},
		{c: proto.Command{Op: proto.OpPitchBend, Flags: proto.FlagPerNote, Channel: 0, Key: 60, Value: 0.5}, text: "pitch-bend key=60 value=0.5 channel=1"},
		{c: proto.Command{Op: proto.OpReset}, text: "reset"},
	} {
		msg, n, text := takeMessage(&tc.c)
		if tc.text != "" {
			if n != 0 || text != tc.text {
				t.Errorf("%v: got message % x and text %q, want text %q", tc.c.String(), msg[:n], text, tc.text)
			}
			continue
		}
		ev, ok := dsp.MIDIEvent(0, msg[:n])
		if !ok {
			t.Errorf("%v: % x does not read back", tc.c.String(), msg[:n])
			continue
		}
		back, ok := engine.Command(ev)
		if !ok || back.Op != tc.c.Op || back.Channel != tc.c.Channel || back.Key != tc.c.Key {
			t.Errorf("%v: % x reads back as %v", tc.c.String(), msg[:n], back.String())
			continue
		}
		step := 1.0 / 127
		if tc.c.Op == proto.OpPitchBend {
			step = 1.0 / 8192
		}
		exact := math.Abs(tc.c.Value/step-math.Round(tc.c.Value/step)) < 1e-9 ||
			(tc.c.Op == proto.OpPitchBend && tc.c.Value > 0 && math.Abs(tc.c.Value*8191-math.Round(tc.c.Value*8191)) < 1e-9)
		d := math.Abs(back.Value - tc.c.Value)
		if exact && d != 0 || d > step/2+1e-12 {
			t.Errorf("%v: value reads back as %v (on the grid: %v)", tc.c.String(), back.Value, exact)
		}
	}
}

// slowFile is a recording file whose writes sometimes stall, like a busy
// disk.
type slowFile struct {
	*os.File
	writes int
}

func (f *slowFile) Write(p []byte) (int, error) {
	f.writes++
	if f.writes%4 == 0 {
		time.Sleep(300 * time.Millisecond)
	}
	return f.File.Write(p)
}

// TestSlowWriterGapsLandExactly: the output tap of a real-time producer
// read by a recorder whose disk stalls. Each frame holds its own engine
// frame number, so every frame of the file must hold its own position in
// the take, or silence where audio was dropped, and the silence adds up to
// what the tap dropped: the gaps are where the audio is missing, not where
// the writer noticed.
func TestSlowWriterGapsLandExactly(t *testing.T) {
	// Larger than the recorder's reads, so draining it takes several.
	tap := engine.NewTap(1 << 14)
	const start = 1000 // engine frame of the take's first frame
	tap.EnableFrom(start)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // the callback: 128 frames every ~1 ms
		defer close(done)
		l, r := make([]float32, 128), make([]float32, 128)
		for f := 0; ; f += 128 {
			for i := range l {
				l[i], r[i] = float32(f+i), -float32(f+i)
			}
			tap.Write(l, r)
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	path := filepath.Join(t.TempDir(), "slow.wav")
	rec, err := recorder.Start(&tapSource{tap: tap}, recorder.Options{
		Path: path, Rate: 48000, Format: recorder.F32, Poll: 5 * time.Millisecond,
		Create: func(p string) (recorder.File, error) {
			f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return nil, err
			}
			return &slowFile{File: f}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	close(stop)
	<-done
	st := rec.Stop()
	if st.Err != nil {
		t.Fatal(st.Err)
	}
	if st.Dropped == 0 {
		t.Fatal("the writer never fell behind: the test proved nothing")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := wavFloats(t, b)
	silent, gaps := 0, 0
	for i := 0; i < len(s)/2; i++ {
		l, r := s[2*i], s[2*i+1]
		if l == 0 && r == 0 { // no engine frame is 0 here: silence
			if i == 0 || s[2*i-2] != 0 {
				gaps++
			}
			silent++
			continue
		}
		if l != float32(start+i) || r != -l {
			t.Fatalf("take frame %d holds engine frame %v, want %d: a gap is misplaced", i, l, start+i)
		}
	}
	if uint64(silent) != st.Dropped {
		t.Fatalf("%d silent frames in the file, %d dropped", silent, st.Dropped)
	}
	t.Logf("%d frames, %d dropped in %d gaps, all in place", len(s)/2, st.Dropped, gaps)
}

// midEvent is one channel message of a take's .mid, at its frame.
type midEvent struct {
	frame int64
	msg   []byte
}

// readTake reads a take's .mid with gomidi, converting ticks to frames at
// rate with the file's own division and tempo (the one tempo event), in
// exact integer arithmetic. texts are its text events.
func readTake(t *testing.T, path string, rate int64) (evs []midEvent, texts []string) {
	t.Helper()
	s, err := smf.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	mt, ok := s.TimeFormat.(smf.MetricTicks)
	if !ok || len(s.Tracks) != 1 {
		t.Fatalf("take .mid: time format %v, %d tracks; want metric ticks, one track", s.TimeFormat, len(s.Tracks))
	}
	ppq := int64(mt.Resolution())
	var tempo, tick int64
	for _, e := range s.Tracks[0] {
		tick += int64(e.Delta)
		var bpm float64
		var text string
		switch {
		case e.Message.GetMetaTempo(&bpm):
			b := []byte(e.Message)
			if tick != 0 || tempo != 0 {
				t.Fatal("take .mid: a tempo change after the start")
			}
			tempo = int64(b[3])<<16 | int64(b[4])<<8 | int64(b[5])
		case e.Message.GetMetaText(&text):
			texts = append(texts, text)
		case !e.Message.IsMeta():
			if tempo == 0 {
				t.Fatal("take .mid: an event before the tempo")
			}
			den := ppq * 1000000
			evs = append(evs, midEvent{(tick*tempo*rate + den/2) / den, append([]byte(nil), e.Message...)})
		}
	}
	return evs, texts
}

// writeMid writes events (frames at 48 kHz) as a .mid for `chronus render`.
func writeMid(t *testing.T, path string, evs []midEvent) {
	t.Helper()
	take, err := recorder.NewMIDITake(path, 48000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		take.Add(e.frame, e.msg)
	}
	if err := take.Close(); err != nil {
		t.Fatal(err)
	}
}

func renderMid(t *testing.T, mid string) []float32 {
	t.Helper()
	out := strings.TrimSuffix(mid, ".mid") + "-render.wav"
	if r := chronus(t, nil, "render", mid, "-o", out); r.code != 0 {
		t.Fatalf("render %s: %s", mid, r.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return wavFloats(t, b)
}

// firstDiff is the first frame where two interleaved stereo takes differ
// (a missing sample counts as 0), or -1.
func firstDiff(a, b []float32) int {
	for i := 0; i < max(len(a), len(b)); i++ {
		var x, y float32
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return i / 2
		}
	}
	return -1
}

// TestTakeMIDIIsOnTheAudioTimeline plays notes from OSC (a tablet's drum
// pads and note grid, the sustain pedal) while `chronus run --record`
// records, then checks the .mid beside the WAV:
//   - each note-on's time (ticks converted with the file's tempo and
//     division) is the frame where that note's sound starts in the WAV,
//     exactly (or the next frame: an envelope and an oscillator may both
//     start at 0). A note's sound starts where the WAV first differs from
//     a render of everything before that note; for the first note, that
//     is the WAV's first non-silent sample;
//   - `chronus render` of the .mid gives the WAV back, sample for sample.
func TestTakeMIDIIsOnTheAudioTimeline(t *testing.T) {
	in := startInstrument(t)
	// The take starts at a frame a little ahead of the engine's at start
	// (a loaded machine may hold the engine back): a note sent before
	// would sound from before the WAV's first frame. Wait until the
	// writer has written 0.2 s of it.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if fi, err := os.Stat(in.take); err == nil && fi.Size() > 44+8*9600 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the take did not grow")
		}
	}
	c := goosc.NewClient("127.0.0.1", in.port)
	send := func(addr string, v float32, after time.Duration) {
		if err := c.Send(goosc.NewMessage(addr, v)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(after)
	}
	send("/2/push1", 1, 150*time.Millisecond) // bass drum, channel 10
	send("/2/push1", 0, 600*time.Millisecond)
	send("/4/multitoggle/3/2", 1, 400*time.Millisecond) // key 46, channel 1
	send("/4/multitoggle/3/2", 0, 500*time.Millisecond)
	send("/2/push2", 1, 100*time.Millisecond) // snare
	send("/2/push2", 0, 300*time.Millisecond)
	send("/1/toggle3", 1, 50*time.Millisecond) // sustain pedal down
	send("/4/multitoggle/5/3", 1, 300*time.Millisecond)
	send("/4/multitoggle/5/3", 0, 300*time.Millisecond)
	send("/1/toggle3", 0, 1500*time.Millisecond)
	in.terminate()
	b, err := os.ReadFile(in.take)
	if err != nil {
		t.Fatal(err)
	}
	wav := wavFloats(t, b)
	mid := strings.TrimSuffix(in.take, ".wav") + ".mid"
	evs, texts := readTake(t, mid, 48000)
	if len(texts) > 0 {
		t.Fatalf("the take holds synth parameter changes, which a render cannot repeat: %q", texts)
	}
	var ons []int
	for i, e := range evs {
		if e.msg[0]&0xF0 == 0x90 && e.msg[2] > 0 {
			ons = append(ons, i)
		}
	}
	if len(ons) != 4 || len(evs) != 10 || evs[0].frame < 9600 {
		t.Fatalf("the take holds %d events, %d note-ons; want 10 and 4, from 0.2 s on: %v", len(evs), len(ons), evs)
	}
	dir := t.TempDir()
	for k, i := range ons {
		on := evs[i]
		var before []float32 // the WAV without this note and what follows
		if k > 0 {
			prefix := append([]midEvent(nil), evs[:i]...)
			// An ignored controller at the note's frame keeps the render
			// going at least that long.
			prefix = append(prefix, midEvent{on.frame, []byte{0xBF, 3, 0}})
			p := filepath.Join(dir, fmt.Sprintf("before-%d.mid", k))
			writeMid(t, p, prefix)
			before = renderMid(t, p)
		}
		got := firstDiff(wav, before)
		t.Logf("note %d (% x): .mid frame %d (%.4f s), sound starts at frame %d", k, on.msg, on.frame, float64(on.frame)/48000, got)
		if d := int64(got) - on.frame; d < 0 || d > 1 {
			t.Errorf("note %d starts at WAV frame %d, the .mid says frame %d (%.2f ms apart)", k, got, on.frame, float64(d)/48)
		}
	}
	// The whole take, rendered again from its .mid.
	again := renderMid(t, mid)
	n := min(len(again), len(wav))
	if d := firstDiff(wav[:n], again[:n]); d >= 0 {
		t.Fatalf("the render of the take's .mid differs from the take from frame %d", d)
	}
	// Beyond the shorter one, both are the tail below -100 dBFS.
	for _, rest := range [][]float32{wav[n:], again[n:]} {
		for _, v := range rest {
			if math.Abs(float64(v)) > 1e-5 {
				t.Fatalf("past frame %d (where one file ends) the other holds %v", n/2, v)
			}
		}
	}
	t.Logf("the take (%d frames) and the render of its .mid (%d frames) are identical over %d frames", len(wav)/2, len(again)/2, n/2)
}

// TestRecordStatusEverySecond: while recording, the OSC clients get
// /record/status (1, path, elapsed seconds) about once a second without
// asking, with the elapsed time moving on by about a second each time.
func TestRecordStatusEverySecond(t *testing.T) {
	ln, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	in := launch(t, nil, true, "--osc-feedback", ln.LocalAddr().String())
	type status struct {
		at      time.Time
		elapsed float32
	}
	var got []status
	buf := make([]byte, 65536)
	end := time.Now().Add(3500 * time.Millisecond)
	for time.Now().Before(end) {
		ln.SetReadDeadline(end)
		n, err := ln.Read(buf)
		if err != nil {
			break
		}
		p, err := goosc.ParsePacket(string(buf[:n]))
		if err != nil {
			t.Fatalf("feedback is not OSC: %v", err)
		}
		m, ok := p.(*goosc.Message)
		if !ok || m.Address != "/record/status" {
			continue // levels, voices...
		}
		if len(m.Arguments) != 3 || m.Arguments[0] != int32(1) || m.Arguments[1] != in.take {
			t.Fatalf("/record/status %v, want 1, %q, elapsed", m.Arguments, in.take)
		}
		got = append(got, status{time.Now(), m.Arguments[2].(float32)})
	}
	in.terminate()
	if len(got) < 3 {
		t.Fatalf("%d /record/status messages in 3.5 s of recording, want one a second", len(got))
	}
	for i := 1; i < len(got); i++ {
		gap := got[i].at.Sub(got[i-1].at).Seconds()
		step := float64(got[i].elapsed - got[i-1].elapsed)
		t.Logf("/record/status elapsed %.3f s, %.3f s after the previous", got[i].elapsed, gap)
		if gap < 0.5 || gap > 1.5 || step < 0.5 || step > 1.5 {
			t.Fatalf("status %d came %.2f s after the previous, elapsed moved %.2f s; want about 1 s", i, gap, step)
		}
	}
}
