package midifile

import (
	"bytes"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gitlab.com/gomidi/midi/v2"
	"gitlab.com/gomidi/midi/v2/smf"
)

// corpusDir is <repo root>/../shared/testdata/midi-edge. A missing corpus fails
// the test: it is part of the project's shared data, not an optional extra.
func corpusDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
	c := filepath.Join(dir, "..", "shared", "testdata", "midi-edge")
	if st, err := os.Stat(c); err != nil || !st.IsDir() {
		t.Fatalf("MIDI corpus %s is missing: %v", c, err)
	}
	return c
}

type outcome int

const (
	ok      outcome = iota // loads, no warning
	warn                   // loads with at least one warning
	failErr                // Load returns an error
)

// noteOns returns the note-on events (velocity > 0).
func noteOns(s *Song) []Event {
	var out []Event
	for _, e := range s.Events {
		if e.Msg[0]&0xF0 == 0x90 && e.Len == 3 && e.Msg[2] > 0 {
			out = append(out, e)
		}
	}
	return out
}

// TestCorpus decides, for every file of the shared corpus, whether it loads,
// loads with a warning, or fails, and checks the invariants of every Song.
func TestCorpus(t *testing.T) {
	dir := corpusDir(t)
	scale := []int{60, 62, 64, 65, 67, 69, 71, 72}
	cases := map[string]struct {
		want    outcome
		errHas  string // for failErr
		voice   int    // exact channel-voice count where the file's text makes it known; -1 = just > 0
		noteOns int    // exact note-on count, -1 = don't care
	}{
		"test-2-tracks-type-0.mid":                         {warn, "", 32, 16},
		"test-2-tracks-type-1.mid":                         {ok, "", 32, 16},
		"test-2-tracks-type-2.mid":                         {ok, "", 32, 16},
		"test-all-gm-percussion.mid":                       {ok, "", -1, -1},
		"test-all-gm-sounds.mid":                           {ok, "", -1, -1},
		"test-all-gm2-sounds.mid":                          {ok, "", -1, -1},
		"test-all-gs-sounds.mid":                           {ok, "", -1, -1},
		"test-all-microsoft-gs-wavetable-synth-sounds.mid": {ok, "", -1, -1},
		"test-all-xg-sounds.mid":                           {ok, "", -1, -1},
		"test-c-major-scale.mid":                           {ok, "", 16, 8},
		"test-control-00-20-bank-select.mid":               {ok, "", -1, -1},
		"test-control-40-damper.mid":                       {ok, "", -1, -1},
		"test-control-41-portamento.mid":                   {ok, "", -1, -1},
		"test-control-54-portamento-control.mid":           {ok, "", -1, -1},
		"test-control-7c-omni-mode-off.mid":                {ok, "", 1, 0},
		"test-control-7d-omni-mode-on.mid":                 {ok, "", 1, 0},
		"test-control-7e-mono-mode-on.mid":                 {ok, "", 1, 0},
		"test-control-7f-poly-mode-on.mid":                 {ok, "", 1, 0},
		"test-corrupt-file-extra-byte.mid":                 {warn, "", 16, 8},
		"test-corrupt-file-missing-byte.mid":               {failErr, "truncated", 0, 0},
		"test-empty-file.mid":                              {failErr, "file is empty", 0, 0},
		"test-empty.mid":                                   {ok, "", 0, 0},
		"test-gm2-doggy-78-00-38-4c.mid":                   {ok, "", -1, -1},
		"test-gm2-doggy-79-01-7b.mid":                      {ok, "", -1, -1},
		"test-gs-doggy-01-00-7b.mid":                       {ok, "", -1, -1},
		"test-illegal-message-all.mid":                     {failErr, "corrupt file: track 1", 0, 0},
		"test-illegal-message-f1-xx.mid":                   {failErr, "corrupt file: track 1", 0, 0},
		"test-illegal-message-f2-xx-xx.mid":                {failErr, "corrupt file: track 1", 0, 0},
		"test-illegal-message-f3-xx.mid":                   {failErr, "corrupt file: track 1", 0, 0},
		"test-illegal-message-f4.mid":                      {failErr, "corrupt file: track 1", 0, 0},
		"test-illegal-message-f5.mid":                      {failErr, "corrupt file: track 1", 0, 0},
		"test-illegal-message-f6.mid":                      {failErr, "corrupt file: track 1", 0, 0},
		"test-illegal-message-f8.mid":                      {failErr, "corrupt file: track 1", 0, 0},
		"test-illegal-message-f9.mid":                      {failErr, "corrupt file: track 1", 0, 0},
		"test-illegal-message-fa.mid":                      {failErr, "corrupt file: track 1", 0, 0},
		"test-illegal-message-fb.mid":                      {failErr, "corrupt file: track 1", 0, 0},
		"test-illegal-message-fc.mid":                      {failErr, "corrupt file: track 1", 0, 0},
		"test-illegal-message-fd.mid":                      {failErr, "corrupt file: track 1", 0, 0},
		"test-illegal-message-fe.mid":                      {failErr, "corrupt file: track 1", 0, 0},
		"test-karaoke-kar.mid":                             {ok, "", -1, -1},
		"test-multichannel-chords-0.mid":                   {ok, "", 48, 24},
		"test-multichannel-chords-1.mid":                   {ok, "", 48, 24},
		"test-multichannel-chords-2.mid":                   {ok, "", 48, 24},
		"test-multichannel-chords-3.mid":                   {ok, "", 48, 24},
		"test-non-midi-track.mid":                          {warn, "", 16, 8},
		"test-not-a-midi-file.mid":                         {failErr, "not a MIDI file", 0, 0},
		"test-note-on-velocity.mid":                        {ok, "", -1, 9},
		"test-rpn-00-00-pitch-bend-range.mid":              {ok, "", -1, -1},
		"test-rpn-00-01-fine-tuning.mid":                   {ok, "", -1, -1},
		"test-rpn-00-02-coarse-tuning.mid":                 {ok, "", -1, -1},
		"test-rpn-00-05-modulation-depth-range.mid":        {ok, "", -1, -1},
		"test-running-status-metaevent.mid":                {failErr, "running status after a meta or sysex event", 0, 0},
		"test-running-status-sysex.mid":                    {failErr, "running status after a meta or sysex event", 0, 0},
		"test-silence-all-notes-off.mid":                   {ok, "", 1, 0},
		"test-silence-end-of-track.mid":                    {ok, "", 0, 0},
		"test-silence-text-metaevent.mid":                  {ok, "", 0, 0},
		"test-smpte-offset.mid":                            {ok, "", 16, 8},
		"test-sysex-7e-06-01-id-request.mid":               {ok, "", 0, 0},
		"test-sysex-7e-09-01-gm1-enable.mid":               {ok, "", 0, 0},
		"test-sysex-7e-09-02-gm-disable.mid":               {ok, "", 0, 0},
		"test-sysex-7e-09-03-gm2-enable.mid":               {ok, "", 0, 0},
		"test-sysex-7f-04-03-master-fine-tuning.mid":       {ok, "", -1, -1},
		"test-sysex-7f-04-04-master-coarse-tuning.mid":     {ok, "", -1, -1},
		"test-sysex-7x-08-0x-scale-tuning.mid":             {ok, "", -1, -1},
		"test-sysex-gs-40-1x-15-drum-part-change.mid":      {ok, "", -1, -1},
		"test-sysex-gs-40-1x-4x-scale-tuning.mid":          {ok, "", -1, -1},
		"test-track-length.mid":                            {ok, "", 2, 1},
		"test-vlq-2-byte.mid":                              {ok, "", 16, 8},
		"test-vlq-3-byte.mid":                              {ok, "", 16, 8},
		"test-vlq-4-byte.mid":                              {ok, "", 16, 8},
		"test-xg-doggy-40-00-30.mid":                       {ok, "", -1, -1},
		"test-xg-doggy-7e-00-00-54.mid":                    {ok, "", -1, -1},
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.mid"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(cases) {
		t.Errorf("corpus has %d files, the table decides %d: decide for every new file", len(files), len(cases))
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			tc, found := cases[name]
			if !found {
				t.Fatalf("no decision for %s", name)
			}
			song, err := LoadFile(path)
			if tc.want == failErr {
				if err == nil {
					t.Fatalf("loaded, want an error containing %q", tc.errHas)
				}
				msg := err.Error()
				if !strings.HasPrefix(msg, "midifile: "+path+": ") || !strings.Contains(msg, tc.errHas) || strings.Contains(msg, "\n") {
					t.Fatalf("error %q: want one line \"midifile: %s: ...%s...\"", msg, path, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if (tc.want == warn) != (len(song.Warnings) > 0) {
				t.Errorf("warnings %q, want warning=%v", song.Warnings, tc.want == warn)
			}
			if tc.voice >= 0 && len(song.Events) != tc.voice {
				t.Errorf("%d channel-voice events, want %d", len(song.Events), tc.voice)
			}
			if tc.voice < 0 && len(song.Events) == 0 {
				t.Errorf("no events")
			}
			if n := len(noteOns(song)); tc.noteOns >= 0 && n != tc.noteOns {
				t.Errorf("%d note-ons, want %d", n, tc.noteOns)
			}
			checkInvariants(t, song)
			// Every file whose text says "You must hear a C-Major scale" and has 8 notes
			// plays them ascending and 500 ms apart (96 ticks at the default 120 BPM).
			if tc.noteOns == 8 {
				ons := noteOns(song)
				for i, e := range ons {
					if int(e.Msg[1]) != scale[i] {
						t.Errorf("note %d is key %d, want %d", i, e.Msg[1], scale[i])
					}
					if i > 0 && e.Time-ons[i-1].Time != 500_000 {
						t.Errorf("note %d starts %d µs after the previous, want 500000", i, e.Time-ons[i-1].Time)
					}
				}
			}
		})
	}
}

func checkInvariants(t *testing.T, s *Song) {
	t.Helper()
	for i, e := range s.Events {
		if e.Len < 2 || e.Len > 3 || e.Msg[0] < 0x80 || e.Msg[0] >= 0xF0 {
			t.Fatalf("event %d is not a channel-voice message: % x", i, e.Bytes())
		}
		for _, d := range e.Msg[1:e.Len] {
			if d > 0x7F {
				t.Fatalf("event %d has a data byte > 0x7f: % x", i, e.Bytes())
			}
		}
		if e.Time < 0 || e.Time > s.Duration {
			t.Fatalf("event %d at %d µs outside 0..%d", i, e.Time, s.Duration)
		}
		if i > 0 {
			p := s.Events[i-1]
			if p.Time > e.Time || p.Time == e.Time && p.Track > e.Track {
				t.Fatalf("events %d and %d out of order: (%d µs, track %d) then (%d µs, track %d)", i-1, i, p.Time, p.Track, e.Time, e.Track)
			}
		}
	}
}

func TestCMajorScale(t *testing.T) {
	song, err := LoadFile(filepath.Join(corpusDir(t), "test-c-major-scale.mid"))
	if err != nil {
		t.Fatal(err)
	}
	// The file: 96 ticks per quarter, no tempo event (120 BPM), each note one
	// quarter note long, the next one starting when the previous ends.
	keys := []uint8{60, 62, 64, 65, 67, 69, 71, 72}
	if len(song.Events) != 16 {
		t.Fatalf("%d events, want 16", len(song.Events))
	}
	for i, k := range keys {
		on, off := song.Events[2*i], song.Events[2*i+1]
		if on.Msg != [3]byte{0x90, k, 0x7F} || on.Time != int64(i)*500_000 {
			t.Errorf("note %d on: % x at %d µs, want 90 %02x 7f at %d", i, on.Bytes(), on.Time, k, i*500_000)
		}
		if off.Msg[0] != 0x80 || off.Msg[1] != k || off.Time != int64(i+1)*500_000 {
			t.Errorf("note %d off: % x at %d µs, want 80 %02x .. at %d", i, off.Bytes(), off.Time, k, (i+1)*500_000)
		}
	}
	if song.Duration != 4_000_000 {
		t.Errorf("duration %d µs, want 4000000", song.Duration)
	}
	if song.Meta == 0 {
		t.Errorf("meta events not counted")
	}
}

func TestEndOfTrackDefinesDuration(t *testing.T) {
	dir := corpusDir(t)
	for _, tc := range []struct {
		file string
		want int64
	}{
		// Note 0..96 ticks, then end of track 192 ticks later: 288 ticks at 120 BPM.
		{"test-track-length.mid", 1_500_000},
		// End of track after 960 ticks = 10 quarters = 5 s, no notes.
		{"test-silence-end-of-track.mid", 5_000_000},
	} {
		song, err := LoadFile(filepath.Join(dir, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		if song.Duration != tc.want {
			t.Errorf("%s: duration %d µs, want %d", tc.file, song.Duration, tc.want)
		}
	}
}

func TestFormat1PlaysTogetherFormat2InSequence(t *testing.T) {
	dir := corpusDir(t)
	// Both files: track 1 holds eight quarter notes on channel 1 from tick 96 to
	// tick 864 (end of track there); track 2 the same on channel 2.
	for _, tc := range []struct {
		file       string
		secondFrom int64 // first note-on of track 2
	}{
		{"test-2-tracks-type-1.mid", 500_000},
		{"test-2-tracks-type-2.mid", 4_500_000 + 500_000},
	} {
		song, err := LoadFile(filepath.Join(dir, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		var first int64 = -1
		for _, e := range noteOns(song) {
			if e.Track == 1 {
				first = e.Time
				break
			}
		}
		if first != tc.secondFrom {
			t.Errorf("%s: track 2 starts at %d µs, want %d", tc.file, first, tc.secondFrom)
		}
	}
}

// writeSMF builds a file with gomidi's writer.
func writeSMF(t *testing.T, tf smf.TimeFormat, tracks ...smf.Track) []byte {
	t.Helper()
	s := smf.New()
	s.TimeFormat = tf
	for _, tr := range tracks {
		tr.Close(0)
		if err := s.Add(tr); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := s.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tempoMeta(uspq int) smf.Message {
	return smf.MetaUndefined(0x51, []byte{byte(uspq >> 16), byte(uspq >> 8), byte(uspq)})
}

func TestTempoChange(t *testing.T) {
	// 960 ticks per quarter; 120 BPM, then 60 BPM from tick 1920 (two beats in).
	var tr smf.Track
	tr.Add(0, tempoMeta(500_000))
	tr.Add(0, midi.NoteOn(0, 60, 100))
	tr.Add(960, midi.NoteOn(0, 62, 100))
	tr.Add(960, tempoMeta(1_000_000))
	tr.Add(0, midi.NoteOn(0, 64, 100))
	tr.Add(960, midi.NoteOn(0, 65, 100))
	tr.Add(960, midi.NoteOn(0, 67, 100))
	song, err := Load(bytes.NewReader(writeSMF(t, smf.MetricTicks(960), tr)))
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{0, 500_000, 1_000_000, 2_000_000, 3_000_000}
	if len(song.Events) != len(want) {
		t.Fatalf("%d events, want %d", len(song.Events), len(want))
	}
	for i, e := range song.Events {
		if e.Time != want[i] {
			t.Errorf("note %d at %d µs, want %d", i, e.Time, want[i])
		}
	}
	// At 48 kHz those are frames 0, 24000, 48000, 96000, 144000.
	if f := Frame(song.Events[3].Time, 48000); f != 96000 {
		t.Errorf("frame %d, want 96000", f)
	}
}

// TestManyTempoChangesAreExact checks the integer tempo map against exact
// rational arithmetic over a ritardando of 2000 tempo changes with awkward
// values, where truncating each segment to whole microseconds (as gomidi's
// TimeAt does) drifts by about 1 ms (989 µs measured at the last note).
func TestManyTempoChangesAreExact(t *testing.T) {
	const division = 97
	var tr smf.Track
	type seg struct{ ticks, uspq int }
	var segs []seg
	uspq := 333_333
	for i := 0; i < 2000; i++ {
		tr.Add(0, tempoMeta(uspq))
		d := 13 + i%7
		tr.Add(uint32(d), midi.NoteOn(0, 60, 1))
		segs = append(segs, seg{d, uspq})
		uspq += 17
	}
	song, err := Load(bytes.NewReader(writeSMF(t, smf.MetricTicks(division), tr)))
	if err != nil {
		t.Fatal(err)
	}
	if len(song.Events) != len(segs) {
		t.Fatalf("%d events, want %d", len(song.Events), len(segs))
	}
	exact := new(big.Rat)
	for i, s := range segs {
		exact.Add(exact, big.NewRat(int64(s.ticks)*int64(s.uspq), division))
		// Nearest microsecond of the exact time.
		r := new(big.Rat).Add(exact, big.NewRat(1, 2))
		want := new(big.Int).Quo(r.Num(), r.Denom()).Int64()
		if got := song.Events[i].Time; got != want {
			t.Fatalf("note %d at %d µs, exact %s µs rounds to %d", i, got, exact.FloatString(3), want)
		}
	}
}

func TestSMPTEDivision(t *testing.T) {
	for _, tc := range []struct {
		tf   smf.TimeCode
		tick uint32
		want int64
	}{
		{smf.SMPTE25(40), 1234, 1_234_000},          // 25 fps x 40 = 1 ms ticks
		{smf.SMPTE24(4), 96, 1_000_000},             // 24 x 4 = 96 ticks per second
		{smf.SMPTE30DropFrame(80), 2400, 1_001_000}, // 29.97 fps: 2400 ticks = 30 frames = 1.001 s
	} {
		var tr smf.Track
		tr.Add(0, tempoMeta(250_000)) // ignored with SMPTE time
		tr.Add(tc.tick, midi.NoteOn(0, 60, 1))
		song, err := Load(bytes.NewReader(writeSMF(t, tc.tf, tr)))
		if err != nil {
			t.Fatalf("%v: %v", tc.tf, err)
		}
		if len(song.Events) != 1 || song.Events[0].Time != tc.want {
			t.Errorf("%v: events %+v, want one at %d µs", tc.tf, song.Events, tc.want)
		}
	}
}

func TestEqualTimesKeepTrackThenFileOrder(t *testing.T) {
	var a, b smf.Track
	b.Add(480, midi.NoteOn(1, 50, 1))
	b.Add(0, midi.NoteOn(1, 51, 1))
	a.Add(480, midi.NoteOn(0, 60, 1))
	a.Add(0, midi.NoteOff(0, 60))
	a.Add(0, midi.NoteOn(0, 61, 1))
	song, err := Load(bytes.NewReader(writeSMF(t, smf.MetricTicks(480), a, b)))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, e := range song.Events {
		if e.Time != 500_000 {
			t.Errorf("event at %d µs, want 500000", e.Time)
		}
		keys = append(keys, string(rune('0'+e.Track))+":"+string(rune(e.Msg[1])))
	}
	want := []string{"0:<", "0:<", "0:=", "1:2", "1:3"}
	if strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Errorf("order %q, want %q", keys, want)
	}
}

// TestEveryTruncationFails cuts a good file at every length: each prefix must give
// a one-line error, never a panic, a hang or a silently shortened song.
func TestEveryTruncationFails(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(corpusDir(t), "test-multichannel-chords-1.mid"))
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(data); n++ {
		_, err := Load(bytes.NewReader(data[:n]))
		if err == nil {
			t.Fatalf("prefix of %d/%d bytes loaded without error", n, len(data))
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "midifile: ") || strings.Contains(msg, "\n") {
			t.Fatalf("prefix %d: error %q is not one prefixed line", n, msg)
		}
		switch {
		case n == 0:
			if !strings.Contains(msg, "empty") {
				t.Errorf("prefix 0: %q", msg)
			}
		case n < 4:
			if !strings.Contains(msg, "not a MIDI file") {
				t.Errorf("prefix %d: %q", n, msg)
			}
		default:
			if !strings.Contains(msg, "truncated") {
				t.Errorf("prefix %d: %q, want a truncation error", n, msg)
			}
		}
	}
}

func TestLoadFileErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.mid")
	for _, tc := range []struct {
		path, want string
	}{
		{missing, "midifile: " + missing + ": file does not exist"},
		{dir, "midifile: " + dir + ": is a directory, not a MIDI file"},
	} {
		_, err := LoadFile(tc.path)
		if err == nil || err.Error() != tc.want {
			t.Errorf("LoadFile(%s) = %v, want %q", tc.path, err, tc.want)
		}
	}
}

func TestFrame(t *testing.T) {
	for _, tc := range []struct {
		us   int64
		rate int
		want uint64
	}{
		{0, 48000, 0},
		{-5, 48000, 0},
		{1_000_000, 48000, 48000},
		{10, 48000, 0}, // 0.48 frames
		{11, 48000, 1}, // 0.528
		{1_000_000, 44100, 44100},
		{22_675, 44100, 1000}, // 999.9675
		{500_000, 44100, 22050},
		{1, 500_000, 1}, // exactly 0.5 rounds up
		{1 << 62, 96000, mulDivRoundBig(1<<62, 96000, 1_000_000)},
	} {
		if got := Frame(tc.us, tc.rate); got != tc.want {
			t.Errorf("Frame(%d, %d) = %d, want %d", tc.us, tc.rate, got, tc.want)
		}
	}
}

func mulDivRoundBig(a, b, c int64) uint64 {
	r := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
	r.Add(r, big.NewInt(c/2))
	return r.Quo(r, big.NewInt(c)).Uint64()
}

// TestConcurrentLoads gives -race something to look at: Load keeps no shared state.
func TestConcurrentLoads(t *testing.T) {
	dir := corpusDir(t)
	files := []string{"test-all-gm-sounds.mid", "test-karaoke-kar.mid", "test-2-tracks-type-2.mid", "test-c-major-scale.mid"}
	var wg sync.WaitGroup
	counts := make([]int, 4*len(files))
	for i := range counts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := LoadFile(filepath.Join(dir, files[i%len(files)]))
			if err != nil {
				t.Error(err)
				return
			}
			counts[i] = len(s.Events)
		}()
	}
	wg.Wait()
	for i := len(files); i < len(counts); i++ {
		if counts[i] != counts[i%len(files)] {
			t.Errorf("load %d gave %d events, load %d gave %d", i, counts[i], i%len(files), counts[i%len(files)])
		}
	}
}

// TestDamagedFilesNeverPanic flips bytes of real files at random (fixed seed):
// every result is either a one-line error or a Song that keeps the invariants.
func TestDamagedFilesNeverPanic(t *testing.T) {
	dir := corpusDir(t)
	var seeds [][]byte
	for _, name := range []string{"test-multichannel-chords-1.mid", "test-karaoke-kar.mid", "test-sysex-7f-04-04-master-coarse-tuning.mid", "test-2-tracks-type-2.mid"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	rng := uint64(1)
	next := func(n int) int {
		rng = rng*6364136223846793005 + 1442695040888963407
		return int((rng >> 33) % uint64(n))
	}
	loaded := 0
	for i := 0; i < 3000; i++ {
		data := append([]byte(nil), seeds[i%len(seeds)]...)
		for k := 0; k <= next(4); k++ {
			data[next(len(data))] = byte(next(256))
		}
		song, err := Load(bytes.NewReader(data))
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "midifile: ") || strings.Contains(msg, "\n") {
				t.Fatalf("error %q is not one prefixed line", msg)
			}
			continue
		}
		loaded++
		checkInvariants(t, song)
	}
	if loaded == 0 {
		t.Error("no damaged file loaded at all; the mutation is too coarse to test the happy path")
	}
}
