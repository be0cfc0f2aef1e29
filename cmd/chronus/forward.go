package main

import (
	"errors"
	"net/netip"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/chronus-audio/chronus/controllers"
	"github.com/chronus-audio/chronus/controllers/midi"
	"github.com/chronus-audio/chronus/controllers/osc"
	"github.com/chronus-audio/chronus/mapping"
)

// midiOut is what the forwarder needs of the MIDI controller.
type midiOut interface {
	Send(out int, msg []byte) error
	Ports() []midi.PortInfo
}

// oscOut is what the forwarder needs of the OSC sender.
type oscOut interface {
	Send(p osc.Packet) error
	SendExcept(source uint16, p osc.Packet) error
	Reply(source uint16, p osc.Packet) error
	SendTo(dst netip.AddrPort, p osc.Packet) error
}

// forwarder sends the outputs of map rules (midi-out and osc-out targets):
// MIDI to output ports, OSC to clients, so Chronus bridges MIDI to OSC and
// back. Loops are cut in two places: controllers/midi drops a message that a
// device echoes right after we sent it to that device, and an osc-out to
// "all" skips the OSC client the event came from.
//
// It remembers the notes it started on each port and channel, so close can
// end them: an external synth is not left droning when Chronus stops. (When
// a reload removes or changes a map, the mapping.Session sends that map's
// note-offs through here, and track forgets the notes.)
//
// A forwarder belongs to the player's dispatch goroutine. Sending allocates
// (OSC encoding, the port list now and then) and makes system calls; it is
// never on the audio thread.
type forwarder struct {
	midi midiOut // nil: no MIDI
	osc  oscOut  // nil: no OSC
	log  zerolog.Logger

	ports    map[string][]int // port filter → output indices, refreshed each second
	portsAt  time.Time
	missing  map[string]bool // port filters already logged as matching nothing
	held     map[int]*[16][2]uint64
	errAt    time.Time // last send error logged
	errCount int       // send errors since then
}

func newForwarder(m midiOut, o oscOut, log zerolog.Logger) *forwarder {
	return &forwarder{midi: m, osc: o, log: log, ports: map[string][]int{}, missing: map[string]bool{}, held: map[int]*[16][2]uint64{}}
}

// send sends every output in order.
func (f *forwarder) send(outs []mapping.Output) {
	for i := range outs {
		o := &outs[i]
		switch o.Kind {
		case mapping.OutMIDI:
			f.sendMIDI(o)
		case mapping.OutOSC:
			f.sendOSC(o)
		}
	}
}

func (f *forwarder) sendMIDI(o *mapping.Output) {
	if f.midi == nil {
		f.noPort(o.Port)
		return
	}
	idx := f.outputs(o.Port)
	if len(idx) == 0 {
		f.noPort(o.Port)
		return
	}
	msg := o.Message()
	for _, i := range idx {
		if err := f.midi.Send(i, msg); err != nil && !errors.Is(err, midi.ErrNotConnected) {
			f.fail(err)
			continue
		}
		f.track(i, msg)
	}
}

// outputs returns the indices of the output ports whose names contain
// filter ("" = all of them).
func (f *forwarder) outputs(filter string) []int {
	if now := time.Now(); now.Sub(f.portsAt) > time.Second {
		clear(f.ports)
		f.portsAt = now
	}
	if idx, ok := f.ports[filter]; ok {
		return idx
	}
	var idx []int
	for _, p := range f.midi.Ports() {
		if p.Dir == midi.Out && strings.Contains(strings.ToLower(p.Name), filter) {
			idx = append(idx, p.Index)
		}
	}
	f.ports[filter] = idx
	return idx
}

// noPort logs, once per filter, that a map sends to no opened port.
func (f *forwarder) noPort(filter string) {
	if f.missing[filter] {
		return
	}
	f.missing[filter] = true
	f.log.Warn().Str("port", filter).Msg("A map sends MIDI to an output port that is not open; open it with --midi-out NAME.")
}

// fail logs send errors at most once a second, with how many there were.
func (f *forwarder) fail(err error) {
	f.errCount++
	if now := time.Now(); now.Sub(f.errAt) >= time.Second {
		f.log.Warn().Err(err).Int("errors", f.errCount).Msg("A mapped output message could not be sent.")
		f.errAt, f.errCount = now, 0
	}
}

// track remembers note-ons and note-offs sent to output i.
func (f *forwarder) track(i int, msg []byte) {
	if len(msg) < 3 || msg[0]&0xE0 != 0x80 {
		return
	}
	h := f.held[i]
	if h == nil {
		h = new([16][2]uint64)
		f.held[i] = h
	}
	ch, key := msg[0]&15, msg[1]&127
	if msg[0]&0xF0 == 0x90 && msg[2] > 0 {
		h[ch][key>>6] |= 1 << (key & 63)
	} else {
		h[ch][key>>6] &^= 1 << (key & 63)
	}
}

// close sends a note-off for every note the maps started on an output and
// did not end.
func (f *forwarder) close() {
	if f == nil || f.midi == nil {
		return
	}
	for i, h := range f.held {
		for ch := range h {
			for key := 0; key < 128; key++ {
				if h[ch][key>>6]&(1<<(key&63)) != 0 {
					_ = f.midi.Send(i, []byte{0x80 | byte(ch), byte(key), 0})
				}
			}
		}
		*h = [16][2]uint64{}
	}
}

func (f *forwarder) sendOSC(o *mapping.Output) {
	if f.osc == nil {
		return
	}
	m := osc.MessageFromArgs(o.Address(), o.Args[:o.NArgs], o.Str[:])
	var err error
	switch o.Dest {
	case mapping.DestAll:
		if o.FromOSC {
			err = f.osc.SendExcept(o.Source, m)
		} else {
			err = f.osc.Send(m)
		}
	case mapping.DestSender:
		err = f.osc.Reply(o.Source, m)
	case mapping.DestHost:
		err = f.osc.SendTo(o.Host, m)
	}
	if err != nil {
		f.fail(err)
	}
}

// route maps ev and sends what it makes: commands to the engine first (the
// sound is what is late-sensitive), then the map outputs to their ports
// and clients, then the state to the feedback. Dispatch goroutine.
func (p *player) route(ev *controllers.Event) {
	cmds, outs := p.sess.ApplyOut(ev, p.cmds[:0], p.outs[:0])
	p.outs = outs[:0] // keep what it grew to
	p.send(cmds, ev)
	if p.fwd != nil {
		p.fwd.send(outs)
	}
	p.fb.observe(ev, cmds)
}

// syncMaps adopts reloaded maps while no event comes: the note-offs of maps
// that were removed or changed go to the synth and, for notes they started
// on MIDI outputs, to those outputs. Dispatch goroutine.
func (p *player) syncMaps() {
	cmds, outs := p.sess.SyncOut(p.cmds[:0], p.outs[:0])
	p.outs = outs[:0]
	p.send(cmds, nil)
	if p.fwd != nil {
		p.fwd.send(outs)
	}
}
