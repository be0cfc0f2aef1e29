package recorder

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// MIDI capture: the events of a take, written as a Standard MIDI File
// beside the WAV, on the same timeline, so a take can be rendered again
// with another patch.
//
// The file is format 0 with one tick per sample frame wherever the rate
// allows it (48 kHz: 24000 ticks per quarter note at 120 BPM; 96 kHz:
// 24000 at 240 BPM; 44.1 kHz: 22050 at 120 BPM), so every event keeps its
// exact frame and a reader that converts ticks to time and time to frames
// at the take's rate gets the same frame back. A rate no such division
// fits falls back to 960 ticks per quarter note at 120 BPM (1/1920 s per
// tick). The one tempo event comes first. The file is rewritten whole (to
// a temporary file, then renamed over the old one) at every Sync, so a
// crash leaves the last synced version intact.

// maxDelta is the largest delta time a variable-length quantity holds.
const maxDelta = 0x0fffffff

// Fallback time base, finer than a millisecond.
const (
	smfPPQ   = 960
	smfTempo = 500000 // µs per quarter note: 120 BPM
)

// smfTimebase returns the division (ticks per quarter note) and tempo (µs
// per quarter note) for rate, and whether one tick is exactly one frame.
func smfTimebase(rate int) (ppq, tempo int64, exact bool) {
	r := int64(rate)
	// Round tempos first, so a DAW shows a plain 120 (or 240...) BPM.
	for _, tp := range []int64{500000, 250000, 125000, 1000000, 62500} {
		if r*tp%1000000 == 0 {
			if q := r * tp / 1000000; q >= 1 && q <= 0x7fff {
				return q, tp, true
			}
		}
	}
	for q := int64(0x7fff); q >= 1; q-- {
		if q*1000000%r == 0 {
			if tp := q * 1000000 / r; tp <= 0xffffff {
				return q, tp, true
			}
		}
	}
	return smfPPQ, smfTempo, false
}

// MIDITake collects channel messages and text events with their frame in
// the take. Its methods may be called from any goroutine.
type MIDITake struct {
	path  string
	rate  int
	ppq   int64
	tempo int64
	exact bool
	mu    sync.Mutex
	ev    []takeEvent
}

type takeEvent struct {
	frame int64
	msg   [3]byte
	n     uint8  // message length; 0 for a text event
	text  string // text meta event (FF 01) when n == 0
}

// NewMIDITake prepares path (it must not exist) for a take at rate frames
// per second; the file appears at the first Sync.
func NewMIDITake(path string, rate int) (*MIDITake, error) {
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("%w: %s", ErrExists, path)
	}
	if rate <= 0 {
		return nil, errors.New("recorder: MIDI take needs a positive rate")
	}
	t := &MIDITake{path: path, rate: rate}
	t.ppq, t.tempo, t.exact = smfTimebase(rate)
	return t, nil
}

// Exact reports whether one tick of the file is one frame of the take.
func (t *MIDITake) Exact() bool { return t.exact }

// Add records a channel message (1..3 bytes, status first) at frame. Events
// may arrive out of order; they are sorted (stably) when written.
func (t *MIDITake) Add(frame int64, msg []byte) {
	if len(msg) == 0 || len(msg) > 3 || msg[0] < 0x80 || msg[0] >= 0xF0 {
		return // only channel messages belong in the take
	}
	var e takeEvent
	e.frame, e.n = max(frame, 0), uint8(copy(e.msg[:], msg))
	t.mu.Lock()
	t.ev = append(t.ev, e)
	t.mu.Unlock()
}

// AddText records a text meta event (FF 01) at frame: for what the synth
// received that MIDI cannot say (a synth parameter). Readers and renderers
// skip it; a person reading the file sees it.
func (t *MIDITake) AddText(frame int64, text string) {
	if len(text) > 0xffff {
		text = text[:0xffff]
	}
	t.mu.Lock()
	t.ev = append(t.ev, takeEvent{frame: max(frame, 0), text: text})
	t.mu.Unlock()
}

// Len is the number of events recorded.
func (t *MIDITake) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.ev)
}

// Sync writes the take so far, atomically replacing the previous version.
func (t *MIDITake) Sync() error {
	t.mu.Lock()
	ev := append([]takeEvent(nil), t.ev...)
	t.mu.Unlock()
	sort.SliceStable(ev, func(i, j int) bool { return ev[i].frame < ev[j].frame })
	data := t.encode(ev)
	tmp := filepath.Join(filepath.Dir(t.path), "."+filepath.Base(t.path)+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("recorder: midi take: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("recorder: midi take: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("recorder: midi take: %w", err)
	}
	f.Close()
	if err := os.Rename(tmp, t.path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("recorder: midi take: %w", err)
	}
	return nil
}

// Close writes the final take.
func (t *MIDITake) Close() error { return t.Sync() }

// tick converts a frame to ticks, rounding to the nearest.
func (t *MIDITake) tick(frame int64) int64 {
	if t.exact {
		return frame
	}
	tps := t.ppq * 1000000 // ticks per second, times tempo
	den := int64(t.rate) * t.tempo
	return (frame*tps + den/2) / den
}

func (t *MIDITake) encode(ev []takeEvent) []byte {
	var trk []byte
	// Tempo meta event first, so readers agree on the time base.
	trk = append(trk, 0x00, 0xFF, 0x51, 0x03, byte(t.tempo>>16&0xff), byte(t.tempo>>8&0xff), byte(t.tempo&0xff))
	var last int64
	for _, e := range ev {
		tk := t.tick(e.frame)
		d := tk - last
		for ; d > maxDelta; d -= maxDelta {
			// Over 93 minutes without an event at 48 kHz: an empty text
			// event carries the time a delta cannot.
			trk = appendVLQ(trk, maxDelta)
			trk = append(trk, 0xFF, 0x01, 0x00)
		}
		trk = appendVLQ(trk, uint32(d))
		last = tk
		if e.n == 0 {
			trk = append(trk, 0xFF, 0x01)
			trk = appendVLQ(trk, uint32(len(e.text)))
			trk = append(trk, e.text...)
			continue
		}
		trk = append(trk, e.msg[:e.n]...)
	}
	trk = append(trk, 0x00, 0xFF, 0x2F, 0x00) // end of track
	out := make([]byte, 0, 22+len(trk))
	out = append(out, "MThd"...)
	out = binary.BigEndian.AppendUint32(out, 6)
	out = binary.BigEndian.AppendUint16(out, 0) // format 0
	out = binary.BigEndian.AppendUint16(out, 1) // one track
	out = binary.BigEndian.AppendUint16(out, uint16(t.ppq))
	out = append(out, "MTrk"...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(trk)))
	return append(out, trk...)
}

func appendVLQ(b []byte, v uint32) []byte {
	var tmp [5]byte
	i := len(tmp) - 1
	tmp[i] = byte(v & 0x7f)
	for v >>= 7; v > 0; v >>= 7 {
		i--
		tmp[i] = byte(v&0x7f) | 0x80
	}
	return append(b, tmp[i:]...)
}
