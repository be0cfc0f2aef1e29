package mapping

import (
	"math/bits"
	"sync/atomic"

	"github.com/chronus-audio/chronus/controllers"
	"github.com/chronus-audio/chronus/engine/proto"
)

// Live holds the Set in effect. The loader (Watch's onChange) stores a new
// Set; Sessions pick it up between two events. Any goroutine may call its
// methods.
type Live struct{ p atomic.Pointer[Set] }

// NewLive returns a Live holding s (nil means an empty Set).
func NewLive(s *Set) *Live {
	l := &Live{}
	l.Store(s)
	return l
}

// Store makes s the Set in effect (nil means an empty Set).
func (l *Live) Store(s *Set) {
	if s == nil {
		s = emptySet
	}
	l.p.Store(s)
}

// Load returns the Set in effect (never nil).
func (l *Live) Load() *Set {
	if s := l.p.Load(); s != nil {
		return s
	}
	return emptySet
}

// emptySet stands in for "no maps", so a zero Live works.
var emptySet = &Set{}

// heldNotes has one bit per channel and key, and one per channel whose
// sustain pedal (controller 64) a map holds down.
type heldNotes struct {
	keys  [16][2]uint64
	pedal uint16
}

// outNotes is what one map holds on the MIDI outputs that one port filter
// (a midi-out target's port) reaches: notes and sustain pedals.
type outNotes struct {
	port string
	heldNotes
}

// Session applies the Live Set to a stream of events and keeps what the
// pure maps cannot: which notes each map started (and on which channels
// it holds the sustain pedal down), on the synth and, through ApplyOut, on
// MIDI outputs, and the positions of latching toggles. When the Live Set
// changes, the Session swaps to it between two events and sends note-offs
// for every note still held by a map that was removed or changed, and a
// pedal-up where such a map left the pedal down, so a reload never leaves a
// note stuck even when the new map no longer maps the key or the pedal;
// notes held by maps that did not change keep sounding. Latches of changed
// maps start again from off.
//
// A Session belongs to one goroutine (for example one per controller's
// delivery goroutine); its methods must not be called concurrently.
type Session struct {
	live    *Live
	names   func(ev *controllers.Event) string
	set     *Set
	held    []heldNotes  // per map of set
	latches [][]uint64   // per map of set
	outHeld [][]outNotes // per map of set: one per port its midi-out targets name
	// pending holds output notes that a swap by Sync or Apply released but
	// had no Output slice for; the next ApplyOut or SyncOut sends them.
	pending []outNotes
}

// NewSession returns a Session reading live. names resolves an event's
// device name for rules with a device filter (for example the MIDI port
// name of ev.Source); it is only called when some rule needs it and may be
// nil, in which case such rules never match.
func NewSession(live *Live, names func(ev *controllers.Event) string) *Session {
	return &Session{live: live, names: names}
}

// Set returns the Set the Session currently applies.
func (s *Session) Set() *Set { return s.set }

// Apply adopts a newer Live Set if there is one (appending its note-offs),
// then appends the commands for ev. It allocates nothing when the Set is
// unchanged and dst has room; adopting a new Set allocates the Session's
// bookkeeping for it once.
func (s *Session) Apply(ev *controllers.Event, dst []proto.Command) []proto.Command {
	return s.apply(ev, dst, nil)
}

// ApplyOut is Apply that also appends the output actions of the midi-out
// and osc-out targets to out, for the caller to send (see Output). It keeps
// track of the notes and sustain pedals each map's midi-out targets turn on,
// per port, and when it adopts a newer Set it first appends the note-offs
// and pedal-ups of the maps that were removed or changed to out. It
// allocates nothing when the Set is unchanged and dst and out have room.
func (s *Session) ApplyOut(ev *controllers.Event, dst []proto.Command, out []Output) ([]proto.Command, []Output) {
	dst = s.apply(ev, dst, &out)
	return dst, out
}

func (s *Session) apply(ev *controllers.Event, dst []proto.Command, outs *[]Output) []proto.Command {
	dst = s.sync(dst, outs)
	device := ""
	if s.set.device && s.names != nil {
		device = s.names(ev)
	}
	for i, m := range s.set.maps {
		start, outStart := len(dst), 0
		if outs != nil {
			outStart = len(*outs)
		}
		var final bool
		dst, final = m.apply(ev, device, s.latches[i], dst, outs)
		s.track(i, dst[start:])
		if outs != nil && len(s.outHeld[i]) > 0 {
			trackOut(s.outHeld[i], (*outs)[outStart:])
		}
		if final {
			break
		}
	}
	return dst
}

// trackOut records the notes and sustain pedals that a map's MIDI outputs
// turned on and off, per port (ports lists every port the map names).
func trackOut(ports []outNotes, outs []Output) {
	for k := range outs {
		o := &outs[k]
		if o.Kind != OutMIDI || o.Len < 3 {
			continue
		}
		var h *heldNotes
		for j := range ports {
			if ports[j].port == o.Port {
				h = &ports[j].heldNotes
				break
			}
		}
		if h == nil {
			continue
		}
		st, ch, d1, d2 := o.MIDI[0]&0xF0, o.MIDI[0]&15, o.MIDI[1]&127, o.MIDI[2]
		switch {
		case st == 0x90 && d2 > 0:
			h.keys[ch][d1>>6] |= 1 << (d1 & 63)
		case st == 0x80 || st == 0x90: // a note-on at velocity 0 is a note-off
			h.keys[ch][d1>>6] &^= 1 << (d1 & 63)
		case st == 0xB0 && d1 == sustainCC:
			if d2 >= 64 {
				h.pedal |= 1 << ch
			} else {
				h.pedal &^= 1 << ch
			}
		}
	}
}

// track records the notes map i started and released.
func (s *Session) track(i int, cmds []proto.Command) {
	h := &s.held[i]
	for k := range cmds {
		c := &cmds[k]
		ch, key := c.Channel&15, c.Key&127
		switch c.Op {
		case proto.OpNoteOn:
			h.keys[ch][key>>6] |= 1 << (key & 63)
		case proto.OpNoteOff:
			h.keys[ch][key>>6] &^= 1 << (key & 63)
		case proto.OpControl:
			if key == sustainCC {
				if c.Value >= 0.5 {
					h.pedal |= 1 << ch
				} else {
					h.pedal &^= 1 << ch
				}
			}
		case proto.OpResetControllers:
			for j := range s.held {
				s.held[j].pedal &^= 1 << ch // the synth lifts the pedal
			}
		case proto.OpAllNotesOff, proto.OpAllSoundOff:
			// The synth ends every note of the channel, whichever map
			// started it (the pedal stays down).
			for j := range s.held {
				s.held[j].keys[ch] = [2]uint64{}
			}
		case proto.OpReset:
			for j := range s.held {
				s.held[j] = heldNotes{}
			}
		}
	}
}

// Sync adopts the Live Set now if it changed, appending note-offs for the
// notes of maps that were removed or changed. The owning goroutine may call
// it after a reload so that the notes end at once rather than at the next
// event. A caller that uses ApplyOut calls SyncOut instead: the note-offs
// that Sync releases on MIDI outputs wait for the next ApplyOut or SyncOut.
func (s *Session) Sync(dst []proto.Command) []proto.Command {
	return s.sync(dst, nil)
}

// SyncOut is Sync that also appends to out the note-offs and pedal-ups, on
// MIDI outputs, of the maps that were removed or changed (and any that Sync
// or Apply released before). It allocates nothing when the Set is unchanged
// and out has room.
func (s *Session) SyncOut(dst []proto.Command, out []Output) ([]proto.Command, []Output) {
	dst = s.sync(dst, &out)
	return dst, out
}

// sync adopts the Live Set if it changed. Output note-offs go to outs, or
// wait in pending when outs is nil.
func (s *Session) sync(dst []proto.Command, outs *[]Output) []proto.Command {
	if outs != nil && len(s.pending) > 0 {
		for i := range s.pending {
			*outs = releaseOut(&s.pending[i], *outs)
		}
		s.pending = s.pending[:0]
	}
	next := s.live.Load()
	if next == s.set {
		return dst
	}
	held := make([]heldNotes, len(next.maps))
	latches := make([][]uint64, len(next.maps))
	outHeld := make([][]outNotes, len(next.maps))
	found := make([]bool, len(next.maps))
	if s.set != nil {
		kept := make([]bool, len(s.set.maps))
		for j, nm := range next.maps {
			for i, om := range s.set.maps {
				if om == nm {
					held[j], latches[j], outHeld[j] = s.held[i], s.latches[i], s.outHeld[i]
					kept[i], found[j] = true, true
				}
			}
		}
		for i := range s.set.maps {
			if kept[i] {
				continue
			}
			dst = releaseAll(&s.held[i], dst)
			for k := range s.outHeld[i] {
				o := &s.outHeld[i][k]
				switch {
				case o.heldNotes == heldNotes{}:
				case outs != nil:
					*outs = releaseOut(o, *outs)
				default:
					s.pending = append(s.pending, *o)
				}
			}
		}
	}
	for j, m := range next.maps {
		if found[j] {
			continue
		}
		if m.latches > 0 {
			latches[j] = make([]uint64, (m.latches+63)/64)
		}
		outHeld[j] = outPorts(m)
	}
	s.set, s.held, s.latches, s.outHeld = next, held, latches, outHeld
	return dst
}

// outPorts returns one empty outNotes for each port that m's midi-out
// targets name.
func outPorts(m *Map) []outNotes {
	var ports []outNotes
	for ri := range m.rules {
	targets:
		for ti := range m.rules[ri].targets {
			t := &m.rules[ri].targets[ti]
			if t.act != actMIDIOut {
				continue
			}
			for j := range ports {
				if ports[j].port == t.out.port {
					continue targets
				}
			}
			ports = append(ports, outNotes{port: t.out.port})
		}
	}
	return ports
}

// ReleaseAll appends a note-off for every note the Session's maps hold (and
// a pedal-up where they hold the sustain pedal) and forgets them: for
// shutdown, or when the input that played them is gone.
func (s *Session) ReleaseAll(dst []proto.Command) []proto.Command {
	for i := range s.held {
		dst = releaseAll(&s.held[i], dst)
	}
	return dst
}

// Held returns how many notes the Session's maps hold.
func (s *Session) Held() int {
	n := 0
	for i := range s.held {
		for ch := range s.held[i].keys {
			for _, w := range s.held[i].keys[ch] {
				n += bits.OnesCount64(w)
			}
		}
	}
	return n
}

// releaseOut appends, as MIDI Outputs to h's port, a note-off for each note
// in h, then a pedal-up for each channel whose pedal it holds, and clears
// it.
func releaseOut(h *outNotes, outs []Output) []Output {
	for ch := range h.keys {
		for w := range h.keys[ch] {
			for b := h.keys[ch][w]; b != 0; b &= b - 1 {
				key := uint8(w*64 + bits.TrailingZeros64(b))
				outs = append(outs, Output{Kind: OutMIDI, MIDI: [3]byte{0x80 | uint8(ch), key, 0}, Len: 3, Port: h.port})
			}
		}
	}
	for ch := uint8(0); ch < 16; ch++ {
		if h.pedal&(1<<ch) != 0 {
			outs = append(outs, Output{Kind: OutMIDI, MIDI: [3]byte{0xB0 | ch, sustainCC, 0}, Len: 3, Port: h.port})
		}
	}
	h.heldNotes = heldNotes{}
	return outs
}

// sustainCC is the sustain pedal's controller number.
const sustainCC = 64

// releaseAll appends note-offs for the notes in h, then pedal-ups for the
// channels whose pedal it holds, and clears it.
func releaseAll(h *heldNotes, dst []proto.Command) []proto.Command {
	for ch := range h.keys {
		for w := range h.keys[ch] {
			for b := h.keys[ch][w]; b != 0; b &= b - 1 {
				key := uint8(w*64 + bits.TrailingZeros64(b))
				dst = append(dst, proto.Command{Op: proto.OpNoteOff, Channel: uint8(ch), Key: key})
			}
		}
	}
	for ch := uint8(0); ch < 16; ch++ {
		if h.pedal&(1<<ch) != 0 {
			dst = append(dst, proto.Command{Op: proto.OpControl, Channel: ch, Key: sustainCC})
		}
	}
	*h = heldNotes{}
	return dst
}
