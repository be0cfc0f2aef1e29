// Command chronus-bench measures Chronus and prints a Markdown table. Every
// figure comes from the same run:
//
//   - render speed of a dense generated MIDI file (16 tracks, chords, fast runs,
//     drums on channel 10, pitch bend and controllers), through the code of
//     `chronus render` (package offline, WAV written to a file), against
//     FluidSynth rendering the same file with the TimGM6mb soundfont;
//   - the synth's cost per voice and the voices one core sustains in real time;
//   - allocations per rendered block.
//
// Usage: go run ./cmd/chronus-bench [-seconds 60] [-runs 3] [-keep DIR]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"gitlab.com/gomidi/midi/v2"
	"gitlab.com/gomidi/midi/v2/smf"
	"golang.org/x/sys/unix"

	"github.com/chronus-audio/chronus/cmd/internal/offline"
	"github.com/chronus-audio/chronus/controllers/midifile"
	"github.com/chronus-audio/chronus/dsp"
	"github.com/chronus-audio/chronus/recorder"
)

const rate = 48000

func main() {
	seconds := flag.Int("seconds", 60, "length of the generated song in seconds")
	runs := flag.Int("runs", 3, "timed runs of each renderer (the median is reported)")
	soundfont := flag.String("soundfont", "/usr/share/sounds/sf2/TimGM6mb.sf2", "soundfont for FluidSynth (package timgm6mb-soundfont)")
	keep := flag.String("keep", "", "keep the generated MIDI file and the WAV files in this directory")
	flag.Parse()
	if err := run(*seconds, *runs, *soundfont, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "chronus-bench:", err)
		os.Exit(1)
	}
}

func run(seconds, runs int, soundfont, keep string) error {
	fluid, err := exec.LookPath("fluidsynth")
	if err != nil {
		return errors.New("fluidsynth is not installed; install it with `apt-get install fluidsynth timgm6mb-soundfont` (the Makefile's bench target does)")
	}
	if _, err := os.Stat(soundfont); err != nil {
		return fmt.Errorf("soundfont %s is missing; install it with `apt-get install timgm6mb-soundfont`", soundfont)
	}
	if runs < 1 || seconds < 1 {
		return errors.New("-runs and -seconds must be at least 1")
	}
	dir := keep
	if dir == "" {
		if dir, err = os.MkdirTemp("", "chronus-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}

	midiPath := filepath.Join(dir, "dense.mid")
	notes, err := writeDenseSong(midiPath, seconds)
	if err != nil {
		return err
	}
	song, err := midifile.LoadFile(midiPath)
	if err != nil {
		return err
	}
	songSec := float64(song.Duration) / 1e6
	fmt.Fprintf(os.Stderr, "Generated %s: %d tracks, %d note-ons, %d events, %.1f s.\n", midiPath, song.Tracks, notes, len(song.Events), songSec)

	// (a) Render speed. Chronus: load + render + WAV file, exactly as `chronus
	// render`. Wall time is what a user waits; CPU time (user + system) is also
	// shown because it does not grow when other processes share the machine.
	load0 := loadAvg()
	chronusTime := func(voices int) (timing, offline.Stats, error) {
		var ts []timing
		var st offline.Stats
		for i := 0; i < runs; i++ {
			out := filepath.Join(dir, fmt.Sprintf("chronus-%d.wav", voices))
			runtime.GC()
			c0 := processCPU()
			t0 := time.Now()
			s, err := midifile.LoadFile(midiPath)
			if err != nil {
				return timing{}, st, err
			}
			st, err = offline.RenderFile(context.Background(), s, offline.Config{Rate: rate, Voices: voices, Tail: 10 * time.Second}, out, recorder.F32, nil)
			if err != nil {
				return timing{}, st, err
			}
			ts = append(ts, timing{time.Since(t0), processCPU() - c0})
		}
		return median(ts), st, nil
	}
	fmt.Fprintln(os.Stderr, "Timing chronus render ...")
	c64, st64, err := chronusTime(dsp.DefaultVoices)
	if err != nil {
		return err
	}
	c256, st256, err := chronusTime(256)
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "Timing fluidsynth ...")
	var fts []timing
	fluidOut := filepath.Join(dir, "fluidsynth.wav")
	fluidArgs := []string{"-ni", "-r", fmt.Sprint(rate), "-F", fluidOut, soundfont, midiPath}
	for i := 0; i < runs; i++ {
		cmd := exec.Command(fluid, fluidArgs...)
		t0 := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("fluidsynth failed: %v: %s", err, out)
		}
		wall := time.Since(t0)
		fts = append(fts, timing{wall, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()})
	}
	ft := median(fts)

	// (b) Voice cost: the synth alone, N held voices, 256-frame blocks.
	fmt.Fprintln(os.Stderr, "Measuring voice cost ...")
	const block = dsp.MaxBlock
	perFrame := map[int]float64{}    // wall ns per frame (testing.Benchmark)
	perFrameCPU := map[int]float64{} // thread CPU ns per frame
	for _, n := range []int{0, 64, 256} {
		ns, cpu, err := heldVoicesNsPerFrame(n, block)
		if err != nil {
			return err
		}
		perFrame[n], perFrameCPU[n] = ns, cpu
	}
	budget := 1e9 / rate // ns available per frame in real time
	perVoice := (perFrame[256] - perFrame[0]) / 256
	perVoiceCPU := (perFrameCPU[256] - perFrameCPU[0]) / 256
	sustained := int((budget - perFrame[0]) / perVoice)
	sustainedCPU := int((budget - perFrameCPU[0]) / perVoiceCPU)
	core256 := perFrame[256] * rate / 1e9 * 100
	core256CPU := perFrameCPU[256] * rate / 1e9 * 100

	// (c) Allocations.
	synthAllocs, err := synthAllocsPerBlock(256, 1024)
	if err != nil {
		return err
	}
	loopAllocs, blocks, err := renderLoopAllocsPerBlock(song, filepath.Join(dir, "allocs.wav"))
	if err != nil {
		return err
	}

	load1 := loadAvg()
	cpu := cpuName()
	fmt.Printf("## Chronus benchmark\n\n")
	fmt.Printf("`go run ./cmd/chronus-bench -seconds %d -runs %d` on %s, %s, %d CPUs, %s/%s. Median of %d runs; every figure measured in this run. Load average (1 min) %s at the start, %s at the end: wall times grow with other load, CPU times much less.\n\n",
		seconds, runs, cpu, runtime.Version(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runs, load0, load1)
	fmt.Printf("Song: generated, %d tracks on 16 channels (drums on 10), %d note-ons, %d channel events, %.1f s, 48 kHz.\n\n", song.Tracks, notes, len(song.Events), songSec)
	fmt.Printf("| render of the %.0f s song | wall time | speed (song s / wall s) | CPU time | speed (song s / CPU s) |\n|---|---|---|---|---|\n", songSec)
	row := func(name string, t timing) {
		fmt.Printf("| %s | %.3f s | **%.1f× real time** | %.3f s | %.1f× |\n", name, t.wall.Seconds(), songSec/t.wall.Seconds(), t.cpu.Seconds(), songSec/t.cpu.Seconds())
	}
	row(fmt.Sprintf("`chronus render`, %d voices (default)", dsp.DefaultVoices), c64)
	row("`chronus render --voices 256`", c256)
	row("`fluidsynth "+strings.Join(fluidArgs[:len(fluidArgs)-3], " ")+" OUT.wav "+filepath.Base(soundfont)+" SONG.mid` (polyphony 256)", ft)
	fmt.Printf("| fluidsynth ÷ chronus, 64 voices (> 1: chronus is faster) | **%.2f** | | %.2f | |\n", ft.wall.Seconds()/c64.wall.Seconds(), ft.cpu.Seconds()/c64.cpu.Seconds())
	fmt.Printf("| fluidsynth ÷ chronus, 256 voices (> 1: chronus is faster) | **%.2f** | | %.2f | |\n\n", ft.wall.Seconds()/c256.wall.Seconds(), ft.cpu.Seconds()/c256.cpu.Seconds())
	fmt.Printf("Chronus output: %d frames with 64 voices, %d with 256 (tail included).\n\n", st64.Frames, st256.Frames)

	fmt.Printf("| synth cost (Synth.Render, %d-frame blocks, held `pad` voices, 48 kHz) | wall (testing.Benchmark) | thread CPU time |\n|---|---|---|\n", block)
	fmt.Printf("| 0 voices (effects, limiter): per frame | %.1f ns | %.1f ns |\n", perFrame[0], perFrameCPU[0])
	fmt.Printf("| 64 voices: per frame | %.1f ns | %.1f ns |\n", perFrame[64], perFrameCPU[64])
	fmt.Printf("| 256 voices: per frame | %.1f ns | %.1f ns |\n", perFrame[256], perFrameCPU[256])
	fmt.Printf("| **per voice per sample frame** ((256 − 0 voices) / 256) | **%.2f ns** | **%.2f ns** |\n", perVoice, perVoiceCPU)
	fmt.Printf("| **voices one core sustains in real time** | **%d** | **%d** |\n", sustained, sustainedCPU)
	fmt.Printf("| **one core used by 256 voices** | **%.1f %%** | **%.1f %%** |\n\n", core256, core256CPU)

	fmt.Printf("| allocations | per block |\n|---|---|\n")
	fmt.Printf("| `Synth.Render` of 1024 frames, 256 voices (testing.AllocsPerRun) | %.2f |\n", synthAllocs)
	fmt.Printf("| render loop of `chronus render` (events, synth, WAV writer), %d blocks | %.3f |\n", blocks, loopAllocs)
	return nil
}

// timing is one measured run.
type timing struct {
	wall, cpu time.Duration
}

// median returns the run with the median wall time.
func median(ts []timing) timing {
	s := slices.Clone(ts)
	slices.SortFunc(s, func(a, b timing) int { return int(a.wall - b.wall) })
	return s[len(s)/2]
}

// processCPU is the user + system CPU time of this process so far.
func processCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// threadCPU is the CPU time of the calling OS thread.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "unknown"
	}
	return f[0]
}

// heldSynth returns a synth holding n sustained voices of the "pad" preset,
// past their attack.
func heldSynth(n, block int) (*dsp.Synth, error) {
	s, err := dsp.New(dsp.Config{SampleRate: rate, Voices: max(n, 1)})
	if err != nil {
		return nil, err
	}
	pi, ok := dsp.PresetIndex("pad")
	if !ok {
		return nil, errors.New("no preset called pad")
	}
	pad := dsp.Presets()[pi]
	for ch := 0; ch < dsp.Channels; ch++ {
		s.SetChannelPatch(ch, pad)
	}
	// Spread the notes over the 15 melodic channels, 18 keys each at most.
	for i := 0; i < n; i++ {
		ch := i % 15
		if ch >= dsp.DrumChannel {
			ch++
		}
		key := 36 + i/15
		s.Schedule(dsp.Event{Frame: 0, Kind: dsp.NoteOn, Channel: uint8(ch), Key: uint8(key), Value: 0.8})
	}
	l, r := make([]float32, block), make([]float32, block)
	for f := 0; f < 2*rate; f += block { // 2 s: past the attack and decay
		s.Render(l, r)
	}
	if got := s.ActiveVoices(); got != n {
		return nil, fmt.Errorf("holding %d voices, the synth reports %d active", n, got)
	}
	return s, nil
}

// heldVoicesNsPerFrame times Synth.Render with n held voices: wall time from
// testing.Benchmark, and the CPU time of the benchmark's (locked) thread.
func heldVoicesNsPerFrame(n, block int) (wall, cpu float64, err error) {
	s, err := heldSynth(n, block)
	if err != nil {
		return 0, 0, err
	}
	l, r := make([]float32, block), make([]float32, block)
	var lastCPU time.Duration
	var lastN int
	res := testing.Benchmark(func(b *testing.B) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		b.ReportAllocs()
		c0 := threadCPU()
		for b.Loop() {
			s.Render(l, r)
		}
		lastCPU, lastN = threadCPU()-c0, b.N
	})
	if s.ActiveVoices() != n {
		return 0, 0, fmt.Errorf("voices dropped from %d to %d during the benchmark", n, s.ActiveVoices())
	}
	if lastN == 0 || res.N == 0 {
		return 0, 0, errors.New("the benchmark did not run")
	}
	return float64(res.T.Nanoseconds()) / float64(res.N) / float64(block),
		float64(lastCPU.Nanoseconds()) / float64(lastN) / float64(block), nil
}

func synthAllocsPerBlock(n, block int) (float64, error) {
	s, err := heldSynth(n, dsp.MaxBlock)
	if err != nil {
		return 0, err
	}
	l, r := make([]float32, block), make([]float32, block)
	return testing.AllocsPerRun(200, func() { s.Render(l, r) }), nil
}

// memSink wraps the WAV writer and counts heap allocations between its first
// and last Write: the steady state of the render loop, setup excluded.
type memSink struct {
	w           *recorder.Writer
	blocks      int
	first, last uint64
	ms          runtime.MemStats
}

func (m *memSink) Write(p []float32) error {
	err := m.w.Write(p)
	runtime.ReadMemStats(&m.ms)
	if m.blocks == 0 {
		m.first = m.ms.Mallocs
	}
	m.last = m.ms.Mallocs
	m.blocks++
	return err
}

func renderLoopAllocsPerBlock(song *midifile.Song, path string) (float64, int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	w, err := recorder.NewWriter(f, rate, offline.Channels, recorder.F32)
	if err != nil {
		return 0, 0, err
	}
	sink := &memSink{w: w}
	if _, err := offline.Render(context.Background(), song, offline.Config{Rate: rate, Voices: dsp.DefaultVoices, Tail: 10 * time.Second}, sink, nil); err != nil {
		return 0, 0, err
	}
	if err := w.Close(); err != nil {
		return 0, 0, err
	}
	if sink.blocks < 2 {
		return 0, sink.blocks, errors.New("too few blocks to count allocations")
	}
	return float64(sink.last-sink.first) / float64(sink.blocks-1), sink.blocks, nil
}

func cpuName() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// lcg is a tiny deterministic generator so the song is the same on every run.
type lcg uint64

func (g *lcg) intn(n int) int {
	*g = *g*6364136223846793005 + 1442695040888963407
	return int(uint64(*g>>33) % uint64(n))
}

// writeDenseSong writes a format 1 file of about seconds seconds at 132 BPM:
// track 0 holds the tempo; tracks 1..16 play channels 1..16 with a GM program,
// volume and pan each: sustained four-note chords, 16th-note arpeggios, an
// eighth-note bass line, 32nd-note runs with pitch bend and mod wheel, and a
// drum pattern with 16th hi-hats on channel 10. It returns the note-on count.
func writeDenseSong(path string, seconds int) (int, error) {
	const ppq = 480
	const bpm = 132
	s := smf.NewSMF1()
	s.TimeFormat = smf.MetricTicks(ppq)
	var tempo smf.Track
	tempo.Add(0, smf.MetaTempo(bpm))
	tempo.Add(0, smf.MetaMeter(4, 4))
	tempo.Close(0)
	if err := s.Add(tempo); err != nil {
		return 0, err
	}
	beats := seconds * bpm / 60
	total := uint32(beats * ppq)
	programs := []uint8{0, 48, 89, 4, 81, 24, 11, 33, 38, 0, 56, 61, 73, 19, 52, 100}
	chordRoots := []int{48, 53, 55, 45, 50, 43, 52, 47}
	rng := lcg(2024)
	notes := 0
	for ch := uint8(0); ch < 16; ch++ {
		type ev struct {
			tick uint32
			msg  []byte
		}
		var evs []ev
		add := func(t uint32, m []byte) {
			if t <= total {
				evs = append(evs, ev{t, m})
			}
		}
		add(0, midi.ProgramChange(ch, programs[ch]))
		add(0, midi.ControlChange(ch, 7, uint8(90+rng.intn(30))))
		add(0, midi.ControlChange(ch, 10, uint8(ch*8)))
		note := func(t, dur uint32, key, vel int) {
			if t+dur > total {
				return
			}
			add(t, midi.NoteOn(ch, uint8(key), uint8(vel)))
			add(t+dur, midi.NoteOff(ch, uint8(key)))
			notes++
		}
		for bar := uint32(0); bar*4*ppq < total; bar++ {
			t0 := bar * 4 * ppq
			root := chordRoots[int(bar)%len(chordRoots)]
			switch {
			case ch == 9: // drums: kick, snare, 16th hats, a crash every 4 bars
				for s := uint32(0); s < 16; s++ {
					t := t0 + s*ppq/4
					note(t, ppq/8, 42, 60+rng.intn(40))
					if s%4 == 0 {
						note(t, ppq/8, 36, 110)
					}
					if s%8 == 4 {
						note(t, ppq/8, 38, 100)
					}
				}
				if bar%4 == 0 {
					note(t0, ppq, 49, 100)
				}
			case ch < 4: // sustained four-note chords, two per bar
				for h := uint32(0); h < 2; h++ {
					for _, iv := range []int{0, 4, 7, 11} {
						note(t0+h*2*ppq, 2*ppq-10, root+12+iv+int(ch)*3, 70)
					}
				}
			case ch < 8: // 16th-note arpeggios
				for s := uint32(0); s < 16; s++ {
					iv := []int{0, 4, 7, 12, 16, 19, 24, 19}[(int(s)+int(ch))%8]
					note(t0+s*ppq/4, ppq/4-5, root+24+iv, 60+rng.intn(50))
				}
			case ch == 8: // eighth-note bass
				for s := uint32(0); s < 8; s++ {
					note(t0+s*ppq/2, ppq/2-20, root-12+[]int{0, 0, 7, 0, 12, 0, 7, 5}[s], 100)
				}
			default: // 32nd-note runs with pitch bend and modulation
				for s := uint32(0); s < 32; s++ {
					t := t0 + s*ppq/8
					note(t, ppq/8-3, root+24+rng.intn(24), 50+rng.intn(60))
					if s%4 == 0 {
						add(t, midi.Pitchbend(ch, int16(rng.intn(8192)-4096)))
						add(t, midi.ControlChange(ch, 1, uint8(rng.intn(128))))
					}
				}
			}
		}
		slices.SortStableFunc(evs, func(a, b ev) int { return int(a.tick) - int(b.tick) })
		var tr smf.Track
		var last uint32
		tr.Add(0, smf.MetaTrackSequenceName(fmt.Sprintf("channel %d", ch+1)))
		for _, e := range evs {
			tr.Add(e.tick-last, e.msg)
			last = e.tick
		}
		tr.Close(total - last)
		if err := s.Add(tr); err != nil {
			return 0, err
		}
	}
	return notes, s.WriteFile(path)
}
