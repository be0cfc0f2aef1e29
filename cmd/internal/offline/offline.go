// Package offline renders a loaded MIDI song through the dsp synth as fast as the
// CPU allows. It is the core of `chronus render`, kept out of package main so
// that cmd/chronus-bench times exactly the same code.
//
// Nothing here runs on a real-time thread, but the per-block loop of Render
// still allocates nothing, so that a long render keeps the garbage collector idle.
package offline

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chronus-audio/chronus/controllers/midifile"
	"github.com/chronus-audio/chronus/dsp"
	"github.com/chronus-audio/chronus/recorder"
)

// DefaultBlock is the number of frames Render asks the synth for at a time. The
// synth splits it further at event frames and at dsp.MaxBlock, so the block size
// changes speed only, never where an event lands.
const DefaultBlock = 1024

// Channels is the number of output channels: the synth is stereo.
const Channels = 2

// QuietLevel is the peak below which the tail counts as silent: -100 dBFS.
const QuietLevel = 1e-5

// QuietTime is how long the output must stay below QuietLevel, with no voice
// sounding, before the tail ends. It lets reverb and delay tails ring out.
const QuietTime = 250 * time.Millisecond

// Config says how to render.
type Config struct {
	Rate   int           // sample rate, frames per second
	Voices int           // polyphony of the synth, 1..dsp.MaxVoices
	Patch  string        // preset forced on every melodic channel; "" lets program changes choose
	Tail   time.Duration // longest release tail rendered after the song's end
	Block  int           // frames per synth call; 0 means DefaultBlock
	// Presets is the preset bank (shipped plus user presets); nil means
	// the synth's built-in presets.
	Presets []dsp.Patch
}

// Sink receives the rendered audio, interleaved stereo. Write must not keep the
// slice: Render reuses it for the next block. *recorder.Writer is a Sink.
type Sink interface {
	Write(interleaved []float32) error
}

// Progress is told after each block how many frames are done and how many the
// song lasts before its tail. done may pass total while the tail renders.
type Progress func(done, total uint64)

// Stats describes a finished render.
type Stats struct {
	Frames     uint64        // frames written, tail included
	SongFrames uint64        // frames of the song itself (its duration)
	Events     int           // events scheduled on the synth
	Ignored    int           // messages the synth does not take (poly aftertouch, forced-away program changes)
	Late       int           // events scheduled after their frame had passed (the synth applies them at once)
	Elapsed    time.Duration // wall-clock time of the render loop
}

// Seconds is the length of the rendered audio.
func (s Stats) Seconds(rate int) float64 { return float64(s.Frames) / float64(rate) }

// RealtimeFactor is audio time over wall-clock time: 100 means 100x faster than real time.
func (s Stats) RealtimeFactor(rate int) float64 {
	if s.Elapsed <= 0 {
		return math.Inf(1)
	}
	return s.Seconds(rate) / s.Elapsed.Seconds()
}

// Validate checks cfg and fills in defaults. Errors name the offending setting.
func (c *Config) Validate() error {
	if c.Rate < 8000 || c.Rate > dsp.MaxSampleRate {
		return fmt.Errorf("offline: sample rate %d is outside 8000..%d", c.Rate, dsp.MaxSampleRate)
	}
	if c.Voices < 1 || c.Voices > dsp.MaxVoices {
		return fmt.Errorf("offline: voice count %d is outside 1..%d", c.Voices, dsp.MaxVoices)
	}
	if c.Tail < 0 || c.Tail > time.Hour {
		return fmt.Errorf("offline: tail %v is outside 0..1h", c.Tail)
	}
	if c.Block == 0 {
		c.Block = DefaultBlock
	}
	if c.Block < 1 || c.Block > 1<<20 {
		return fmt.Errorf("offline: block %d is outside 1..%d", c.Block, 1<<20)
	}
	if c.Patch != "" {
		if _, ok := c.preset(c.Patch); !ok {
			return fmt.Errorf("offline: unknown patch %q; presets: %s", c.Patch, strings.Join(c.PresetNames(), ", "))
		}
	}
	return nil
}

func (c *Config) bank() []dsp.Patch {
	if c.Presets != nil {
		return c.Presets
	}
	return dsp.Presets()
}

func (c *Config) preset(name string) (dsp.Patch, bool) {
	for _, p := range c.bank() {
		if p.NameString() == name {
			return p, true
		}
	}
	return dsp.Patch{}, false
}

// PresetNames lists the presets of the bank the render uses.
func (c *Config) PresetNames() []string {
	ps := c.bank()
	names := make([]string, len(ps))
	for i := range ps {
		names[i] = ps[i].NameString()
	}
	return names
}

// NewSynth builds the synth for cfg (already validated) with a forced patch applied.
func NewSynth(cfg Config) (*dsp.Synth, error) {
	s, err := dsp.New(dsp.Config{SampleRate: float64(cfg.Rate), Voices: cfg.Voices, Presets: cfg.Presets})
	if err != nil {
		return nil, err
	}
	if cfg.Patch != "" {
		p, _ := cfg.preset(cfg.Patch)
		for ch := 0; ch < dsp.Channels; ch++ {
			if ch != dsp.DrumChannel {
				s.SetChannelPatch(ch, p)
			}
		}
	}
	return s, nil
}

// Render plays song through a new synth into sink. Every event is scheduled on
// its exact frame, round(µs × rate / 1e6); the synth applies it inside the block.
// After the song's duration it keeps rendering until no voice sounds and the
// output has stayed below QuietLevel for QuietTime, or until cfg.Tail has
// passed. The output ends at the frame where that quiet stretch completes.
// Render stops with ctx's error when ctx is cancelled. progress may be nil.
func Render(ctx context.Context, song *midifile.Song, cfg Config, sink Sink, progress Progress) (Stats, error) {
	if err := cfg.Validate(); err != nil {
		return Stats{}, err
	}
	s, err := NewSynth(cfg)
	if err != nil {
		return Stats{}, err
	}
	r := newRenderer(s, song, cfg)
	start := time.Now()
	for !r.done() {
		if err := ctx.Err(); err != nil {
			return r.stats, err
		}
		n := r.step()
		if n == 0 {
			continue
		}
		if err := sink.Write(r.inter[:2*n]); err != nil {
			return r.stats, err
		}
		if progress != nil {
			progress(r.pos, r.songEnd)
		}
	}
	r.stats.Elapsed = time.Since(start)
	return r.stats, nil
}

// renderer is the state of one render: the loop body is step, so that the
// bench tool and tests can measure one block in isolation.
type renderer struct {
	s         *dsp.Synth
	events    []midifile.Event
	next      int
	rate      int
	forced    bool
	block     int
	pos       uint64 // frames written
	songEnd   uint64
	maxEnd    uint64
	quiet     int // consecutive silent frames with no voice sounding
	quietNeed int
	finished  bool
	left      []float32
	right     []float32
	inter     []float32
	stats     Stats
}

func newRenderer(s *dsp.Synth, song *midifile.Song, cfg Config) *renderer {
	r := &renderer{
		s: s, events: song.Events, rate: cfg.Rate, forced: cfg.Patch != "", block: cfg.Block,
		left: make([]float32, cfg.Block), right: make([]float32, cfg.Block), inter: make([]float32, 2*cfg.Block),
	}
	r.songEnd = midifile.Frame(song.Duration, cfg.Rate)
	r.maxEnd = r.songEnd + uint64(math.Round(cfg.Tail.Seconds()*float64(cfg.Rate)))
	r.quietNeed = int(math.Round(QuietTime.Seconds() * float64(cfg.Rate)))
	r.stats.SongFrames = r.songEnd
	return r
}

func (r *renderer) done() bool { return r.finished || r.pos >= r.maxEnd }

// step schedules the events due before the end of the next block, renders it
// into r.inter and returns its length in frames.
//
// The synth's limiter delays its output by lat = Latency() frames, and an
// event sounds exactly on its frame only if it is scheduled lat frames ahead.
// So the whole song is shifted lat frames later on the synth's clock (song
// frame f is synth frame f+lat) and the first lat frames of synth output,
// which precede the song, are thrown away: then even an event at frame 0 is
// on time, and output frame o is synth frame o+lat.
func (r *renderer) step() int {
	lat := uint64(r.s.Latency())
	sp := r.s.Frame()
	priming := sp < lat
	var n uint64
	if priming {
		n = min(uint64(r.block), lat-sp)
	} else {
		n = uint64(r.block)
		if r.pos < r.songEnd {
			// Let the first tail block start exactly at the song's end.
			n = min(n, r.songEnd-r.pos)
		}
		n = min(n, r.maxEnd-r.pos)
	}
	// Rendering synth frames [sp, sp+n) applies events up to synth frame
	// sp+n+lat, which is song frame sp+n.
	for r.next < len(r.events) {
		e := &r.events[r.next]
		frame := midifile.Frame(e.Time, r.rate)
		if frame >= sp+n {
			break
		}
		ev, ok := dsp.MIDIEvent(frame+lat, e.Msg[:e.Len])
		if !ok || r.forced && ev.Kind == dsp.Program && ev.Channel != dsp.DrumChannel {
			r.stats.Ignored++
			r.next++
			continue
		}
		if !r.s.Schedule(ev) {
			// The synth's queue is full: render only up to this event, which
			// lets the synth apply the queued ones, and schedule it on the
			// next step. At least one frame, so the loop always advances.
			n = 1
			if frame > sp {
				n = frame - sp
			}
			break
		}
		if frame < sp {
			r.stats.Late++ // its frame has passed: the synth applies it at once
		}
		r.stats.Events++
		r.next++
	}
	l, rr := r.left[:n], r.right[:n]
	r.s.Render(l, rr)
	if priming {
		return 0
	}
	out := int(n)
	if r.pos >= r.songEnd && r.next == len(r.events) {
		out = r.checkQuiet(l, rr)
	}
	for i := 0; i < out; i++ {
		r.inter[2*i] = l[i]
		r.inter[2*i+1] = rr[i]
	}
	r.pos += uint64(out)
	r.stats.Frames = r.pos
	return out
}

// checkQuiet updates the silent-frame count over a tail block and returns how
// many of its frames to keep: all of them, or up to where the tail is over.
func (r *renderer) checkQuiet(l, rr []float32) int {
	if r.s.ActiveVoices() > 0 {
		r.quiet = 0
		return len(l)
	}
	for i := range l {
		if abs32(l[i]) >= QuietLevel || abs32(rr[i]) >= QuietLevel {
			r.quiet = 0
			continue
		}
		r.quiet++
		if r.quiet >= r.quietNeed {
			r.finished = true
			return i + 1
		}
	}
	return len(l)
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }

// Buffer is a Sink that keeps everything in memory.
type Buffer struct {
	Samples []float32 // interleaved stereo
}

// Write appends interleaved to b.Samples.
func (b *Buffer) Write(interleaved []float32) error {
	b.Samples = append(b.Samples, interleaved...)
	return nil
}

// RenderFile renders song into a WAV file at path without ever leaving a partial
// file there: it writes a hidden temporary file in the same directory, flushes
// and fsyncs it, then renames it over path. On any error or cancellation the
// temporary file is removed and path is untouched.
func RenderFile(ctx context.Context, song *midifile.Song, cfg Config, path string, f recorder.Format, progress Progress) (st Stats, err error) {
	if err := cfg.Validate(); err != nil {
		return Stats{}, err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return Stats{}, fmt.Errorf("offline: cannot create the output file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	w, err := recorder.NewWriter(tmp, cfg.Rate, Channels, f)
	if err != nil {
		return Stats{}, err
	}
	st, err = Render(ctx, song, cfg, w, progress)
	if err != nil {
		return st, err
	}
	if err = w.Close(); err != nil {
		return st, err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return st, fmt.Errorf("offline: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return st, fmt.Errorf("offline: cannot flush the output file: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return st, fmt.Errorf("offline: cannot close the output file: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return st, fmt.Errorf("offline: cannot move the output into place: %w", err)
	}
	// Make the rename itself durable; failure here loses nothing already written.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return st, nil
}

// RenderTo renders song to memory and then writes the whole WAV file to w, so
// that nothing reaches w when the render fails.
func RenderTo(ctx context.Context, song *midifile.Song, cfg Config, w io.Writer, f recorder.Format, progress Progress) (Stats, error) {
	// Room for the song plus one second of tail, so appends rarely reallocate.
	frames := midifile.Frame(song.Duration, cfg.Rate) + uint64(cfg.Rate)
	buf := Buffer{Samples: make([]float32, 0, Channels*frames)}
	st, err := Render(ctx, song, cfg, &buf, progress)
	if err != nil {
		return st, err
	}
	if err := recorder.WriteWAV(w, cfg.Rate, Channels, f, buf.Samples); err != nil {
		return st, err
	}
	return st, nil
}
