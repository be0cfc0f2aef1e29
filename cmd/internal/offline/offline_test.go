package offline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chronus-audio/chronus/controllers/midifile"
	"github.com/chronus-audio/chronus/dsp"
	"github.com/chronus-audio/chronus/recorder"
)

const rate = 48000

// ev builds a song event at us microseconds.
func ev(us int64, b ...byte) midifile.Event {
	e := midifile.Event{Time: us, Len: uint8(len(b))}
	copy(e.Msg[:], b)
	return e
}

// songOf wraps events in a Song lasting until dur µs.
func songOf(dur int64, evs ...midifile.Event) *midifile.Song {
	return &midifile.Song{Format: 0, Tracks: 1, Events: evs, Duration: dur}
}

// scale is eight short notes at awkward times, so events fall at every
// position inside blocks of any size.
func scale() *midifile.Song {
	var evs []midifile.Event
	for i := int64(0); i < 8; i++ {
		t := 12_345 + i*123_457
		evs = append(evs, ev(t, 0x90, byte(60+i), 100), ev(t+80_001, 0x80, byte(60+i), 0))
	}
	evs = append(evs, ev(500_000, 0xB0, 10, 20), ev(600_000, 0xE0, 0, 0x50))
	slices.SortStableFunc(evs, func(a, b midifile.Event) int { return int(a.Time - b.Time) })
	return songOf(1_100_000, evs...)
}

func render(t *testing.T, song *midifile.Song, cfg Config) ([]float32, Stats) {
	t.Helper()
	var buf Buffer
	st, err := Render(context.Background(), song, cfg, &buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	if uint64(len(buf.Samples)) != 2*st.Frames {
		t.Fatalf("%d samples for %d frames", len(buf.Samples), st.Frames)
	}
	return buf.Samples, st
}

// TestBlockSizeDoesNotMoveEvents: events are scheduled on exact frames, so the
// block size Render uses must not change a single sample.
func TestBlockSizeDoesNotMoveEvents(t *testing.T) {
	want, _ := render(t, scale(), Config{Rate: rate, Voices: 16, Tail: 2 * time.Second})
	for _, block := range []int{1, 7, 256, 999, 4096} {
		got, _ := render(t, scale(), Config{Rate: rate, Voices: 16, Tail: 2 * time.Second, Block: block})
		if !slices.Equal(got, want) {
			t.Errorf("block %d: output differs from block %d", block, DefaultBlock)
		}
	}
}

// TestNoteStartsOnItsFrame: a single note at 0.3 s must leave frames before
// round(0.3 s × rate) exactly silent and sound from there (±1 frame, because
// the first sample of an envelope starting at 0 may itself be 0).
func TestNoteStartsOnItsFrame(t *testing.T) {
	for _, us := range []int64{0, 300_000, 300_011, 1_234_567} {
		song := songOf(us+100_000, ev(us, 0x90, 69, 127), ev(us+100_000, 0x80, 69, 0))
		out, _ := render(t, song, Config{Rate: rate, Voices: 4, Tail: time.Second})
		want := int(midifile.Frame(us, rate))
		first := -1
		for i, x := range out {
			if x != 0 {
				first = i / 2
				break
			}
		}
		t.Logf("note at %d µs: frame %d, first non-zero %d", us, want, first)
		if first < want || first > want+1 {
			t.Errorf("note at %d µs: first sound at frame %d, want %d", us, first, want)
		}
	}
}

// TestTailEndsAfterQuiet: after the song the render goes on until no voice
// sounds and QuietTime of output stayed below QuietLevel, and stops right there.
func TestTailEndsAfterQuiet(t *testing.T) {
	song := songOf(200_000, ev(0, 0x90, 60, 127), ev(100_000, 0x80, 60, 0))
	out, st := render(t, song, Config{Rate: rate, Voices: 4, Tail: 10 * time.Second})
	need := int(QuietTime.Seconds() * rate)
	n := int(st.Frames)
	if n <= int(st.SongFrames)+need || n >= int(st.SongFrames)+10*rate {
		t.Fatalf("%d frames: want more than the song (%d) plus the quiet time (%d) and less than the 10 s cap", n, st.SongFrames, need)
	}
	for i := 2 * (n - need); i < 2*n; i++ {
		if abs32(out[i]) >= QuietLevel {
			t.Fatalf("sample %d of the final quiet stretch is %g", i, out[i])
		}
	}
	// The frame just before the quiet stretch was still audible (else the
	// render would have stopped earlier) unless a voice was still active.
	last := n - need - 1
	if abs32(out[2*last]) < QuietLevel && abs32(out[2*last+1]) < QuietLevel {
		t.Logf("frame %d before the quiet stretch is silent: a voice was still active there", last)
	}
}

// TestTailIsCapped: a held pad with a long release is cut at exactly Tail.
func TestTailIsCapped(t *testing.T) {
	song := songOf(500_000, ev(0, 0x90, 60, 127), ev(500_000, 0x80, 60, 0))
	_, st := render(t, song, Config{Rate: rate, Voices: 4, Patch: "pad", Tail: 50 * time.Millisecond})
	if want := st.SongFrames + rate/20; st.Frames != want {
		t.Errorf("%d frames, want song %d + 2400", st.Frames, st.SongFrames)
	}
}

// TestFullQueue sends more events for one frame than the synth's queue holds:
// all must be scheduled, none lost, the overflow applied late.
func TestFullQueue(t *testing.T) {
	var evs []midifile.Event
	for i := 0; i < dsp.MaxPending+904; i++ {
		evs = append(evs, ev(100_000, 0xB0, 1, byte(i%128)))
	}
	_, st := render(t, songOf(200_000, evs...), Config{Rate: rate, Voices: 4})
	if st.Events != len(evs) {
		t.Errorf("%d events scheduled, want %d", st.Events, len(evs))
	}
	if st.Late == 0 || st.Late > 904 {
		t.Errorf("%d late events, want 1..904", st.Late)
	}
}

func TestForcedPatchIgnoresProgramChanges(t *testing.T) {
	song := songOf(100_000, ev(0, 0xC0, 5), ev(0, 0xC9, 5), ev(0, 0xC3, 7), ev(0, 0xA0, 60, 1))
	_, st := render(t, song, Config{Rate: rate, Voices: 4, Patch: "organ"})
	// Two melodic program changes and the poly aftertouch; the drum channel's stays.
	if st.Ignored != 3 || st.Events != 1 {
		t.Errorf("ignored %d, scheduled %d; want 3 and 1", st.Ignored, st.Events)
	}
	if _, err := Render(context.Background(), song, Config{Rate: rate, Voices: 4, Patch: "kazoo"}, &Buffer{}, nil); err == nil {
		t.Error("unknown patch accepted")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{
		{Rate: 7999, Voices: 1}, {Rate: dsp.MaxSampleRate + 1, Voices: 1},
		{Rate: rate, Voices: 0}, {Rate: rate, Voices: dsp.MaxVoices + 1},
		{Rate: rate, Voices: 1, Tail: -1}, {Rate: rate, Voices: 1, Block: -1},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

// TestStepDoesNotAllocate: the render loop body (events, synth, interleave)
// allocates nothing per block, while events are being scheduled.
func TestStepDoesNotAllocate(t *testing.T) {
	var evs []midifile.Event
	for i := int64(0); i < 20_000; i++ {
		evs = append(evs, ev(i*997, 0x90|byte(i%16), byte(40+i%40), 90), ev(i*997+500, 0x80|byte(i%16), byte(40+i%40), 0))
	}
	cfg := Config{Rate: rate, Voices: 64}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := NewSynth(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := newRenderer(s, songOf(int64(len(evs))*997, evs...), cfg)
	f, err := os.Create(filepath.Join(t.TempDir(), "a.wav"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := recorder.NewWriter(f, rate, Channels, recorder.F32)
	if err != nil {
		t.Fatal(err)
	}
	before := r.stats.Events
	allocs := testing.AllocsPerRun(200, func() {
		n := r.step()
		if err := w.Write(r.inter[:2*n]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per block, want 0", allocs)
	}
	if r.stats.Events-before < 100 {
		t.Errorf("only %d events scheduled during the measurement", r.stats.Events-before)
	}
}

func TestRenderFileLeavesNothingOnError(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := filepath.Join(dir, "x.wav")
	_, err := RenderFile(ctx, scale(), Config{Rate: rate, Voices: 4}, out, recorder.S16, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
	if _, err := RenderFile(context.Background(), scale(), Config{Rate: rate, Voices: 4}, filepath.Join(dir, "no", "x.wav"), recorder.S16, nil); err == nil {
		t.Error("rendering into a missing directory succeeded")
	}
	// Success replaces an existing file and leaves only it.
	if err := os.WriteFile(out, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := RenderFile(context.Background(), scale(), Config{Rate: rate, Voices: 4}, out, recorder.S16, nil)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(out)
	if err != nil || fi.Size() < int64(44+4*st.Frames) || fi.Size() > int64(200+4*st.Frames) {
		t.Errorf("output %v, %v for %d frames", fi, err, st.Frames)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %v, want only x.wav", ents)
	}
}
