package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/rs/zerolog"

	"github.com/chronus-audio/chronus/engine"
	"github.com/chronus-audio/chronus/recorder"
)

// tapSource adapts the engine's output tap to recorder.Source. A gap (frames
// the tap dropped because the writer fell behind) is reported once the ring
// is drained, which places it within one poll of where it happened.
type tapSource struct {
	tap     *engine.Tap
	dropped uint64
}

func (s *tapSource) Read(dst []float32) (int, uint64) {
	n := s.tap.Read(dst)
	if n < len(dst)/2 {
		if d := s.tap.Dropped(); d > s.dropped {
			gap := d - s.dropped
			s.dropped = d
			return n, gap
		}
	}
	return n, 0
}

// recordings starts and stops takes: WAV from the output tap plus the take's
// MIDI events as a .mid beside it. Any goroutine may call its methods.
type recordings struct {
	eng    *engine.Engine
	dir    string
	format recorder.Format
	log    zerolog.Logger

	mu       sync.Mutex
	rec      *recorder.Recording
	take     *recorder.MIDITake
	startAt  uint64 // engine frame at the start of the take
	lastPath string
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
	tap := r.eng.Tap()
	tap.Enable(true)
	r.startAt, _ = r.eng.PlayPosition()
	rec, err := recorder.Start(&tapSource{tap: tap, dropped: tap.Dropped()}, recorder.Options{
		Path: path, Rate: int(r.eng.SampleRate()), Format: r.format,
		OnEvent: r.onEvent,
	})
	if err != nil {
		tap.Enable(false)
		return err
	}
	take, err := recorder.NewMIDITake(midPath, int(r.eng.SampleRate()))
	if err != nil {
		rec.Stop()
		tap.Enable(false)
		return err
	}
	r.rec, r.take, r.lastPath = rec, take, path
	r.log.Info().Str("path", path).Str("format", r.format.String()).Msg("Recording started.")
	go r.watch(rec)
	return nil
}

// watch syncs the MIDI take every second and notices a recording that
// stopped on its own (disk full).
func (r *recordings) watch(rec *recorder.Recording) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
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
			if r.rec == rec && r.take != nil {
				if err := r.take.Sync(); err != nil {
					r.log.Error().Err(err).Msg("The MIDI part of the recording could not be written; the audio keeps recording.")
					r.take = nil
				}
			}
			r.mu.Unlock()
		}
	}
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
	if r.take != nil {
		if err := r.take.Close(); err != nil {
			r.log.Error().Err(err).Msg("The MIDI part of the recording could not be written.")
		}
	}
	r.rec, r.take = nil, nil
	if st.Err == nil {
		r.log.Info().Str("path", st.Path).Float64("seconds", float64(st.Frames)/r.eng.SampleRate()).
			Uint64("dropped_frames", st.Dropped).Msg("Recording stopped.")
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

// midi adds a controller's raw MIDI message to the take, on its timeline.
func (r *recordings) midi(msg []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.take == nil {
		return
	}
	now, _ := r.eng.PlayPosition()
	r.take.Add(int64(now)-int64(r.startAt), msg)
}
