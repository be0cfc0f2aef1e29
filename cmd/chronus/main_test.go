package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gitlab.com/gomidi/midi/v2"
	"gitlab.com/gomidi/midi/v2/smf"
)

// bin is the chronus binary built once for all tests: they run the real program.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "chronus-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "chronus")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building chronus:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is one run of the binary.
type result struct {
	stdout, stderr []byte
	code           int
}

// chronus runs the binary with args; env entries are added to a clean
// environment (no CHRONUS_ variables leak in from the caller's).
func chronus(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, envPrefix) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running chronus: %v", err)
	}
	return result{so.Bytes(), se.Bytes(), code}
}

// logLines parses stderr as JSON log lines (stderr is not a terminal here, so
// the logger must write JSON).
func logLines(t *testing.T, stderr []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimRight(string(stderr), "\n"), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("stderr line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

func corpus(t *testing.T, name string) string {
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
	p := filepath.Join(dir, "..", "shared", "testdata", "midi-edge", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("corpus file missing: %v", err)
	}
	return p
}

// soxi runs soxi with one option on path. soxi is installed by the project's
// setup; if it is not there yet, wait for it (never skip).
func soxi(t *testing.T, opt, path string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		if _, err := exec.LookPath("soxi"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("soxi (package sox) is not installed")
		}
		time.Sleep(5 * time.Second)
	}
	out, err := exec.Command("soxi", opt, path).CombinedOutput()
	if err != nil {
		t.Fatalf("soxi %s %s: %v: %s", opt, path, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestRenderErrors(t *testing.T) {
	cases := []struct {
		name, input, want string
	}{
		{"empty", corpus(t, "test-empty-file.mid"), "file is empty"},
		{"not midi", corpus(t, "test-not-a-midi-file.mid"), "not a MIDI file"},
		{"truncated", corpus(t, "test-corrupt-file-missing-byte.mid"), "truncated"},
		{"illegal message", corpus(t, "test-illegal-message-f4.mid"), "corrupt file"},
		{"missing", filepath.Join(t.TempDir(), "missing.mid"), "does not exist"},
	}
	for _, tc := range cases {
		for _, toStdout := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stdout=%v", tc.name, toStdout), func(t *testing.T) {
				dir := t.TempDir()
				out := filepath.Join(dir, "out.wav")
				if toStdout {
					out = "-"
				}
				r := chronus(t, nil, "render", tc.input, "-o", out)
				if r.code == 0 {
					t.Fatalf("exit status 0 for %s", tc.input)
				}
				lines := logLines(t, r.stderr)
				if len(lines) != 1 {
					t.Fatalf("%d stderr lines, want exactly 1:\n%s", len(lines), r.stderr)
				}
				l := lines[0]
				errText, _ := l["error"].(string)
				if l["level"] != "error" || !strings.Contains(errText, tc.input) || !strings.Contains(errText, tc.want) {
					t.Errorf("error line %s: want level error and an error naming %s with %q", r.stderr, tc.input, tc.want)
				}
				if len(r.stdout) != 0 {
					t.Errorf("%d bytes on stdout after an error", len(r.stdout))
				}
				if ents, _ := os.ReadDir(dir); len(ents) != 0 {
					t.Errorf("files left in the output directory: %v", ents)
				}
			})
		}
	}
}

func TestRenderUsageErrors(t *testing.T) {
	good := corpus(t, "test-c-major-scale.mid")
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no input", nil, []string{"render"}, "needs one MIDI file"},
		{"bad env rate", []string{"CHRONUS_RATE=fast"}, []string{"render", good}, "CHRONUS_RATE"},
		{"bad env log level", []string{"CHRONUS_LOG_LEVEL=loud"}, []string{"render", good}, "loud"},
		{"rate out of range", nil, []string{"render", good, "--rate", "1000"}, "sample rate 1000"},
		{"bad format", nil, []string{"render", good, "--format", "mp3"}, "mp3"},
		{"bad patch", nil, []string{"render", good, "--patch", "kazoo"}, "kazoo"},
		{"bad flag", nil, []string{"render", good, "--nope"}, "nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			r := chronus(t, tc.env, append(tc.args, "-o", filepath.Join(dir, "x.wav"))...)
			if r.code != 2 {
				t.Errorf("exit status %d, want 2", r.code)
			}
			lines := logLines(t, r.stderr)
			if len(lines) != 1 || lines[0]["level"] != "error" || !strings.Contains(string(r.stderr), tc.want) {
				t.Errorf("stderr %q: want one error line mentioning %q", r.stderr, tc.want)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("files left: %v", ents)
			}
		})
	}
}

func TestRenderFormats(t *testing.T) {
	in := corpus(t, "test-c-major-scale.mid")
	for _, tc := range []struct {
		format, bits, encoding string
	}{
		{"s16", "16", "Signed Integer PCM"},
		{"s24", "24", "Signed Integer PCM"},
		{"f32", "32", "Floating Point PCM"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "scale.wav")
			r := chronus(t, nil, "render", in, "-o", out, "--format", tc.format, "--rate", "44100")
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			for opt, want := range map[string]string{"-r": "44100", "-c": "2", "-b": tc.bits, "-e": tc.encoding} {
				if got := soxi(t, opt, out); got != want {
					t.Errorf("soxi %s = %q, want %q", opt, got, want)
				}
			}
			// The scale lasts 4 s; the tail is at most 10 s more.
			secs := soxi(t, "-D", out)
			var d float64
			fmt.Sscan(secs, &d)
			if d < 4 || d > 14.001 {
				t.Errorf("duration %s s, want 4..14", secs)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				t.Errorf("directory holds %v, want only the WAV file", ents)
			}
			// One info line with typed fields, nothing else.
			lines := logLines(t, r.stderr)
			if len(lines) != 1 || lines[0]["level"] != "info" {
				t.Fatalf("stderr %s: want one info line", r.stderr)
			}
			for _, k := range []string{"frames", "seconds", "realtime_factor"} {
				if _, ok := lines[0][k].(float64); !ok {
					t.Errorf("info line has no numeric %q: %s", k, r.stderr)
				}
			}
			if lines[0]["frames"].(float64) != math.Round(d*44100) {
				t.Errorf("logged %v frames, soxi says %s s", lines[0]["frames"], secs)
			}
		})
	}
}

func TestStdoutMatchesFileAndIsDeterministic(t *testing.T) {
	in := corpus(t, "test-multichannel-chords-1.mid")
	dir := t.TempDir()
	var files [][]byte
	for i := 0; i < 2; i++ {
		out := filepath.Join(dir, fmt.Sprintf("run%d.wav", i))
		if r := chronus(t, nil, "render", in, "-o", out, "--format", "s24"); r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, b)
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Fatal("two renders of the same file differ")
	}
	r := chronus(t, nil, "render", "--format", "s24", "-o", "-", in) // flags before the argument too
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !bytes.Equal(r.stdout, files[0]) {
		t.Fatalf("stdout (%d bytes) differs from the file (%d bytes)", len(r.stdout), len(files[0]))
	}
	if len(files[0]) < 44+3*2*48000 {
		t.Fatalf("WAV only %d bytes", len(files[0]))
	}
}

// placementSong is one note whose start falls mid-block after a tempo change:
// 480 ticks per quarter, 120 BPM for two beats (1 s), then 100 BPM (600000 µs
// per quarter), note on 333 ticks later: 1 s + 333 × 600000 / 480 µs = 1.41625 s.
func placementSong(t *testing.T, path string) {
	t.Helper()
	var tr smf.Track
	tr.Add(0, smf.MetaTempo(120))
	tr.Add(960, smf.MetaTempo(100))
	tr.Add(333, midi.NoteOn(0, 69, 120))
	tr.Add(480, midi.NoteOff(0, 69))
	tr.Close(0)
	s := smf.New()
	s.TimeFormat = smf.MetricTicks(480)
	if err := s.Add(tr); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteFile(path); err != nil {
		t.Fatal(err)
	}
}

// wavFloats reads the data chunk of a float32 WAV file.
func wavFloats(t testing.TB, b []byte) []float32 {
	t.Helper()
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Fatal("not a WAV file")
	}
	for off := 12; off+8 <= len(b); {
		id, n := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:]))
		off += 8
		if id == "data" {
			data := b[off : off+n]
			out := make([]float32, len(data)/4)
			for i := range out {
				out[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
			}
			return out
		}
		off += n + n&1
	}
	t.Fatal("no data chunk")
	return nil
}

// TestSampleAccuratePlacement renders the note at 1.41625 s. At 48 kHz that is
// frame 67980 exactly (block 66 of 1024 frames, 396 frames in); at 44.1 kHz
// 62456.625, rounded to 62457. Everything before must be exact silence, and the
// first non-zero sample must be that frame or the next one: an envelope and an
// oscillator may both start from 0, so the very first sample of a note can be
// exactly 0.0 (that is the ±1 frame).
func TestSampleAccuratePlacement(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "one-note.mid")
	placementSong(t, in)
	for _, tc := range []struct {
		rate  string
		frame int
	}{
		{"48000", 67980},
		{"44100", 62457},
	} {
		t.Run(tc.rate, func(t *testing.T) {
			out := filepath.Join(dir, "one-note-"+tc.rate+".wav")
			env := []string{"CHRONUS_RATE=" + tc.rate} // the rate comes from the environment
			if r := chronus(t, env, "render", in, "-o", out); r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if got := soxi(t, "-r", out); got != tc.rate {
				t.Fatalf("CHRONUS_RATE=%s gave a %s Hz file", tc.rate, got)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			samples := wavFloats(t, b)
			first := -1
			for i, x := range samples {
				if x != 0 {
					first = i / 2
					break
				}
			}
			if first < tc.frame || first > tc.frame+1 {
				t.Fatalf("first non-zero sample at frame %d, want %d (or %d)", first, tc.frame, tc.frame+1)
			}
		})
	}
}

func TestFlagBeatsEnvironment(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x.wav")
	r := chronus(t, []string{"CHRONUS_RATE=44100", "CHRONUS_FORMAT=s16"}, "render", corpus(t, "test-track-length.mid"), "-o", out, "--rate", "22050")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if got := soxi(t, "-r", out); got != "22050" {
		t.Errorf("rate %s, want the flag's 22050", got)
	}
	if got := soxi(t, "-b", out); got != "16" {
		t.Errorf("bits %s, want 16 from CHRONUS_FORMAT", got)
	}
}

func TestDefaultOutputName(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "song.mid")
	placementSong(t, in)
	if r := chronus(t, nil, "render", in); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	wav := filepath.Join(dir, "song.wav")
	st, err := os.Stat(wav)
	if err != nil {
		t.Fatal(err)
	}
	// Rendering again with the default name (a take's .mid beside its WAV)
	// must not replace the file; -o may.
	r := chronus(t, nil, "render", in)
	if r.code == 0 || !strings.Contains(string(r.stderr), "already exists") {
		t.Fatalf("second render: exit %d, stderr %q; want a refusal", r.code, r.stderr)
	}
	if again, err := os.Stat(wav); err != nil || !again.ModTime().Equal(st.ModTime()) || again.Size() != st.Size() {
		t.Fatalf("the existing WAV changed: %v", err)
	}
	if r := chronus(t, nil, "render", in, "-o", wav); r.code != 0 {
		t.Fatalf("render -o over an existing file: exit %d: %s", r.code, r.stderr)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"render", "--help"}, {"help", "render"}} {
		r := chronus(t, nil, args...)
		if r.code != 0 {
			t.Errorf("%v: exit %d", args, r.code)
		}
		out := string(r.stdout)
		if !strings.Contains(out, "Usage:") || !strings.Contains(out, "render") {
			t.Errorf("%v: help output %q", args, out)
		}
		if args[0] == "render" && !strings.Contains(out, "--rate") {
			t.Errorf("render help does not list --rate: %q", out)
		}
	}
}

func TestRenderIntoMissingDirectory(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "no-such-dir", "x.wav")
	r := chronus(t, nil, "render", corpus(t, "test-c-major-scale.mid"), "-o", out)
	if r.code == 0 {
		t.Fatal("exit status 0")
	}
	if lines := logLines(t, r.stderr); len(lines) != 1 || lines[0]["level"] != "error" {
		t.Errorf("stderr %s: want one error line", r.stderr)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
}

// TestInterruptLeavesNoFile stops a long render with SIGINT: the temporary file
// must go, no output file may appear, and the exit status is non-zero.
func TestInterruptLeavesNoFile(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "long.mid")
	var tr smf.Track
	tr.Add(0, midi.NoteOn(0, 60, 100))
	tr.Add(480, midi.NoteOff(0, 60))
	tr.Close(480 * 2 * 60 * 30) // the track ends after 30 minutes at 120 BPM
	s := smf.New()
	s.TimeFormat = smf.MetricTicks(480)
	if err := s.Add(tr); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteFile(in); err != nil {
		t.Fatal(err)
	}
	outDir := filepath.Join(dir, "out")
	if err := os.Mkdir(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "render", in, "-o", filepath.Join(outDir, "long.wav"))
	var se bytes.Buffer
	cmd.Stderr = &se
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the temporary file exists, so the render is under way.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ents, _ := os.ReadDir(outDir); len(ents) > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no temporary file appeared")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if err == nil {
		t.Fatal("exit status 0 after SIGINT")
	}
	lines := logLines(t, se.Bytes())
	if len(lines) != 1 || lines[0]["level"] != "error" || !strings.Contains(lines[0]["error"].(string), "interrupted") {
		t.Errorf("stderr %s: want one error line saying the render was interrupted", se.Bytes())
	}
	if ents, _ := os.ReadDir(outDir); len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
}
