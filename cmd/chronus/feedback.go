package main

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/chronus-audio/chronus/controllers"
	"github.com/chronus-audio/chronus/controllers/osc"
	"github.com/chronus-audio/chronus/dsp"
	"github.com/chronus-audio/chronus/engine"
	"github.com/chronus-audio/chronus/engine/proto"
	"github.com/chronus-audio/chronus/mapping"
)

// Feedback rates.
const (
	feedbackTick = 25 * time.Millisecond // echoes and parameter values, coalesced: at most 40 a second per address
	statusTicks  = 4                     // voices and levels every 4 ticks: 10 Hz
	recordTicks  = 40                    // /record/status every 40 ticks (1 s) while recording

	echoSlots  = 256 // distinct OSC addresses per tick
	paramSlots = 128 // distinct parameters per tick
	numChans   = 16
)

// engineState is what the feedback reads of the engine.
type engineState interface {
	ActiveVoices() int
	PeakLevels() (left, right float32)
}

// feedbackOut is what the feedback needs of the OSC sender.
type feedbackOut interface {
	Send(p osc.Packet) error
	SendExcept(source uint16, p osc.Packet) error
}

// echoSlot is one OSC message waiting to be mirrored to the other clients.
type echoSlot struct {
	source  uint16
	addrLen uint8
	nargs   uint8
	strLen  uint8
	addr    [controllers.MaxAddr]byte
	args    [controllers.MaxArgs]controllers.Arg
	str     [controllers.MaxStr]byte
}

// paramSlot is one parameter value waiting to be reported.
type paramSlot struct {
	module, param proto.Name
	ch            uint8
	value         float64
	except        uint16 // the OSC client that set it (0: none)
}

// presetSlot is a channel's preset, waiting to be reported when dirty.
type presetSlot struct {
	dirty  bool
	preset int
}

// feedback tells the OSC clients what the engine is doing, so every tablet
// shows the same state:
//
//   - a control an OSC client moved is mirrored to the others on the
//     address that client used (/1/fader1 0.7), when it changed the synth;
//   - every parameter a map set, from any source, as
//     /param/<module>/<name> value channel (channel counts from 1);
//   - a channel's preset, as /status/preset channel index name;
//   - the number of sounding voices, /status/voices n, and the output's
//     peak level, /status/level left right in dBFS, at 10 Hz and only
//     when they changed;
//   - /record/status once a second while recording.
//
// A value goes to every client but the one that sent it. The dispatch
// goroutine only records state (observe: no allocation, one short mutex);
// the feedback goroutine coalesces it (the latest value per address wins)
// and sends at most every feedbackTick, so a fader that sends 200 messages
// a second costs the tablets 40, and an OSC flood costs the input path
// nothing. Nothing is logged per message; send errors are counted by the
// Sender's statistics.
type feedback struct {
	out feedbackOut
	eng engineState
	rec func() (*osc.Message, bool) // the /record/status message, if recording

	mu      sync.Mutex // guards the pending state below
	echo    [echoSlots]echoSlot
	echoIdx [echoSlots]uint16 // hash table: slot+1 of each address, 0 = empty
	nEcho   int
	params  [paramSlots]paramSlot
	nParams int
	presets [numChans]presetSlot
	dropped uint64 // addresses or parameters that did not fit in a tick

	// Feedback goroutine only.
	sendEcho   [echoSlots]echoSlot
	sendParams [paramSlots]paramSlot
	sendPreset [numChans]presetSlot
	voices     int
	level      [2]float64
	chanName   proto.Name
	presetName proto.Name
}

func newFeedback(out feedbackOut, eng engineState, rec func() (*osc.Message, bool)) *feedback {
	f := &feedback{out: out, eng: eng, rec: rec, voices: 0, level: [2]float64{-120, -120}}
	_ = f.chanName.Set("channel")
	_ = f.presetName.Set("preset")
	return f
}

// observe records the state that ev changed through cmds, the commands the
// maps made of it. Dispatch goroutine; it allocates nothing. A nil
// feedback does nothing.
func (f *feedback) observe(ev *controllers.Event, cmds []proto.Command) {
	if f == nil || len(cmds) == 0 {
		return
	}
	var except uint16
	if ev.Kind == controllers.OSC {
		except = ev.Source
	}
	changed := false
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range cmds {
		c := &cmds[i]
		switch c.Op {
		case proto.OpSet:
			changed = true
			if c.Module == f.chanName && c.Param == f.presetName {
				f.presets[c.Channel&15] = presetSlot{dirty: true, preset: int(math.Round(c.Value))}
				continue
			}
			f.param(c, except)
		case proto.OpProgram:
			changed = true
			p := dsp.GMPreset(c.Key)
			if c.Channel&15 == dsp.DrumChannel {
				p, _ = dsp.PresetIndex("drums")
			}
			f.presets[c.Channel&15] = presetSlot{dirty: true, preset: p}
		case proto.OpControl, proto.OpPitchBend, proto.OpPressure:
			changed = true
		}
	}
	if changed && ev.Kind == controllers.OSC {
		f.mirror(ev)
	}
}

// param records a parameter value (mu held). The same parameter on several
// channels (a target on channel "all") is one entry per channel.
func (f *feedback) param(c *proto.Command, except uint16) {
	for i := range f.params[:f.nParams] {
		p := &f.params[i]
		if p.module == c.Module && p.param == c.Param && p.ch == c.Channel {
			p.value, p.except = c.Value, except
			return
		}
	}
	if f.nParams == len(f.params) {
		f.dropped++
		return
	}
	f.params[f.nParams] = paramSlot{module: c.Module, param: c.Param, ch: c.Channel, value: c.Value, except: except}
	f.nParams++
}

// mirror records ev's address and arguments (mu held); a later message to
// the same address replaces it.
func (f *feedback) mirror(ev *controllers.Event) {
	addr := ev.Addr[:min(int(ev.AddrLen), len(ev.Addr))]
	h := uint32(2166136261) // FNV-1a
	for _, b := range addr {
		h = (h ^ uint32(b)) * 16777619
	}
	for probe := range uint32(echoSlots) {
		k := (h + probe) % echoSlots
		idx := f.echoIdx[k]
		if idx == 0 {
			if f.nEcho == len(f.echo) {
				break
			}
			f.echoIdx[k] = uint16(f.nEcho + 1)
			f.setEcho(&f.echo[f.nEcho], ev)
			f.nEcho++
			return
		}
		if s := &f.echo[idx-1]; string(s.addr[:s.addrLen]) == string(addr) {
			f.setEcho(s, ev)
			return
		}
	}
	f.dropped++
}

func (f *feedback) setEcho(s *echoSlot, ev *controllers.Event) {
	s.source = ev.Source
	s.addrLen = uint8(copy(s.addr[:], ev.Addr[:min(int(ev.AddrLen), len(ev.Addr))]))
	s.nargs = uint8(min(int(ev.NArgs), len(ev.Args)))
	s.args = ev.Args
	s.str, s.strLen = ev.Str, ev.StrLen
}

// run sends until ctx is done. Feedback goroutine.
func (f *feedback) run(ctx context.Context) {
	t := time.NewTicker(feedbackTick)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f.flush()
		if n%statusTicks == 0 {
			f.status()
		}
		if n%recordTicks == 0 && f.rec != nil {
			if m, on := f.rec(); on {
				_ = f.out.Send(m)
			}
		}
	}
}

// flush sends what observe recorded since the last flush.
func (f *feedback) flush() {
	f.mu.Lock()
	nEcho, nParams := f.nEcho, f.nParams
	copy(f.sendEcho[:nEcho], f.echo[:nEcho])
	copy(f.sendParams[:nParams], f.params[:nParams])
	f.sendPreset = f.presets
	if nEcho > 0 {
		f.echoIdx = [echoSlots]uint16{}
	}
	f.nEcho, f.nParams = 0, 0
	for i := range f.presets {
		f.presets[i].dirty = false
	}
	f.mu.Unlock()

	for i := range f.sendEcho[:nEcho] {
		s := &f.sendEcho[i]
		_ = f.out.SendExcept(s.source, osc.MessageFromArgs(string(s.addr[:s.addrLen]), s.args[:s.nargs], s.str[:]))
	}
	for i := range f.sendParams[:nParams] {
		p := &f.sendParams[i]
		m := osc.NewMessage("/param/"+p.module.String()+"/"+p.param.String(), float32(p.value), int32(p.ch&15)+1)
		_ = f.out.SendExcept(p.except, m)
	}
	for ch, p := range f.sendPreset {
		if p.dirty {
			patch := dsp.Preset(p.preset)
			_ = f.out.Send(osc.NewMessage("/status/preset", int32(ch+1), int32(p.preset), patch.NameString()))
		}
	}
}

// status sends the voice count and the output level when they changed.
func (f *feedback) status() {
	if v := f.eng.ActiveVoices(); v != f.voices {
		f.voices = v
		_ = f.out.Send(osc.NewMessage("/status/voices", int32(v)))
	}
	l, r := f.eng.PeakLevels()
	// Half-decibel steps: a steady tone does not resend its level.
	lv := [2]float64{math.Round(engine.DBFS(l)*2) / 2, math.Round(engine.DBFS(r)*2) / 2}
	if lv != f.level {
		f.level = lv
		_ = f.out.Send(osc.NewMessage("/status/level", float32(lv[0]), float32(lv[1])))
	}
}

// startBridge starts the feedback to OSC clients and the forwarding of map
// outputs, once the inputs are open.
func (p *player) startBridge(ctx context.Context) {
	var mo midiOut
	if p.in.midi != nil {
		mo = p.in.midi
	}
	var oo oscOut
	if p.in.osc != nil {
		oo = p.in.osc.Sender()
	}
	p.fwd = newForwarder(mo, oo, p.a.log.With().Str("role", "forward").Logger())
	p.outs = make([]mapping.Output, 0, 16)
	if p.in.osc == nil {
		return
	}
	p.fb = newFeedback(p.in.osc.Sender(), p.eng, p.recordingStatus)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.fb.run(ctx)
	}()
}

// recordingStatus is the /record/status message while recording.
func (p *player) recordingStatus() (*osc.Message, bool) {
	if _, on := p.recs.status(); !on {
		return nil, false
	}
	return p.statusMessage(), true
}
