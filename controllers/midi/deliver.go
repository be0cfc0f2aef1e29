package midi

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chronus-audio/chronus/controllers"
)

// Queue record operations.
const (
	opEvent   uint8 = iota // ev came from listener l
	opRelease              // input src, opened as gen, is gone: release its notes
	opSync                 // close ack once everything before has been handled
	opStop                 // the delivery goroutine ends
)

// record is one entry of the delivery queue. It is passed by value so the
// callback allocates nothing.
type record struct {
	ev  controllers.Event
	l   *listener
	op  uint8
	src uint16
	gen uint32
	ack chan struct{}
}

// listener is one opening of one input port. A port that comes back gets a new
// listener with the next generation, so stragglers of the old one can be told
// apart.
type listener struct {
	c    *Controller
	src  uint16
	gen  uint32
	key  string // device key, for loop suppression
	dead atomic.Bool
}

// onMsg is the driver callback: it runs on the driver's thread. It decodes,
// stamps and queues; it allocates nothing.
func (l *listener) onMsg(msg []byte, _ int32) {
	now := time.Now()
	c := l.c
	if l.dead.Load() {
		c.stats.dropped.Add(1)
		return
	}
	if len(msg) > c.cfg.SysExMax && msg[0] == 0xF0 {
		// Only a driver that hands over whole messages (RtMidi read
		// without gomidi's reader) gets here; gomidi's reader panics first.
		c.stats.oversized.Add(1)
		return
	}
	var r record
	if !decode(msg, &r.ev) {
		c.stats.ignored.Add(1)
		return
	}
	r.ev.Source = l.src
	r.ev.Arrived = now
	r.l = l
	select {
	case c.queue <- r:
	case <-c.done:
	}
}

// srcState is what the delivery goroutine remembers per input.
type srcState struct {
	closedGen uint32        // events of this generation or older are stragglers
	held      [16][2]uint64 // held notes, one bit per key, per channel
	pedal     uint16        // channels whose sustain pedal (CC 64) is down
}

func (s *srcState) track(ev *controllers.Event) {
	ch, k := ev.Channel&15, ev.Number&127
	switch ev.Kind {
	case controllers.NoteOn:
		s.held[ch][k>>6] |= 1 << (k & 63)
	case controllers.NoteOff:
		s.held[ch][k>>6] &^= 1 << (k & 63)
	case controllers.Control:
		if k == 64 {
			if ev.Raw >= 64 {
				s.pedal |= 1 << ch
			} else {
				s.pedal &^= 1 << ch
			}
		}
	}
}

// run is the delivery goroutine: the only caller of the handler.
func (c *Controller) run() {
	defer c.runWG.Done()
	for {
		c.cur = <-c.queue
		switch c.cur.op {
		case opEvent:
			c.deliver()
		case opRelease:
			c.release(c.cur.src, c.cur.gen)
		case opSync:
			close(c.cur.ack)
		case opStop:
			return
		}
	}
}

func (c *Controller) deliver() {
	r := &c.cur
	s := &c.state[r.l.src]
	if r.l.gen <= s.closedGen {
		c.stats.dropped.Add(1)
		return
	}
	if c.echo.suppress(r.l.key, &r.ev, r.ev.Arrived.Sub(c.epoch)) {
		c.stats.echoes.Add(1)
		c.stats.dropped.Add(1)
		return
	}
	s.track(&r.ev)
	c.stats.messages.Add(1)
	c.h.HandleEvent(&r.ev)
}

// release sends a NoteOff for every note input src still holds, then lifts its
// sustain pedals, and marks generation gen as gone.
func (c *Controller) release(src uint16, gen uint32) {
	s := &c.state[src]
	if gen > s.closedGen {
		s.closedGen = gen
	}
	now := time.Now()
	ev := &c.cur.ev
	for ch := 0; ch < 16; ch++ {
		for w := 0; w < 2; w++ {
			for b := s.held[ch][w]; b != 0; b &= b - 1 {
				k := uint8(w*64 + bits.TrailingZeros64(b))
				*ev = controllers.Event{Kind: controllers.NoteOff, Source: src, Channel: uint8(ch), Number: k,
					RawMsg: [controllers.MaxRaw]byte{0x80 | byte(ch), k, 0}, RawLen: 3, Arrived: now}
				c.stats.released.Add(1)
				c.h.HandleEvent(ev)
			}
			s.held[ch][w] = 0
		}
	}
	for ch := 0; ch < 16; ch++ {
		if s.pedal&(1<<ch) == 0 {
			continue
		}
		*ev = controllers.Event{Kind: controllers.Control, Source: src, Channel: uint8(ch), Number: 64,
			RawMsg: [controllers.MaxRaw]byte{0xB0 | byte(ch), 64, 0}, RawLen: 3, Arrived: now}
		c.stats.released.Add(1)
		c.h.HandleEvent(ev)
	}
	s.pedal = 0
}

// sync waits until everything queued before the call has been handled.
func (c *Controller) sync() {
	ack := make(chan struct{})
	select {
	case c.queue <- record{op: opSync, ack: ack}:
		<-ack
	case <-c.done:
	}
}

// decode fills ev from one complete MIDI message as gomidi's reader delivers
// it (running status already expanded). It reports false for messages that
// have no Event kind.
func decode(m []byte, ev *controllers.Event) bool {
	n := len(m)
	if n == 0 {
		return false
	}
	st := m[0]
	switch {
	case st < 0x80:
		return false
	case st < 0xF0:
		typ := st & 0xF0
		if n < 2 || (n < 3 && typ != 0xC0 && typ != 0xD0) {
			return false
		}
		ev.Channel = st & 0x0F
		d1 := m[1] & 0x7F
		var d2 uint8
		if n > 2 {
			d2 = m[2] & 0x7F
		}
		switch typ {
		case 0x80:
			ev.Kind, ev.Number, ev.Raw = controllers.NoteOff, d1, int32(d2)
		case 0x90:
			// Velocity 0 ends the note (gomidi's GetNoteEnd).
			if d2 == 0 {
				ev.Kind = controllers.NoteOff
			} else {
				ev.Kind = controllers.NoteOn
			}
			ev.Number, ev.Raw = d1, int32(d2)
		case 0xA0:
			ev.Kind, ev.Number, ev.Raw = controllers.PolyPressure, d1, int32(d2)
		case 0xB0:
			ev.Kind, ev.Number, ev.Raw = controllers.Control, d1, int32(d2)
		case 0xC0:
			ev.Kind, ev.Number, ev.Raw = controllers.Program, d1, int32(d1)
		case 0xD0:
			ev.Kind, ev.Raw = controllers.Pressure, int32(d1)
		case 0xE0:
			// 14 bits, LSB first. Centre 8192 maps to exactly 0; the scale is
			// 1/8192 on both sides, so the top is 8191/8192, not 1.
			ev.Kind, ev.Raw = controllers.PitchBend, int32(d1)|int32(d2)<<7
			ev.Norm = float64(ev.Raw-8192) / 8192
		}
		if typ != 0xE0 {
			ev.Norm = float64(ev.Raw) / 127
		}
	case st == 0xF0:
		ev.Kind = controllers.SysEx
	case st == 0xF8:
		ev.Kind = controllers.Clock
	case st == 0xFA:
		ev.Kind = controllers.Start
	case st == 0xFB:
		ev.Kind = controllers.Continue
	case st == 0xFC:
		ev.Kind = controllers.Stop
	default:
		return false
	}
	copy(ev.RawMsg[:], m)
	if n > MaxSysEx {
		n = MaxSysEx
	}
	ev.RawLen = uint16(n)
	return true
}

// echoSlots is how many recent sends are remembered for loop suppression.
const echoSlots = 64

type echoEntry struct {
	key  string
	at   int64 // ns since Controller.epoch
	live bool
	n    uint16
	b    [controllers.MaxRaw]byte
}

// echoRing remembers recent sends. Send writes it, the delivery goroutine
// reads it.
type echoRing struct {
	window int64        // ns; <= 0 means off
	last   atomic.Int64 // time of the newest send, for a lock-free fast path
	mu     sync.Mutex
	ents   [echoSlots]echoEntry
	next   int
}

func (e *echoRing) record(key string, msg []byte, at time.Duration) {
	if e.window <= 0 || key == "" {
		return
	}
	n := len(msg)
	if n > MaxSysEx {
		n = MaxSysEx
	}
	e.mu.Lock()
	x := &e.ents[e.next]
	e.next = (e.next + 1) % echoSlots
	x.key, x.at, x.live, x.n = key, int64(at), true, uint16(n)
	x.b = [controllers.MaxRaw]byte{}
	copy(x.b[:], msg)
	e.mu.Unlock()
	e.last.Store(int64(at))
}

// suppress reports whether ev, which arrived at time at from device key, is
// the echo of a recent send, and if so uses that send up.
func (e *echoRing) suppress(key string, ev *controllers.Event, at time.Duration) bool {
	if e.window <= 0 || key == "" {
		return false
	}
	t := int64(at)
	if t-e.last.Load() > e.window {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range e.ents {
		x := &e.ents[i]
		if !x.live || x.n != ev.RawLen || x.b != ev.RawMsg || x.key != key {
			continue
		}
		if d := t - x.at; d >= 0 && d <= e.window {
			x.live = false
			return true
		}
	}
	return false
}
