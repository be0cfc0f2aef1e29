package dsp

import (
	"errors"
	"math"
	"math/bits"
)

// MaxVoices is the largest voice pool.
const MaxVoices = 512

// DefaultVoices is the voice pool size when Config.Voices is 0.
const DefaultVoices = 64

// DefaultSampleRate is the sample rate when Config.SampleRate is 0.
const DefaultSampleRate = 48000

// DefaultBendRange is the pitch-bend range in semitones when
// Config.BendRange is 0.
const DefaultBendRange = 2

// masterCeiling is the limiter ceiling: just under full scale so that
// converters and resamplers never overshoot.
const masterCeiling = 0.98

// Config configures a Synth; zero fields take their defaults.
type Config struct {
	SampleRate float64 // Hz, 8000..MaxSampleRate; default 48000
	Voices     int     // voice pool size 1..MaxVoices; default 64
	BendRange  float64 // pitch-bend range in semitones 0..48; default 2
	// Presets is the preset bank (nil: the built-in presets). New copies
	// it into the synth's own state, so it is part of every snapshot; the
	// slice itself is not kept.
	Presets []Patch
}

// Stats counts what the synth had to repair or refuse.
type Stats struct {
	NonFinite uint64 // voices silenced because they produced NaN or Inf
	Stolen    uint64 // sounding voices taken over by a new note
	Dropped   uint64 // events refused by Schedule: queue full
	Invalid   uint64 // events refused by Schedule: malformed
	Late      uint64 // events applied after their frame (scheduled too late)
	Applied   uint64 // events applied
	// PatchInvalid counts staging edits StagePatch ignored.
	PatchInvalid uint64
	// PatchRefused counts commits CommitPatch refused (a graph that does
	// not compile, a bad slot or channel, no free program instance).
	PatchRefused uint64
}

// channel is the state of one MIDI channel.
type channel struct {
	patch      Patch
	program    uint8
	graph      uint8    // graph slot+1 it plays, 0 = its preset (see graphFor)
	rpn        [2]uint8 // selected RPN (MSB, LSB); 127,127 = none
	sustain    bool
	volume     float64 // CC7 0..1 (gain = volume²)
	pan        float64 // CC10 -1..1
	expression float64 // CC11 0..1 (gain = expression²)
	mod        float64 // CC1 0..1
	pressure   float64 // channel aftertouch 0..1
	bend       float64 // -1..1
	bendRange  float64 // semitones
	cutoffCC   float64 // CC74 0..1, 0.5 neutral
	resoCC     float64 // CC71 0..1, 0.5 neutral
	bright     float64 // cutoff offset in octaves from CC74
	resoMul    float64 // resonance factor from CC71
}

// master holds the effect and output settings.
type master struct {
	drive                       float64
	delayTime, delayFB, delayMx float64
	revSize, revDamp, revMix    float64
	gain, gainTarget, gainCoef  float64
}

// Synth is the polyphonic synthesizer a worker runs: a pool of voices
// played through 16 MIDI channels, then drive (SoftClip), Delay, Reverb,
// master gain and a look-ahead Limiter.
//
// Its whole state, including the pending events, lives in this
// pointer-free struct, so a plain copy (CopyFrom) is a complete snapshot
// and the output is a pure function of the configuration and the
// scheduled events: bit-identical across processes, independent of how
// Render's caller splits the buffers, and time-invariant (the same events
// shifted by D frames give the same output shifted by D frames, as long
// as the limiter is not limiting: its gain smoothing renormalises at
// absolute frame positions).
//
// Events take effect at their exact frame. The limiter's look-ahead delays
// the sound by Latency() frames, so the synth applies each event
// Latency() frames early: an event scheduled at least Latency() frames
// ahead of Frame() sounds exactly at its frame.
//
// A Synth is not safe for concurrent use: one goroutine (the render
// thread) calls Schedule and Render. Render, Schedule and the small
// accessors never allocate, lock or block.
type Synth struct {
	cfg       settings
	sr        float64
	lat       int    // limiter look-ahead in frames
	frame     uint64 // output frames rendered
	nv        int    // pool size; fade slots follow it
	serial    uint64 // note-on counter
	fadeLen   int32
	ctrlAlpha float64 // per-control-period smoothing factor
	invSr     float64 // 1/sr
	fastSeg   int     // fastSegmentSeconds in frames

	voices  [MaxVoices + fadeSlots]voice
	active  [(MaxVoices + fadeSlots + 63) / 64]uint64 // bit i: voices[i].on, so idle slots cost nothing
	chans   [Channels]channel
	m       master
	delay   Delay
	reverb  Reverb
	limiter Limiter
	q       queue
	stats   Stats
	bank    bank
	g       graphState

	vbuf, tbuf [MaxBlock]float32
	segs       [maxSegs]ctrlSeg
}

// New returns a synth with every channel on its default patch (channel 9:
// the drum kit, the others: General MIDI program 0). Not for the audio
// thread (it allocates the 2.6 MB struct).
func New(c Config) (*Synth, error) {
	s := new(Synth)
	if err := s.init(c); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Synth) init(c Config) error {
	if err := s.bank.build(c.Presets); err != nil {
		return err
	}
	c.Presets = nil // the state stays pointer-free; the bank holds the copy
	if c.SampleRate == 0 {
		c.SampleRate = DefaultSampleRate
	}
	if c.Voices == 0 {
		c.Voices = DefaultVoices
	}
	if c.BendRange == 0 {
		c.BendRange = DefaultBendRange
	}
	if !(c.SampleRate >= 8000 && c.SampleRate <= MaxSampleRate) {
		return errors.New("dsp: sample rate out of range 8000..96000")
	}
	if c.Voices < 1 || c.Voices > MaxVoices {
		return errors.New("dsp: voices out of range 1..512")
	}
	if !(c.BendRange > 0 && c.BendRange <= 48) {
		return errors.New("dsp: bend range out of range 0..48 semitones")
	}
	s.cfg = settings{c.SampleRate, c.Voices, c.BendRange}
	s.sr = c.SampleRate
	s.invSr = 1 / s.sr
	s.fastSeg = int(fastSegmentSeconds * s.sr)
	s.nv = c.Voices
	s.fadeLen = int32(math.Round(fadeSeconds * s.sr))
	s.initGraphs()
	s.ctrlAlpha = 1 - math.Exp(-ctrlFrames/(gainSmoothSeconds*s.sr))
	for ch := range s.chans {
		s.resetChannel(ch)
	}
	s.m = master{
		drive:     1,
		delayTime: 0.375, delayFB: 0.3, delayMx: 0,
		revSize: 0.5, revDamp: 0.5, revMix: 0.12,
		gain: 1, gainTarget: 1,
		gainCoef: 1 - math.Exp(-1/(0.01*s.sr)),
	}
	s.delay.Reset()
	s.reverb.Reset()
	s.applyMaster()
	s.limiter.Init(masterCeiling, s.sr)
	s.lat = s.limiter.Latency()
	return nil
}

// resetChannel puts a channel in its power-on state.
func (s *Synth) resetChannel(ch int) {
	c := &s.chans[ch]
	*c = channel{volume: 100.0 / 127, expression: 1, bendRange: s.cfg.BendRange,
		cutoffCC: 0.5, resoCC: 0.5, resoMul: 1, rpn: [2]uint8{127, 127}}
	if ch == DrumChannel {
		c.patch = s.bank.p[s.bank.drums]
	} else {
		c.patch = s.bank.p[s.bank.gm[0]]
	}
}

// applyMaster pushes the master settings into the effects.
func (s *Synth) applyMaster() {
	s.delay.Set(s.m.delayTime, s.m.delayFB, s.m.delayMx, s.sr)
	s.reverb.Set(s.m.revSize, s.m.revDamp, s.m.revMix, s.sr)
}

// Reset returns the synth to the state New returned (same Config). Not for
// the audio thread: it clears the whole struct.
func (s *Synth) Reset() {
	c, b := s.cfg.config(), s.bank
	*s = Synth{}
	s.bank = b
	_ = s.init(c) // c was validated by New; nil Presets keeps the bank
}

// CopyFrom makes s an exact copy of src (snapshot or restore): one plain
// struct copy. Same thread as Render for either synth.
func (s *Synth) CopyFrom(src *Synth) { *s = *src }

// Config returns the configuration with defaults filled in. Any thread
// that owns the synth.
func (s *Synth) Config() Config { return s.cfg.config() }

// settings is Config without the preset slice, so the state stays pointer-free.
type settings struct {
	SampleRate float64
	Voices     int
	BendRange  float64
}

func (c settings) config() Config {
	return Config{SampleRate: c.SampleRate, Voices: c.Voices, BendRange: c.BendRange}
}

// Frame returns the output frame the next Render starts at.
func (s *Synth) Frame() uint64 { return s.frame }

// Latency returns how many frames ahead of Frame() an event must be
// scheduled to sound exactly at its frame (the limiter's look-ahead).
func (s *Synth) Latency() int { return s.lat }

// Pending returns the number of queued events.
func (s *Synth) Pending() int { return s.q.n }

// Stats returns the counters.
func (s *Synth) Stats() Stats { return s.stats }

// ActiveVoices returns the number of sounding voices of the pool (stolen
// voices fading out in the extra fade slots are not counted).
func (s *Synth) ActiveVoices() int {
	n := 0
	for i := 0; i < s.nv; i++ {
		if !s.voices[i].done() {
			n++
		}
	}
	return n + s.activeGraphVoices()
}

// SetChannelPatch sets the patch that new notes on channel ch use
// (sounding notes keep theirs). Out-of-range channels are ignored. Same
// thread as Render.
func (s *Synth) SetChannelPatch(ch int, p Patch) {
	if ch < 0 || ch >= Channels {
		return
	}
	p.sanitize()
	s.chans[ch].patch = p
}

// ChannelPatch returns channel ch's current patch (with SetParam changes).
func (s *Synth) ChannelPatch(ch int) Patch {
	if ch < 0 || ch >= Channels {
		return Patch{}
	}
	return s.chans[ch].patch
}

// Schedule queues ev in frame order (stable for equal frames). It returns
// false, and counts, when the queue is full (Stats.Dropped) or ev is
// malformed (Stats.Invalid). Same thread as Render; never allocates.
func (s *Synth) Schedule(ev Event) bool {
	if !validEvent(&ev) {
		s.stats.Invalid++
		return false
	}
	if !s.q.push(ev) {
		s.stats.Dropped++
		return false
	}
	return true
}

// Render renders min(len(left), len(right)) frames into left and right
// (overwritten; they must not overlap) and advances Frame(). Any length
// works: it is split at MaxBlock and at event frames, so every event takes
// effect at its exact frame. Render thread only; never allocates.
func (s *Synth) Render(left, right []float32) {
	n := min(len(left), len(right))
	for off := 0; off < n; {
		now := s.frame + uint64(s.lat) // internal time: events apply lat frames early
		for s.q.n > 0 && s.q.peek().Frame <= now {
			ev := s.q.peek()
			if ev.Frame < now {
				s.stats.Late++
			}
			s.apply(ev)
			s.q.pop()
		}
		m := min(n-off, MaxBlock)
		if s.q.n > 0 {
			if d := s.q.peek().Frame - now; d < uint64(m) {
				m = int(d)
			}
		}
		s.renderBlock(left[off:off+m], right[off:off+m])
		s.frame += uint64(m)
		off += m
	}
}

// renderBlock renders one sub-block with no event inside.
func (s *Synth) renderBlock(l, r []float32) {
	clear(l)
	clear(r)
	for w := range s.active {
		for set := s.active[w]; set != 0; set &= set - 1 {
			i := w*64 + bits.TrailingZeros64(set)
			v := &s.voices[i]
			s.runVoice(v, l, r)
			if !v.on {
				s.active[w] &^= 1 << uint(i&63)
			}
		}
	}
	s.renderGraphVoices(l, r)
	if s.m.drive > 0 {
		SoftClip(l, float32(s.m.drive))
		SoftClip(r, float32(s.m.drive))
	}
	s.delay.Process(l, r)
	s.reverb.Process(l, r)
	if g := s.m.gain; g != 1 || s.m.gainTarget != 1 {
		t, k := s.m.gainTarget, s.m.gainCoef
		for i := range l {
			if g != t {
				g += (t - g) * k
				if math.Abs(t-g) < 1e-9 {
					g = t
				}
			}
			l[i] = float32(float64(l[i]) * g)
			r[i] = float32(float64(r[i]) * g)
		}
		s.m.gain = g
	}
	s.limiter.Process(l, r)
}

// apply performs one event.
func (s *Synth) apply(ev *Event) {
	s.stats.Applied++
	switch ev.Kind {
	case graphCommit:
		s.applyCommit(ev)
		return
	case ProgramToGraph:
		s.g.progSlot[ev.Key] = uint8(ev.Value)
		return
	}
	if ev.Channel >= Channels && ev.Kind != NoteOn && ev.Kind != NoteOff && !(ev.Kind == SetParam && ev.Param.Master()) {
		e := *ev
		for ch := uint8(0); ch < Channels; ch++ {
			e.Channel = ch
			s.applyChannel(&e)
		}
		return
	}
	s.applyChannel(ev)
}

func (s *Synth) applyChannel(ev *Event) {
	ch := ev.Channel
	switch ev.Kind {
	case NoteOn:
		if ev.Value <= 0 {
			s.noteOff(ch, ev.Key)
		} else {
			s.noteOn(ch, ev.Key, min(ev.Value, 1))
		}
	case NoteOff:
		s.noteOff(ch, ev.Key)
	case Control:
		s.control(ch, ev.Key, clampF(ev.Value, 0, 1))
	case PitchBend:
		s.chans[ch].bend = clampF(ev.Value, -1, 1)
	case Pressure:
		s.chans[ch].pressure = clampF(ev.Value, 0, 1)
	case Program:
		c := &s.chans[ch]
		c.program = ev.Key
		c.graph = s.g.progSlot[ev.Key&127]
		if ch == DrumChannel {
			c.patch = s.bank.p[s.bank.drums]
		} else {
			c.patch = s.bank.p[s.bank.gm[ev.Key&127]]
		}
	case AllNotesOff:
		s.allNotesOff(ch)
	case AllSoundOff:
		s.allSoundOff(ch)
	case ResetControllers:
		s.resetControllers(ch)
	case SetParam:
		s.setParam(ch, ev.Param, ev.Value)
	case GraphSelect:
		if ev.Value >= 0.5 {
			s.chans[ch].graph = 0
		} else {
			s.chans[ch].graph = ev.Key + 1
		}
	}
}

// noteOn starts (or retriggers) a note.
func (s *Synth) noteOn(ch, key uint8, vel float64) {
	if inst := s.graphFor(ch); inst >= 0 {
		s.graphNoteOn(ch, key, vel, inst)
		return
	}
	s.releaseGraphKey(ch, key)
	c := &s.chans[ch]
	pt := &c.patch
	kit := pt.Kit
	if kit {
		pt = &drumKit[key&127]
	}
	if pt.Choke != 0 {
		for i := 0; i < s.nv; i++ {
			v := &s.voices[i]
			if v.ch == ch && v.p.Choke == pt.Choke && !v.done() {
				v.startFade(s.fadeLen)
			}
		}
	}
	// The same key still down (or held by the pedal) retriggers its voice:
	// the envelopes restart from their current level, without a click.
	idx := -1
	for i := 0; i < s.nv; i++ {
		v := &s.voices[i]
		if v.ch == ch && v.key == key && (v.held || v.sustained) && !v.fading && !v.done() {
			idx = i
			break
		}
	}
	retrig := idx >= 0
	if !retrig {
		idx = s.alloc()
	}
	v := &s.voices[idx]
	s.serial++
	if retrig {
		v.syncEnv()
		v.fromCur = true // the new period's gain ramp starts where the sound is
	} else {
		*v = voice{}
		seed := s.serial * 4
		v.osc[0].Reset(seed)
		v.osc[1].Reset(seed + 1)
		v.noise.Reset(seed + 2)
		v.fresh = true
	}
	v.p = *pt
	v.on, v.held, v.sustained, v.kit, v.fading = true, true, false, kit, false
	s.active[idx/64] |= 1 << uint(idx%64)
	v.ch, v.key, v.vel = ch, key, vel
	v.serial = s.serial
	v.age, v.tick, v.dirty = 0, 0, true
	v.lfo.Reset(s.serial)
	v.amp.Configure(v.p.AmpEnv, s.sr)
	v.fenv.Configure(v.p.FilterEnv, s.sr)
	v.amp.GateOn()
	v.fenv.GateOn()
}

// alloc returns the pool voice for a new note: a free one if any, else it
// steals, in this order of preference, a fading voice (least fade left), a
// releasing one (quietest), one held only by the pedal or a decaying
// one-shot (oldest), a held one (oldest). The stolen note moves to a fade
// slot and fades out there.
func (s *Synth) alloc() int {
	best, bestRank := -1, 5
	var bestLevel float64
	var bestSerial uint64
	for i := 0; i < s.nv; i++ {
		v := &s.voices[i]
		if v.done() {
			return i
		}
		var rank int
		level := 0.0
		switch {
		case v.fading:
			rank, level = 0, float64(v.fade)
		case v.amp.Releasing():
			rank, level = 1, float64(v.amp.Level())
		case !v.held:
			rank = 2
		default:
			rank = 3
		}
		better := rank < bestRank ||
			rank == bestRank && (level < bestLevel || level == bestLevel && v.serial < bestSerial)
		if better {
			best, bestRank, bestLevel, bestSerial = i, rank, level, v.serial
		}
	}
	s.steal(best)
	return best
}

// fadingVoice is a voice (preset or graph) as fadeSlot sees it.
type fadingVoice[V any] interface {
	*V
	done() bool
	fadeLeft() int32
}

// fadeSlot returns the fade slot (vs[n : n+fadeSlots]) a stolen voice
// moves to: a finished one, or else the one nearest the end of its fade.
// Audio thread; no allocation.
func fadeSlot[V any, P fadingVoice[V]](vs []V, n int) int {
	slot := -1
	least := int32(math.MaxInt32)
	for k := n; k < n+fadeSlots; k++ {
		f := P(&vs[k])
		if f.done() {
			return k
		}
		if l := f.fadeLeft(); l < least {
			slot, least = k, l
		}
	}
	return slot
}

// steal moves pool voice i into a fade slot, where it fades out.
func (s *Synth) steal(i int) {
	slot := fadeSlot(s.voices[:], s.nv)
	d := &s.voices[slot]
	*d = s.voices[i]
	s.active[slot/64] |= 1 << uint(slot%64)
	d.startFade(s.fadeLen)
	s.stats.Stolen++
}

func (s *Synth) noteOff(ch, key uint8) {
	sus := s.chans[ch].sustain
	s.graphNoteOff(ch, key, sus)
	for i := 0; i < s.nv; i++ {
		v := &s.voices[i]
		if v.ch != ch || v.key != key || !v.held || v.done() {
			continue
		}
		v.held = false
		switch {
		case v.p.OneShot:
		case sus:
			v.sustained = true
		default:
			v.release()
		}
	}
}

// pedalUp releases the notes the sustain pedal was holding.
func (s *Synth) pedalUp(ch uint8) {
	s.graphPedalUp(ch)
	for i := 0; i < s.nv; i++ {
		v := &s.voices[i]
		if v.ch == ch && v.sustained && !v.done() {
			v.release()
		}
	}
}

func (s *Synth) allNotesOff(ch uint8) {
	s.graphAllNotesOff(ch)
	for i := 0; i < s.nv; i++ {
		v := &s.voices[i]
		if v.ch != ch || v.done() || !(v.held || v.sustained) {
			continue
		}
		if v.p.OneShot {
			v.held, v.sustained = false, false
			continue
		}
		v.release()
	}
}

func (s *Synth) allSoundOff(ch uint8) {
	s.graphAllSoundOff(ch)
	for i := 0; i < s.nv+fadeSlots; i++ {
		v := &s.voices[i]
		if v.ch == ch && !v.done() {
			v.startFade(s.fadeLen)
		}
	}
}

// resetControllers follows MIDI RP-015: volume, pan, the sound controllers
// (CC71, CC74) and the bend range stay.
func (s *Synth) resetControllers(ch uint8) {
	c := &s.chans[ch]
	c.mod, c.pressure, c.bend, c.expression = 0, 0, 0, 1
	c.rpn = [2]uint8{127, 127}
	if c.sustain {
		c.sustain = false
		s.pedalUp(ch)
	}
}

// control applies a MIDI control change (value 0..1).
func (s *Synth) control(ch, cc uint8, val float64) {
	c := &s.chans[ch]
	raw := uint8(math.Round(val * 127))
	switch cc {
	case 1:
		c.mod = val
	case 6: // data entry MSB
		if c.rpn == [2]uint8{0, 0} { // pitch-bend sensitivity, semitones
			c.bendRange = float64(raw)
		}
	case 38: // data entry LSB
		if c.rpn == [2]uint8{0, 0} { // cents
			c.bendRange = math.Floor(c.bendRange) + float64(raw)/100
		}
	case 7:
		c.volume = val
	case 10:
		x := val*127 - 64
		if x > 0 {
			c.pan = min(x/63, 1)
		} else {
			c.pan = max(x/64, -1)
		}
	case 11:
		c.expression = val
	case 64:
		on := val >= 0.5
		if c.sustain && !on {
			c.sustain = false
			s.pedalUp(ch)
		}
		c.sustain = on
	case 71:
		c.resoCC = val
		c.resoMul = math.Exp2((val - 0.5) * 4)
	case 74:
		c.cutoffCC = val
		c.bright = (val - 0.5) * 6
	case 98, 99: // NRPN select: data entry no longer addresses an RPN
		c.rpn = [2]uint8{127, 127}
	case 100:
		c.rpn[1] = raw
	case 101:
		c.rpn[0] = raw
	case 120:
		s.allSoundOff(ch)
	case 121:
		s.resetControllers(ch)
	case 123, 124, 125, 126, 127: // all notes off; omni and mono/poly changes end notes too
		s.allNotesOff(ch)
	}
}

// setParam applies a SetParam event.
func (s *Synth) setParam(ch uint8, p Param, val float64) {
	val = clampParam(p, val)
	in := &paramInfos[p]
	switch in.scope {
	case scopeMaster:
		switch p {
		case ParamDelayTime:
			s.m.delayTime = val
		case ParamDelayFeedback:
			s.m.delayFB = val
		case ParamDelayMix:
			s.m.delayMx = val
		case ParamReverbSize:
			s.m.revSize = val
		case ParamReverbDamping:
			s.m.revDamp = val
		case ParamReverbMix:
			s.m.revMix = val
		case ParamMasterGain:
			s.m.gainTarget = val
		case ParamMasterDrive:
			s.m.drive = val
		}
		s.applyMaster()
	case scopeChannel:
		c := &s.chans[ch]
		switch p {
		case ParamChannelVolume:
			c.volume = val
		case ParamChannelPan:
			c.pan = val
		case ParamChannelExpression:
			c.expression = val
		case ParamChannelBendRange:
			c.bendRange = val
		case ParamChannelPreset:
			c.patch = s.bank.p[min(int(val), s.bank.n-1)]
			c.graph = 0
		}
	default:
		setPatchParam(&s.chans[ch].patch, p, val)
		for i := 0; i < s.nv+fadeSlots; i++ {
			v := &s.voices[i]
			if v.ch != ch || v.kit || v.done() {
				continue
			}
			setPatchParam(&v.p, p, val)
			v.dirty = true
			switch p {
			case ParamAmpAttack, ParamAmpDecay, ParamAmpSustain, ParamAmpRelease, ParamAmpCurve:
				v.syncEnv()
				v.amp.Configure(v.p.AmpEnv, s.sr)
				v.ampChanged()
			case ParamFilterEnvAttack, ParamFilterEnvDecay, ParamFilterEnvSustain, ParamFilterEnvRelease, ParamFilterEnvCurve:
				v.syncEnv()
				v.fenv.Configure(v.p.FilterEnv, s.sr)
			}
		}
	}
}
