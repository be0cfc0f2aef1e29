package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/rs/zerolog"

	"github.com/chronus-audio/chronus/engine"
	"github.com/chronus-audio/chronus/engine/proto"
	"github.com/chronus-audio/chronus/recorder"
)

// tapSource adapts the engine's output tap to recorder.Source. The tap
// says where each gap (frames dropped because the writer fell behind)
// begins, so the recorder's silence fills it at its exact frame.
type tapSource struct {
	tap *engine.Tap
}

func (s *tapSource) Read(dst []float32) (int, uint64) {
	n, gap, _ := s.tap.ReadGap(dst)
	return n, gap
}

// takeLead is how far ahead of the frame playing now a take starts (in
// seconds): more than a device buffer, so the WAV's first frame is the
// frame asked for, and the MIDI take's timeline is known exactly.
const takeLead = 0.1

// recordings starts and stops takes: WAV from the output tap plus, as a
// .mid beside it, every command the synth workers received during the
// take (from the engine's command tap), at its exact frame. Any goroutine
// may call its methods.
type recordings struct {
	eng    *engine.Engine
	dir    string
	format recorder.Format
	log    zerolog.Logger

	mu       sync.Mutex
	rec      *recorder.Recording
	take     *recorder.MIDITake
	startAt  uint64 // engine frame of the WAV's first frame, once known
	based    bool   // startAt is confirmed by the tap
	lastPath string
	cmds     []proto.Command
	midi     takeCounts
}

// takeCounts says what the MIDI take made of the commands it got.
type takeCounts struct {
	events  int    // written as MIDI channel messages
	texts   int    // no MIDI equivalent: written as text events
	dropped uint64 // the command tap was full: lost (the recorder fell behind)
	tapBase uint64 // the command tap's Dropped() at the take's start
}

// errNameRefused is the class of bad recording names from the network.
var errNameRefused = errors.New("recording name refused")

// networkPath turns a name received over the network into a path confined
// to dir: no separators, no "..", no control characters, at most 100 bytes;
// ".wav" is added when missing. "" gives chronus_YYYYMMDD_HHMMSS.wav.
func networkPath(dir, name string, now time.Time) (string, error) {
	if name == "" {
		name = now.Format("chronus_20060102_150405")
	}
	switch {
	case len(name) > 100:
		return "", fmt.Errorf("%w: longer than 100 bytes", errNameRefused)
	case strings.ContainsAny(name, `/\`) || filepath.IsAbs(name):
		return "", fmt.Errorf("%w: %q contains a path separator; names stay inside the recordings directory", errNameRefused, name)
	case name == "." || name == ".." || strings.HasPrefix(name, "."):
		return "", fmt.Errorf("%w: %q starts with a dot", errNameRefused, name)
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return "", fmt.Errorf("%w: %q contains a control character", errNameRefused, name)
		}
	}
	if !strings.HasSuffix(strings.ToLower(name), ".wav") {
		name += ".wav"
	}
	p := filepath.Join(dir, name)
	if filepath.Dir(p) != filepath.Clean(dir) {
		return "", fmt.Errorf("%w: %q leaves the recordings directory", errNameRefused, name)
	}
	return p, nil
}

// start begins a take at path (the caller confined it, or the user chose
// it on the command line).
func (r *recordings) start(path string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rec != nil {
		return fmt.Errorf("already recording to %s", r.rec.Status().Path)
	}
	midPath := strings.TrimSuffix(path, filepath.Ext(path)) + ".mid"
	if _, err := os.Stat(midPath); err == nil {
		return fmt.Errorf("%w: %s", recorder.ErrExists, midPath)
	}
	rate := r.eng.SampleRate()
	take, err := recorder.NewMIDITake(midPath, int(rate))
	if err != nil {
		return err
	}
	tap, ctap := r.eng.Tap(), r.eng.CmdTap()
	now, _ := r.eng.PlayPosition()
	r.startAt, r.based = now+uint64(takeLead*rate), false
	// Commands first: one stamped before the audio starts is still in the
	// future, and belongs at the take's start.
	ctap.Enable(true)
	tap.EnableFrom(r.startAt)
	rec, err := recorder.Start(&tapSource{tap: tap}, recorder.Options{
		Path: path, Rate: int(rate), Format: r.format,
		OnEvent: r.onEvent,
	})
	if err != nil {
		tap.Enable(false)
		ctap.Enable(false)
		return err
	}
	if r.cmds == nil {
		r.cmds = make([]proto.Command, 256)
	}
	r.rec, r.take, r.lastPath = rec, take, path
	r.midi = takeCounts{tapBase: ctap.Dropped()}
	r.log.Info().Str("path", path).Str("format", r.format.String()).Msg("Recording started.")
	go r.watch(rec)
	return nil
}

// watch moves the take's commands into the MIDI take every 50 ms (the
// command tap holds 4096), syncs the MIDI file every second, and notices a
// recording that stopped on its own (disk full). The OSC clients hear the
// status once a second from the feedback (feedback.go).
func (r *recordings) watch(rec *recorder.Recording) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	lastSync := time.Now()
	for {
		select {
		case <-rec.Done():
			r.mu.Lock()
			if r.rec == rec { // failed on its own
				r.finishLocked()
			}
			r.mu.Unlock()
			return
		case <-t.C:
			r.mu.Lock()
			if r.rec != rec {
				r.mu.Unlock()
				return
			}
			r.drainLocked(false)
			if time.Since(lastSync) >= time.Second {
				lastSync = time.Now()
				if r.take != nil {
					if err := r.take.Sync(); err != nil {
						r.log.Error().Err(err).Msg("The MIDI part of the recording could not be written; the audio keeps recording.")
						r.take = nil
					}
				}
			}
			r.mu.Unlock()
		}
	}
}

// drainLocked moves the commands the workers received into the MIDI take,
// on the WAV's timeline: a command's frame minus the WAV's first frame.
// Commands wait in the command tap until the output tap has confirmed that
// first frame (or, final, the take ends before any audio). r.mu held.
func (r *recordings) drainLocked(final bool) {
	ctap := r.eng.CmdTap()
	if !r.based {
		f, ok := r.eng.Tap().Start()
		if !ok && !final {
			return
		}
		if ok {
			r.startAt = f
		}
		r.based = true
	}
	for {
		n := ctap.Read(r.cmds)
		if n == 0 {
			break
		}
		if r.take == nil {
			continue
		}
		for i := range r.cmds[:n] {
			r.addCommand(&r.cmds[i])
		}
	}
	if d := ctap.Dropped() - r.midi.tapBase; d > r.midi.dropped {
		r.log.Warn().Uint64("commands", d-r.midi.dropped).
			Msg("The MIDI part of the recording fell behind and lost commands; the audio is not affected.")
		r.midi.dropped = d
	}
}

// addCommand writes one stamped worker command into the take. A command
// stamped for a frame before the take's first frame (sent just before it
// began) is placed at its start. r.mu held.
func (r *recordings) addCommand(c *proto.Command) {
	frame := int64(c.Frame) - int64(r.startAt)
	msg, n, text := takeMessage(c)
	switch {
	case n > 0:
		r.take.Add(frame, msg[:n])
		r.midi.events++
	case text != "":
		r.take.AddText(frame, text)
		r.midi.texts++
	}
}

// takeMessage turns a worker command into the MIDI channel message that
// makes the synth do the same (what `chronus render` reads back, see
// dsp.MIDIEvent), or, when MIDI has no such message, a text for a text
// meta event: synth parameters (set), per-note pitch bend and the whole
// synth's reset. Values are quantised to MIDI's 7 bits (velocity,
// controllers, pressure) and 14 bits (pitch bend), so a value that came
// from MIDI round-trips exactly and one from OSC to the nearest step.
func takeMessage(c *proto.Command) (msg [3]byte, n int, text string) {
	ch := c.Channel & 0x0f
	seven := func(v float64) byte { return byte(min(max(math.Round(v*127), 0), 127)) }
	switch c.Op {
	case proto.OpNoteOn:
		// Velocity 0 would read back as a note-off.
		return [3]byte{0x90 | ch, c.Key, max(seven(c.Value), 1)}, 3, ""
	case proto.OpNoteOff:
		return [3]byte{0x80 | ch, c.Key, seven(c.Value)}, 3, ""
	case proto.OpControl:
		return [3]byte{0xB0 | ch, c.Key, seven(c.Value)}, 3, ""
	case proto.OpPitchBend:
		if c.Flags&proto.FlagPerNote != 0 {
			return msg, 0, fmt.Sprintf("pitch-bend key=%d value=%g channel=%d", c.Key, c.Value, ch+1)
		}
		// The inverse of dsp.MIDIEvent: 8191 steps up, 8192 down.
		v := 8192 + math.Round(c.Value*8192)
		if c.Value > 0 {
			v = 8192 + math.Round(c.Value*8191)
		}
		b := int(min(max(v, 0), 16383))
		return [3]byte{0xE0 | ch, byte(b & 0x7f), byte(b >> 7)}, 3, ""
	case proto.OpPressure:
		if c.Flags&proto.FlagPerNote != 0 {
			return [3]byte{0xA0 | ch, c.Key, seven(c.Value)}, 3, ""
		}
		return [3]byte{0xD0 | ch, seven(c.Value)}, 2, ""
	case proto.OpProgram:
		return [3]byte{0xC0 | ch, c.Key}, 2, ""
	case proto.OpAllNotesOff:
		return [3]byte{0xB0 | ch, 123, 0}, 3, ""
	case proto.OpAllSoundOff:
		return [3]byte{0xB0 | ch, 120, 0}, 3, ""
	case proto.OpResetControllers:
		return [3]byte{0xB0 | ch, 121, 0}, 3, ""
	case proto.OpSet:
		return msg, 0, fmt.Sprintf("set %s/%s=%g channel=%d", c.Module.String(), c.Param.String(), c.Value, ch+1)
	case proto.OpReset:
		return msg, 0, "reset"
	}
	return msg, 0, ""
}

func (r *recordings) onEvent(e recorder.Event) {
	sec := float64(e.Frame) / r.eng.SampleRate()
	switch e.Kind {
	case recorder.EventGap:
		r.log.Warn().Str("path", e.Path).Float64("at_s", sec).Uint64("frames", e.Gap).
			Msg("The disk was too slow: audio was dropped from the recording and replaced by silence to keep it in time.")
	case recorder.EventSplit:
		r.log.Info().Str("path", e.Path).Float64("at_s", sec).Msg("The recording continues in a new file before the WAV size limit.")
	case recorder.EventError:
		r.log.Error().Err(e.Err).Str("path", e.Path).Float64("valid_s", sec).
			Msg("Recording stopped because writing failed; the file is valid up to the last good block and playing goes on.")
	}
}

// stop ends the take; false if none was running.
func (r *recordings) stop() (recorder.Status, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rec == nil {
		return recorder.Status{}, false
	}
	return r.finishLocked(), true
}

func (r *recordings) finishLocked() recorder.Status {
	st := r.rec.Stop()
	r.eng.Tap().Enable(false)
	// Commands stamped up to now are all in the tap: the last ones may be
	// after the WAV's end (a note-off), which a re-render needs.
	r.drainLocked(true)
	r.eng.CmdTap().Enable(false)
	if r.take != nil {
		if err := r.take.Close(); err != nil {
			r.log.Error().Err(err).Msg("The MIDI part of the recording could not be written.")
		}
	}
	r.rec, r.take = nil, nil
	if st.Err == nil {
		r.log.Info().Str("path", st.Path).Float64("seconds", float64(st.Frames)/r.eng.SampleRate()).
			Uint64("dropped_frames", st.Dropped).Int("midi_events", r.midi.events).
			Int("midi_text_events", r.midi.texts).Uint64("midi_dropped", r.midi.dropped).
			Msg("Recording stopped.")
	}
	return st
}

// status reports the current take (or the last one).
func (r *recordings) status() (recorder.Status, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rec == nil {
		return recorder.Status{Path: r.lastPath}, false
	}
	return r.rec.Status(), true
}
