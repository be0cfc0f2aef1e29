// Package midifile loads Standard MIDI Files (SMF) into a flat, time-ordered list
// of channel-voice messages stamped with absolute microseconds.
//
// Parsing of the track data is done by gitlab.com/gomidi/midi/v2/smf. Around it,
// this package adds what a renderer needs and gomidi leaves out:
//
//   - a chunk walk before parsing, so that a missing, empty, truncated or non-MIDI
//     file gives one clear error instead of a generic "unexpected EOF";
//   - an exact integer tempo map (gomidi converts tempos to float BPM and truncates
//     each segment to whole microseconds, which drifts over many tempo changes);
//   - SMPTE time division, which gomidi's ReadTracks refuses;
//   - format 2 files play their tracks one after another, as the standard says.
//
// Policy for damaged files (checked against the jazz-soft "midi-edge" corpus):
//
//   - trailing bytes after the last chunk: warning, the file loads;
//   - a chunk that ends past the end of the file, or fewer track chunks than the
//     header declares: error (truncated);
//   - any event gomidi cannot decode (a system-common or real-time status byte
//     inside a track, or running status continued after a meta or sysex event):
//     error (corrupt). gomidi does not resynchronise after such a byte, so the
//     rest of that track would be garbage or silently missing notes;
//   - a format 0 file with more than one track: warning, tracks play together.
//
// Nothing here is used on the audio thread; all functions may be called from any
// goroutine.
package midifile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/bits"
	"os"
	"sort"
	"strings"

	"gitlab.com/gomidi/midi/v2/smf"
)

// MaxFileSize is the largest file Load accepts. Real MIDI files are a few hundred
// kilobytes at most; the cap keeps a wrong path (a disk image, say) from eating memory.
const MaxFileSize = 64 << 20

// Event is one channel-voice message at an absolute time. It holds its bytes by
// value so that a Song is one allocation and a render loop can pass Msg[:Len]
// around without allocating.
type Event struct {
	Time  int64   // microseconds from the start of the song
	Track int     // 0-based index of the track chunk it came from
	Msg   [3]byte // status byte and up to two data bytes
	Len   uint8   // number of valid bytes in Msg (2 or 3)
}

// Bytes returns the raw message. It aliases e, so it stays valid as long as e does.
func (e *Event) Bytes() []byte { return e.Msg[:e.Len] }

// Song is a loaded MIDI file.
type Song struct {
	Format   uint16   // SMF format: 0, 1 or 2
	Tracks   int      // number of track chunks read
	Events   []Event  // channel-voice messages, ordered by Time, then Track, then file position
	Duration int64    // microseconds: the later of the last event and the last end-of-track
	Meta     int      // meta events skipped (tempo events included: they are applied, not kept)
	SysEx    int      // system-exclusive events skipped
	Warnings []string // problems that did not stop loading, as complete sentences
}

// Frame converts microseconds to the nearest sample frame at rate frames per
// second: round(us * rate / 1e6), in exact integer arithmetic. Negative times
// give frame 0.
func Frame(us int64, rate int) uint64 {
	if us <= 0 || rate <= 0 {
		return 0
	}
	return mulDivRound(uint64(us), uint64(rate), 1_000_000)
}

// mulDivRound returns round(a*b/c) with a 128-bit intermediate product. It
// saturates instead of panicking when the quotient does not fit in 64 bits.
func mulDivRound(a, b, c uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	lo, carry := bits.Add64(lo, c/2, 0)
	hi += carry
	if hi >= c {
		return ^uint64(0)
	}
	q, _ := bits.Div64(hi, lo, c)
	return q
}

// LoadFile reads and parses the MIDI file at path. Errors read
// "midifile: <path>: <what is wrong>".
func LoadFile(path string) (*Song, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("midifile: %s: file does not exist", path)
		case errors.As(err, &pe):
			return nil, fmt.Errorf("midifile: %s: %w", path, pe.Err)
		default:
			return nil, fmt.Errorf("midifile: %s: %w", path, err)
		}
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fmt.Errorf("midifile: %s: is a directory, not a MIDI file", path)
	}
	return load(f, path)
}

// Load reads and parses a MIDI file from r. Errors read "midifile: <what is wrong>".
func Load(r io.Reader) (*Song, error) { return load(r, "") }

func load(r io.Reader, name string) (*Song, error) {
	fail := func(format string, args ...any) error {
		msg := fmt.Sprintf(format, args...)
		if name == "" {
			return errors.New("midifile: " + msg)
		}
		return fmt.Errorf("midifile: %s: %s", name, msg)
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fail("read failed: %v", err)
	}
	if len(data) > MaxFileSize {
		return nil, fail("file is larger than %d MiB, too large for a MIDI file", MaxFileSize>>20)
	}
	lay, err := walkChunks(data)
	if err != nil {
		return nil, fail("%v", err)
	}
	sm, err := parse(data[:lay.end], lay)
	if err != nil {
		return nil, fail("%v", err)
	}
	song, err := flatten(sm, lay)
	if err != nil {
		return nil, fail("%v", err)
	}
	return song, nil
}

// parse hands the container to gomidi. Timing is computed here from lay, so
// gomidi only has to split tracks into messages. It panics on SMPTE time
// division (it asserts metric ticks when it builds its own tempo map), so an
// SMPTE header is given to it as 96 ticks per quarter, and any other panic of
// the parser on hostile input becomes an error.
func parse(data []byte, lay layout) (sm *smf.SMF, err error) {
	if lay.division&0x8000 != 0 {
		data = append([]byte(nil), data...)
		data[12], data[13] = 0, 96
	}
	defer func() {
		if r := recover(); r != nil {
			sm, err = nil, fmt.Errorf("corrupt file: the SMF parser failed: %v", r)
		}
	}()
	sm, err = smf.ReadFrom(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("corrupt file: %s", lowerFirst(err.Error()))
	}
	return sm, nil
}

// layout is what the chunk walk learned about the file.
type layout struct {
	format    uint16
	declared  int // track count in the header
	tracks    int // MTrk chunks present
	division  uint16
	end       int // offset just past the last complete chunk
	warnings  []string
	trailing  int
	unknown   int // non-MTrk chunks skipped
	extraTrks int // MTrk chunks beyond the declared count (gomidi ignores them)
}

// walkChunks checks the container structure: header, chunk lengths, track count.
func walkChunks(data []byte) (layout, error) {
	var lay layout
	if len(data) == 0 {
		return lay, errors.New("file is empty")
	}
	if len(data) < 4 || string(data[:4]) != "MThd" {
		if len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "RMID" {
			return lay, errors.New("RIFF MIDI (RMID) files are not supported; extract the SMF data first")
		}
		return lay, errors.New("not a MIDI file (it does not start with an MThd header)")
	}
	if len(data) < 14 {
		return lay, fmt.Errorf("truncated: the file ends inside the MThd header after %d bytes", len(data))
	}
	hlen := int(be32(data[4:]))
	if hlen < 6 {
		return lay, fmt.Errorf("corrupt file: MThd header length is %d, expected 6", hlen)
	}
	lay.format = be16(data[8:])
	lay.declared = int(be16(data[10:]))
	lay.division = be16(data[12:])
	if lay.format > 2 {
		return lay, fmt.Errorf("corrupt file: unknown SMF format %d", lay.format)
	}
	if hlen != 6 {
		// gomidi insists on 6; a longer header is legal SMF but we could not hand it
		// through without rewriting it, and no real file does this.
		return lay, fmt.Errorf("unsupported file: MThd header length is %d, expected 6", hlen)
	}
	if lay.division == 0 {
		return lay, errors.New("corrupt file: time division is 0 ticks per quarter note")
	}
	if lay.division&0x8000 != 0 {
		fps := -int8(lay.division >> 8)
		if fps != 24 && fps != 25 && fps != 29 && fps != 30 || lay.division&0xff == 0 {
			return lay, fmt.Errorf("corrupt file: invalid SMPTE time division 0x%04x", lay.division)
		}
	}
	off := 8 + hlen
	lay.end = off
	for off < len(data) {
		rest := len(data) - off
		if rest < 8 {
			lay.trailing = rest
			break
		}
		typ := data[off : off+4]
		if !isChunkType(typ) {
			lay.trailing = rest
			break
		}
		clen := int64(be32(data[off+4:]))
		if clen > int64(rest-8) {
			return lay, fmt.Errorf("truncated: chunk %q at byte %d declares %d bytes but only %d remain", typ, off, clen, rest-8)
		}
		if string(typ) == "MTrk" {
			lay.tracks++
			if lay.tracks > lay.declared {
				lay.extraTrks++
			}
		} else {
			lay.unknown++
		}
		off += 8 + int(clen)
		lay.end = off
	}
	if lay.tracks < lay.declared {
		return lay, fmt.Errorf("truncated: the header declares %d tracks but the file holds %d", lay.declared, lay.tracks)
	}
	if lay.trailing > 0 {
		lay.warnings = append(lay.warnings, fmt.Sprintf("Ignored %d bytes of trailing data after the last chunk.", lay.trailing))
	}
	if lay.unknown > 0 {
		lay.warnings = append(lay.warnings, fmt.Sprintf("Skipped %d chunks that are not MIDI tracks.", lay.unknown))
	}
	if lay.extraTrks > 0 {
		lay.warnings = append(lay.warnings, fmt.Sprintf("Ignored %d track chunks beyond the %d the header declares.", lay.extraTrks, lay.declared))
	}
	if lay.format == 0 && lay.declared > 1 {
		lay.warnings = append(lay.warnings, fmt.Sprintf("The file is format 0 but has %d tracks; they play together as in format 1.", lay.declared))
	}
	return lay, nil
}

func isChunkType(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }
func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func lowerFirst(s string) string {
	s = strings.TrimRight(s, ".")
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// rawEvent is an event of one track with its absolute tick.
type rawEvent struct {
	tick int64
	msg  smf.Message
}

// tempoChange is a tempo meta event: from tick on, a quarter note lasts uspq µs.
type tempoChange struct {
	tick int64
	uspq int64
}

// clock converts ticks to microseconds exactly. Time is kept as a numerator over
// den so that no rounding happens until the final conversion to µs.
type clock struct {
	den    int64 // ticks per quarter (metric) or the SMPTE tick-rate denominator
	fixed  int64 // SMPTE: µs numerator per tick; 0 for metric time
	tempos []tempoChange
	// acc[i] is the time of tempos[i].tick as a numerator over den.
	acc []int64
}

const defaultUSPQ = 500_000 // 120 BPM, the SMF default before any tempo event

func newClock(division uint16, tempos []tempoChange) (*clock, error) {
	c := &clock{}
	if division&0x8000 != 0 {
		fps := int64(-int8(division >> 8))
		sub := int64(division & 0xff)
		if fps == 29 { // 30 drop-frame runs at 29.97 frames per second
			c.den, c.fixed = 30_000*sub, 1_001_000_000
		} else {
			c.den, c.fixed = fps*sub, 1_000_000
		}
		return c, nil
	}
	c.den = int64(division)
	sort.SliceStable(tempos, func(i, j int) bool { return tempos[i].tick < tempos[j].tick })
	c.tempos = tempos
	c.acc = make([]int64, len(tempos))
	prevTick, prevAcc, prevUSPQ := int64(0), int64(0), int64(defaultUSPQ)
	for i, tc := range tempos {
		d, ok := mulAdd(tc.tick-prevTick, prevUSPQ, prevAcc)
		if !ok {
			return nil, errors.New("the song is too long to time (tick overflow)")
		}
		c.acc[i] = d
		prevTick, prevAcc, prevUSPQ = tc.tick, d, tc.uspq
	}
	return c, nil
}

// mulAdd returns a*b+c when it fits in an int64 (all inputs non-negative).
func mulAdd(a, b, c int64) (int64, bool) {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi != 0 || lo > 1<<62 {
		return 0, false
	}
	s := int64(lo) + c
	return s, s >= 0
}

// micros returns the time of tick in µs, rounded to the nearest microsecond.
func (c *clock) micros(tick int64) (int64, bool) {
	var num int64
	var ok bool
	if c.fixed != 0 {
		num, ok = mulAdd(tick, c.fixed, 0)
	} else {
		// Last tempo change at or before tick; a change at the same tick applies.
		i := sort.Search(len(c.tempos), func(i int) bool { return c.tempos[i].tick > tick }) - 1
		if i < 0 {
			num, ok = mulAdd(tick, defaultUSPQ, 0)
		} else {
			num, ok = mulAdd(tick-c.tempos[i].tick, c.tempos[i].uspq, c.acc[i])
		}
	}
	if !ok {
		return 0, false
	}
	return (num + c.den/2) / c.den, true
}

// flatten turns gomidi's tracks into one time-ordered event list.
func flatten(sm *smf.SMF, lay layout) (*Song, error) {
	song := &Song{Format: lay.format, Tracks: len(sm.Tracks), Warnings: lay.warnings}
	tracks := make([][]rawEvent, len(sm.Tracks))
	ends := make([]int64, len(sm.Tracks)) // end-of-track tick per track
	var tempos [][]tempoChange            // per track
	tempos = make([][]tempoChange, len(sm.Tracks))
	voices := 0
	for ti, tr := range sm.Tracks {
		var tick int64
		bad := 0
		for _, ev := range tr {
			tick += int64(ev.Delta)
			m := ev.Message
			switch {
			case len(m) == 0:
				bad++
			case m.Is(smf.MetaEndOfTrackMsg):
				// gomidi stores the end-of-track with its own delta, already added above.
			case m[0] == 0xFF:
				song.Meta++
				if m[1] == 0x51 {
					if uspq, ok := tempoOf(m); ok {
						tempos[ti] = append(tempos[ti], tempoChange{tick: tick, uspq: uspq})
					} else {
						song.Warnings = append(song.Warnings, fmt.Sprintf("Ignored an invalid tempo event in track %d.", ti+1))
					}
				}
			case m[0] == 0xF0 || m[0] == 0xF7:
				song.SysEx++
			case m[0] >= 0x80 && m[0] < 0xF0 && (len(m) == 2 || len(m) == 3) && dataOK(m[1:]):
				tracks[ti] = append(tracks[ti], rawEvent{tick: tick, msg: m})
				voices++
			default:
				bad++
			}
		}
		if bad > 0 {
			return nil, fmt.Errorf("corrupt file: track %d has %d undecodable events (an illegal system message inside a track, running status after a meta or sysex event, or a status byte where a data byte belongs)", ti+1, bad)
		}
		ends[ti] = tick
	}
	song.Events = make([]Event, 0, voices)

	// Format 2 tracks are independent sequences played one after another, each with
	// its own tempo map. Formats 0 and 1 share one tempo map over all tracks.
	if lay.format == 2 {
		var offset int64
		for ti := range tracks {
			c, err := newClock(lay.division, tempos[ti])
			if err != nil {
				return nil, err
			}
			if err := appendTrack(song, c, ti, tracks[ti], offset); err != nil {
				return nil, err
			}
			end, ok := c.micros(ends[ti])
			if !ok {
				return nil, errors.New("the song is too long to time (tick overflow)")
			}
			offset += end
		}
		song.Duration = offset
	} else {
		var all []tempoChange
		for _, t := range tempos {
			all = append(all, t...)
		}
		c, err := newClock(lay.division, all)
		if err != nil {
			return nil, err
		}
		for ti := range tracks {
			if err := appendTrack(song, c, ti, tracks[ti], 0); err != nil {
				return nil, err
			}
			end, ok := c.micros(ends[ti])
			if !ok {
				return nil, errors.New("the song is too long to time (tick overflow)")
			}
			song.Duration = max(song.Duration, end)
		}
		// Tracks were appended in order, so a stable sort by time keeps
		// "track, then position" for equal times.
		sort.SliceStable(song.Events, func(i, j int) bool {
			a, b := &song.Events[i], &song.Events[j]
			if a.Time != b.Time {
				return a.Time < b.Time
			}
			return a.Track < b.Track
		})
	}
	if n := len(song.Events); n > 0 {
		song.Duration = max(song.Duration, song.Events[n-1].Time)
	}
	return song, nil
}

func appendTrack(song *Song, c *clock, ti int, evs []rawEvent, offset int64) error {
	for _, re := range evs {
		us, ok := c.micros(re.tick)
		if !ok {
			return errors.New("the song is too long to time (tick overflow)")
		}
		e := Event{Time: offset + us, Track: ti, Len: uint8(len(re.msg))}
		copy(e.Msg[:], re.msg)
		song.Events = append(song.Events, e)
	}
	return nil
}

// dataOK reports whether every byte is a MIDI data byte (< 0x80). gomidi reads
// the bytes after a status byte without checking them.
func dataOK(b []byte) bool {
	for _, c := range b {
		if c > 0x7F {
			return false
		}
	}
	return true
}

// tempoOf decodes a set-tempo meta event (FF 51 len tt tt tt) to µs per quarter note.
func tempoOf(m smf.Message) (int64, bool) {
	// gomidi keeps the variable-length length field in the message.
	i, n := 2, 0
	for ; i < len(m) && i < 6; i++ {
		n = n<<7 | int(m[i]&0x7f)
		if m[i]&0x80 == 0 {
			i++
			break
		}
	}
	if n != 3 || len(m) < i+3 {
		return 0, false
	}
	uspq := int64(m[i])<<16 | int64(m[i+1])<<8 | int64(m[i+2])
	return uspq, uspq > 0
}
