package recorder

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// MIDI capture: the controller events of a take, written as a Standard MIDI
// File beside the WAV, on the same timeline, so a take can be rendered
// again with another patch.
//
// The file is format 0, 960 ticks per quarter note at 120 BPM (one tick =
// 1/1920 s, finer than a millisecond), so a frame position converts to
// ticks with one rounding. It is rewritten whole (to a temporary file, then
// renamed over the old one) at every Sync, so a crash leaves the last
// synced version intact.

const (
	smfPPQ   = 960
	smfTempo = 500000 // µs per quarter note: 120 BPM
	// ticks per second = smfPPQ * 1e6 / smfTempo = 1920
	smfTicksPerSecond = smfPPQ * 1000000 / smfTempo
)

// MIDITake collects channel messages with their frame in the take. Add may
// be called from any goroutine; Sync and Close from one.
type MIDITake struct {
	path string
	rate int
	mu   sync.Mutex
	ev   []takeEvent
}

type takeEvent struct {
	frame int64
	msg   [3]byte
	n     uint8
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
	return &MIDITake{path: path, rate: rate}, nil
}

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
	sortStable(ev)
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
	return (frame*smfTicksPerSecond + int64(t.rate)/2) / int64(t.rate)
}

func (t *MIDITake) encode(ev []takeEvent) []byte {
	var trk []byte
	// Tempo meta event first, so readers agree on 120 BPM.
	trk = append(trk, 0x00, 0xFF, 0x51, 0x03, byte(smfTempo>>16&0xff), byte(smfTempo>>8&0xff), byte(smfTempo&0xff))
	var last int64
	for _, e := range ev {
		tk := t.tick(e.frame)
		trk = appendVLQ(trk, uint32(tk-last))
		last = tk
		trk = append(trk, e.msg[:e.n]...)
	}
	trk = append(trk, 0x00, 0xFF, 0x2F, 0x00) // end of track
	out := make([]byte, 0, 22+len(trk))
	out = append(out, "MThd"...)
	out = binary.BigEndian.AppendUint32(out, 6)
	out = binary.BigEndian.AppendUint16(out, 0) // format 0
	out = binary.BigEndian.AppendUint16(out, 1) // one track
	out = binary.BigEndian.AppendUint16(out, smfPPQ)
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

// sortStable orders events by frame, keeping arrival order for ties.
func sortStable(ev []takeEvent) {
	for i := 1; i < len(ev); i++ {
		for j := i; j > 0 && ev[j].frame < ev[j-1].frame; j-- {
			ev[j], ev[j-1] = ev[j-1], ev[j]
		}
	}
}
