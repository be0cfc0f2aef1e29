package dsp

import (
	"math"
	"math/bits"
)

// Graph patches in the Synth. A channel plays either its preset (the
// hand-written voice, voice.go) or one of GraphSlots graph slots, each a
// compiled GraphProgram. Everything here is part of the pointer-free Synth
// state, so snapshots carry the staged graph, the slots and the graph
// voices.
//
// Program instances. Notes finish on the program they started with, even
// when their slot is committed again, so the synth keeps graphInstances
// compiled programs, more than the slots: a slot names an instance, a
// graph voice names the instance it plays, and a commit compiles into an
// instance that nothing names. An instance is free when no slot, no
// sounding voice and no pending commit names it and its effects chain
// (graph_fx.go) has stopped (computed by a scan when needed, so no
// reference count can drift).
//
// A commit compiles when the synth reads it (CommitPatch), in command
// order, so staging edits read after it cannot change what it commits;
// the slot switches at the commit's frame. Should every instance be in use
// then (more than graphInstances-GraphSlots retired programs still
// sounding), the commit parks its program in one spare; at its frame the
// voices of the retired instance whose latest note is oldest fade out
// (fadeSeconds) and the commit takes effect fadeLen frames later, in that
// instance. A second commit while one is parked and no instance is free
// is refused (Stats.PatchRefused).

// GraphSlots is the number of graph slots a Synth holds: committed voice
// graphs that channels select (OpPatchCommit, OpPatchSelect).
const GraphSlots = 16

// MaxGraphVoices is the size of the graph voice pool (the preset pool is
// separate): min(Config.Voices, MaxGraphVoices) voices, plus fade slots.
const MaxGraphVoices = 128

// graphInstances is the number of compiled programs a synth holds: the 16
// slots' and up to 32 retired ones that notes still play.
const graphInstances = 48

// parkInst marks a commit whose program waits in Synth.park.
const parkInst = graphInstances

// PatchEdit is a staging edit of the synth's patch graph (StagePatch).
type PatchEdit uint8

// Staging edits; they mirror the wire's patch ops.
const (
	// PatchAbort clears the staged graph.
	PatchAbort PatchEdit = iota + 1
	// PatchCreate adds module id = module of kind name param.
	PatchCreate
	// PatchSet sets parameter param of module to value (a choice by index);
	// with module PatchOptions, patch option param (OptionOneShot,
	// OptionChoke).
	PatchSet
	// PatchConnect adds a route from module to port key (ModuleKind.PortName
	// numbering) of module param, amount value, RouteOp voice.
	PatchConnect
	// PatchDisconnect removes the routes from module to port key of module
	// param.
	PatchDisconnect
	// PatchAmount sets the amount of the routes from module to port key
	// of module param to value, keeping their places (a kit's sounds
	// differ from their template in route amounts too; graph_kit.go).
	PatchAmount
)

// graphVoice is one note of the graph pool.
type graphVoice struct {
	on        bool
	held      bool // key down
	sustained bool // key up while the sustain pedal was down
	fading    bool
	fresh     bool // the channel gains jump to their target at the first render
	ch, key   uint8
	inst      uint8 // the program instance it plays
	fade      int32 // frames left of the fade-out
	serial    uint64
	gl, gr    float64 // running channel gains (volume², expression², pan)
	pan       float64 // pan that panL, panR are for (the channel's plus kpan)
	kpan      float64 // a kit key's pan offset (graph_kit.go), else 0
	panL      float64
	panR      float64
	v         GraphVoice
}

// done reports whether the voice is silent for good: unused, faded out,
// or finished (a fading voice plays its fade to the end: a graph without
// envelopes is "done" at its note-off but fades).
func (g *graphVoice) done() bool {
	if g.fading {
		return !g.on || g.fade <= 0
	}
	return !g.on || g.v.Done()
}

// startFade begins a click-free linear fade-out (never lengthens one).
func (g *graphVoice) startFade(frames int32) {
	if !g.fading || g.fade > frames {
		g.fade = frames
	}
	g.fading = true
	g.held, g.sustained = false, false
}

// graphState is the graph part of the Synth state.
type graphState struct {
	stage    Graph
	slots    [GraphSlots]uint8 // instance+1, 0 = empty
	progSlot [128]uint8        // program number -> slot+1, 0 = the preset
	reserved uint64            // instances named by a pending commit
	parked   bool              // park holds a pending commit's program
	progs    [graphInstances]GraphProgram
	park     GraphProgram
	lastErr  GraphError // why the last commit was refused
	ngv      int        // graph pool size; fade slots follow it
	gk       float64    // per-sample channel-gain smoothing coefficient
	invFade  float32
	active   [(MaxGraphVoices + fadeSlots + 63) / 64]uint64
	voices   [MaxGraphVoices + fadeSlots]graphVoice
	r        GraphRenderer
	buf      [MaxBlock]float32

	// Effects chains (graph_fx.go).
	fxLive  uint64 // instances whose chain runs
	fxSkips uint64 // GraphFxStats.DelayBypassed
	fx      [graphInstances]fxChain
	fxOwner [FxDelayUnits]uint8               // instance+1 holding each delay line, 0: free
	fxNext  [FxDelayUnits]uint8               // instance+1 a line passes to when its owner stops
	fxList  [MaxGraphVoices + fadeSlots]uint8 // this block's voices of running chains
	fxBus   [2][MaxBlock]float32              // a chain's input and output
	fxTmp   [MaxBlock]float32                 // a drive's scratch
	fxLines [FxDelayUnits]fxDelayLine         // the delay lines

	kit kitState // the drum kit as graphs (graph_kit.go)
}

// StagePatch applies one staging edit to the staged graph at once (nothing
// sounds until a commit). An edit that does not fit (unknown module or
// kind, a duplicate id, a full graph, an unknown port, parameter or
// option, a non-finite value, an option value out of its set) is ignored and counted in Stats.PatchInvalid; it
// returns whether the edit applied. Values are checked by the commit's
// Compile. module and param may point into a reused buffer: the synth
// copies what it keeps. Render thread; never allocates.
func (s *Synth) StagePatch(op PatchEdit, module, param string, key uint8, value float64, voice uint16) bool {
	if !s.stagePatch(op, module, param, key, value, voice) {
		s.stats.PatchInvalid++
		return false
	}
	return true
}

func (s *Synth) stagePatch(op PatchEdit, module, param string, key uint8, value float64, voice uint16) bool {
	g := &s.g.stage
	if op == PatchAbort {
		*g = Graph{}
		return true
	}
	id, ok := id16(module)
	if !ok || !validID(&id) && !(op == PatchSet && module == PatchOptions) {
		return false
	}
	switch op {
	case PatchCreate:
		k, ok := ParseModuleKind(param)
		if !ok || g.moduleIndex(&id) >= 0 || int(g.NModules) >= MaxModules {
			return false
		}
		g.Modules[g.NModules] = Module{ID: id, Kind: k}
		g.NModules++
	case PatchSet:
		if module == PatchOptions {
			return stageOption(g, param, value)
		}
		i := g.moduleIndex(&id)
		if i < 0 || !finite64(value) {
			return false
		}
		m := &g.Modules[i]
		p := m.Kind.ParamIndex(param)
		if p < 0 {
			return false
		}
		m.Param[p] = value
		m.Set |= 1 << uint(p)
	case PatchConnect, PatchDisconnect, PatchAmount:
		to, ok := id16(param)
		if !ok {
			return false
		}
		ti := g.moduleIndex(&to)
		if ti < 0 {
			return false
		}
		port, ok := g.Modules[ti].Kind.PortName(int(key))
		if !ok {
			return false
		}
		var pn [16]byte
		copy(pn[:], port)
		if op == PatchAmount {
			if !finite64(value) {
				return false
			}
			n := 0
			for r := 0; r < int(g.NRoutes); r++ {
				if rt := &g.Routes[r]; rt.From == id && rt.To == to && rt.Port == pn {
					rt.Amount = value
					n++
				}
			}
			return n > 0
		}
		if op == PatchDisconnect {
			n, nr := 0, int(g.NRoutes)
			for r := 0; r < nr; r++ {
				if rt := &g.Routes[r]; rt.From == id && rt.To == to && rt.Port == pn {
					continue
				}
				g.Routes[n] = g.Routes[r]
				n++
			}
			for r := n; r < nr; r++ {
				g.Routes[r] = Route{}
			}
			g.NRoutes = uint8(n)
			return n < nr
		}
		if int(g.NRoutes) >= MaxRoutes || !finite64(value) || voice >= uint16(numRouteOps) {
			return false
		}
		g.Routes[g.NRoutes] = Route{From: id, To: to, Port: pn, Amount: value, Op: RouteOp(voice)}
		g.NRoutes++
	default:
		return false
	}
	return true
}

// stageOption sets a patch option (see PatchOptions).
func stageOption(g *Graph, name string, v float64) bool {
	switch {
	case name == OptionOneShot && (v == 0 || v == 1):
		g.OneShot = v == 1
	case name == OptionChoke && v >= 0 && v <= 255 && v == math.Trunc(v):
		g.Choke = uint8(v)
	default:
		return false
	}
	return true
}

// StagedGraph returns a copy of the staged graph. Same thread as Render.
func (s *Synth) StagedGraph() Graph { return s.g.stage }

// CommitPatch compiles the staged graph, with module out as its output,
// now (so later staging edits do not change it), and queues its commit at
// frame: from then on graph slot slot holds it and channel ch plays that
// slot; notes already sounding finish on what they started with. The
// staged graph stays staged. It returns false, and counts
// Stats.PatchRefused, when slot or ch is out of range, the graph does not
// compile (LastPatchError says why; the slot and channel keep what they
// had) or no program instance is free; Stats.Dropped when the event queue
// is full. Render thread; never allocates (Compile does not).
func (s *Synth) CommitPatch(frame uint64, out string, slot, ch uint8) bool {
	gs := &s.g
	if slot >= GraphSlots || ch >= Channels {
		s.stats.PatchRefused++
		return false
	}
	id, ok := id16(out)
	if !ok {
		s.stats.PatchRefused++
		return false
	}
	gs.stage.Out = id
	inst := s.freeInstance()
	p := &gs.park
	if inst >= 0 {
		p = &gs.progs[inst]
	} else if gs.parked {
		s.stats.PatchRefused++
		return false
	} else {
		inst = parkInst
	}
	if err := Compile(&gs.stage, p); err != nil {
		gs.lastErr = p.err
		*p = GraphProgram{}
		s.stats.PatchRefused++
		return false
	}
	ev := Event{Frame: frame, Kind: graphCommit, Channel: ch, Key: slot, Value: float64(inst)}
	if !s.q.push(ev) {
		*p = GraphProgram{}
		s.stats.Dropped++
		return false
	}
	if inst == parkInst {
		gs.parked = true
	} else {
		gs.reserved |= 1 << uint(inst)
	}
	return true
}

// LastPatchError returns why the last refused commit did not compile (ok
// false when none did). Not for the audio thread (GraphError.Error
// allocates, the copy does not).
func (s *Synth) LastPatchError() (GraphError, bool) {
	return s.g.lastErr, s.g.lastErr.Code != ErrNone
}

// ChannelGraph returns the graph slot channel ch plays, or -1 when it
// plays its preset (also when the slot it selected is still empty: notes
// then play the preset). Same thread as Render.
func (s *Synth) ChannelGraph(ch int) int {
	if ch < 0 || ch >= Channels {
		return -1
	}
	if sl := s.chans[ch].graph; sl != 0 && s.g.slots[sl-1] != 0 {
		return int(sl) - 1
	}
	return -1
}

// GraphSlotName returns the name of the graph in slot (ok false when the
// slot is empty). Not for the audio thread (it allocates).
func (s *Synth) GraphSlotName(slot int) (string, bool) {
	if slot < 0 || slot >= GraphSlots || s.g.slots[slot] == 0 {
		return "", false
	}
	return s.g.progs[s.g.slots[slot]-1].NameString(), true
}

// initGraphs sets up the graph pool for the configuration.
func (s *Synth) initGraphs() {
	gs := &s.g
	gs.ngv = min(s.nv, MaxGraphVoices)
	gs.gk = 1 - math.Exp(-1/(gainSmoothSeconds*s.sr))
	gs.invFade = 1 / float32(s.fadeLen)
	gs.r.Init(s.sr)
}

// usedInstances returns the instances a slot, a sounding voice or a
// pending commit names, or whose effects chain still runs (a tail).
func (s *Synth) usedInstances() uint64 { return s.namedInstances() | s.g.fxLive }

// namedInstances returns the instances a slot, a sounding voice or a
// pending commit names. (A kit voice's inst is beyond the instances: its
// shift gives 0.)
func (s *Synth) namedInstances() uint64 {
	gs := &s.g
	named := gs.reserved
	for _, sl := range gs.slots {
		if sl != 0 {
			named |= 1 << uint(sl-1)
		}
	}
	for w := range gs.active {
		for set := gs.active[w]; set != 0; set &= set - 1 {
			named |= 1 << uint(gs.voices[w*64+bits.TrailingZeros64(set)].inst)
		}
	}
	return named
}

// freeInstance returns the lowest free instance, or -1.
func (s *Synth) freeInstance() int {
	free := ^s.usedInstances() & (1<<graphInstances - 1)
	if free == 0 {
		return -1
	}
	return bits.TrailingZeros64(free)
}

// applyCommit performs a commit event at its frame.
func (s *Synth) applyCommit(ev *Event) {
	gs := &s.g
	if ev.Value < 0 {
		s.applyKit(ev)
		return
	}
	inst := int(ev.Value)
	if inst == parkInst {
		inst = s.unpark(ev)
		if inst < 0 {
			return // retried once the victim has faded out
		}
	}
	gs.reserved &^= 1 << uint(inst)
	gs.slots[ev.Key] = uint8(inst) + 1
	s.chans[ev.Channel].graph = ev.Key + 1
}

// unpark moves the parked program into a free instance and returns it;
// with none free it fades out the voices and the effects tail of the
// retired instance whose latest note is oldest, requeues ev for when they
// are gone and returns -1.
func (s *Synth) unpark(ev *Event) int {
	gs := &s.g
	if inst := s.freeInstance(); inst >= 0 {
		gs.progs[inst] = gs.park
		gs.park = GraphProgram{}
		gs.parked = false
		return inst
	}
	named := gs.reserved
	for _, sl := range gs.slots {
		if sl != 0 {
			named |= 1 << uint(sl-1)
		}
	}
	var latest [graphInstances]uint64
	for i := 0; i < gs.ngv+fadeSlots; i++ {
		if v := &gs.voices[i]; v.on && v.inst < graphInstances {
			latest[v.inst] = max(latest[v.inst], v.serial)
		}
	}
	for set := gs.fxLive; set != 0; set &= set - 1 {
		i := bits.TrailingZeros64(set)
		latest[i] = max(latest[i], gs.fx[i].serial)
	}
	victim := -1
	for i := 0; i < graphInstances; i++ {
		if named&(1<<uint(i)) == 0 && latest[i] != 0 && (victim < 0 || latest[i] < latest[victim]) {
			victim = i
		}
	}
	if victim >= 0 {
		for i := 0; i < gs.ngv+fadeSlots; i++ {
			if v := &gs.voices[i]; v.on && int(v.inst) == victim {
				v.startFade(s.fadeLen)
			}
		}
		s.fxFade(victim)
	}
	e := *ev
	e.Frame = s.frame + uint64(s.lat) + uint64(s.fadeLen) + 1
	if !s.q.push(e) {
		s.stats.Dropped++
		gs.park = GraphProgram{}
		gs.parked = false
	}
	return -1
}

// graphFor returns the instance a new note on channel ch plays, kitSel
// when the channel plays the kit (the key picks the program), or -1 for
// the preset.
func (s *Synth) graphFor(ch uint8) int {
	if k := &s.g.kit; k.live != 0 && k.chans&(1<<(ch%Channels)) != 0 {
		return kitSel
	}
	if sl := s.chans[ch].graph; sl != 0 {
		if in := s.g.slots[sl-1]; in != 0 {
			return int(in) - 1
		}
	}
	return -1
}

// graphNoteOn starts (or retriggers) a note of instance inst, or of the
// kit program of key (inst kitSel).
func (s *Synth) graphNoteOn(ch, key uint8, vel float64, inst int) {
	gs := &s.g
	kpan := 0.0
	if inst == kitSel {
		var ok bool
		if inst, kpan, ok = gs.kitNote(key); !ok {
			return // the kit has no sound on this key
		}
	}
	prog := gs.prog(uint8(inst))
	if c := prog.choke; c != 0 {
		for i := 0; i < gs.ngv+fadeSlots; i++ {
			if v := &gs.voices[i]; v.on && v.ch == ch && gs.prog(v.inst).choke == c && !v.done() {
				v.startFade(s.fadeLen)
			}
		}
	}
	// The same key still sounding on the preset (the channel switched)
	// is released: the key now plays the graph.
	for i := 0; i < s.nv; i++ {
		if v := &s.voices[i]; v.ch == ch && v.key == key && (v.held || v.sustained) && !v.fading && !v.done() {
			if v.p.OneShot {
				v.held, v.sustained = false, false
			} else {
				v.release()
			}
		}
	}
	idx := -1
	for i := 0; i < gs.ngv; i++ {
		v := &gs.voices[i]
		if v.ch != ch || v.key != key || !(v.held || v.sustained) || v.fading || v.done() {
			continue
		}
		if int(v.inst) == inst && idx < 0 {
			idx = i // retrigger: envelopes restart from where they are
		} else {
			s.graphRelease(v)
		}
	}
	retrig := idx >= 0
	if !retrig {
		idx = s.graphAlloc()
	}
	v := &gs.voices[idx]
	s.serial++
	if !retrig {
		*v = graphVoice{fresh: true}
	}
	v.on, v.held, v.sustained, v.fading = true, true, false, false
	v.ch, v.key, v.inst, v.kpan = ch, key, uint8(inst), kpan
	v.serial = s.serial
	gs.r.NoteOn(prog, &v.v, key, vel, s.serial)
	gs.active[idx/64] |= 1 << uint(idx%64)
	if prog.nfx > 0 {
		s.fxNoteOn(inst, ch)
	}
}

// releaseGraphKey releases graph voices holding key on ch (a preset note
// on that key starts).
func (s *Synth) releaseGraphKey(ch, key uint8) {
	gs := &s.g
	for i := 0; i < gs.ngv; i++ {
		if v := &gs.voices[i]; v.ch == ch && v.key == key && (v.held || v.sustained) && !v.fading && !v.done() {
			s.graphRelease(v)
		}
	}
}

// graphRelease releases a graph voice's envelopes; a graph without
// envelopes fades out instead of stopping dead; a one-shot plays on.
func (s *Synth) graphRelease(v *graphVoice) {
	p := s.g.prog(v.inst)
	v.held, v.sustained = false, false
	if p.once {
		return
	}
	s.g.r.NoteOff(p, &v.v)
	if p.nenv == 0 {
		v.startFade(s.fadeLen)
	}
}

// graphAlloc returns the graph pool voice for a new note, stealing like
// alloc: a fading voice (least fade left), a released one, one held only
// by the pedal, a held one (oldest first within each).
func (s *Synth) graphAlloc() int {
	gs := &s.g
	best, bestRank := -1, 5
	var bestFade int32
	var bestSerial uint64
	for i := 0; i < gs.ngv; i++ {
		v := &gs.voices[i]
		if v.done() {
			return i
		}
		var rank int
		var fade int32
		switch {
		case v.fading:
			rank, fade = 0, v.fade
		case !v.held && !v.sustained:
			rank = 1
		case !v.held:
			rank = 2
		default:
			rank = 3
		}
		if rank < bestRank || rank == bestRank && (fade < bestFade || fade == bestFade && v.serial < bestSerial) {
			best, bestRank, bestFade, bestSerial = i, rank, fade, v.serial
		}
	}
	// Move the stolen note to a fade slot, where it fades out.
	slot := fadeSlot(gs.voices[:], gs.ngv)
	d := &gs.voices[slot]
	*d = gs.voices[best]
	gs.active[slot/64] |= 1 << uint(slot%64)
	d.startFade(s.fadeLen)
	s.stats.Stolen++
	return best
}

// graphNoteOff releases the graph notes of key on ch (or marks them held
// by the pedal).
func (s *Synth) graphNoteOff(ch, key uint8, sus bool) {
	gs := &s.g
	for i := 0; i < gs.ngv; i++ {
		v := &gs.voices[i]
		if v.ch != ch || v.key != key || !v.held || v.done() {
			continue
		}
		if sus && !s.g.prog(v.inst).once {
			v.held, v.sustained = false, true
		} else {
			s.graphRelease(v)
		}
	}
}

// graphPedalUp releases the graph notes the pedal was holding.
func (s *Synth) graphPedalUp(ch uint8) {
	gs := &s.g
	for i := 0; i < gs.ngv; i++ {
		if v := &gs.voices[i]; v.ch == ch && v.sustained && !v.done() {
			s.graphRelease(v)
		}
	}
}

func (s *Synth) graphAllNotesOff(ch uint8) {
	gs := &s.g
	for i := 0; i < gs.ngv; i++ {
		if v := &gs.voices[i]; v.ch == ch && (v.held || v.sustained) && !v.done() {
			s.graphRelease(v)
		}
	}
}

func (s *Synth) graphAllSoundOff(ch uint8) {
	gs := &s.g
	for i := 0; i < gs.ngv+fadeSlots; i++ {
		if v := &gs.voices[i]; v.ch == ch && !v.done() {
			v.startFade(s.fadeLen)
		}
	}
	s.fxSoundOff(ch)
}

// activeGraphVoices counts the sounding voices of the graph pool.
func (s *Synth) activeGraphVoices() int {
	n := 0
	for i := 0; i < s.g.ngv; i++ {
		if !s.g.voices[i].done() {
			n++
		}
	}
	return n
}

// renderGraphVoices adds every graph voice to l and r: directly, or
// through its instance's effects chain while that runs.
func (s *Synth) renderGraphVoices(l, r []float32) {
	gs := &s.g
	nfx := 0
	for w := range gs.active {
		for set := gs.active[w]; set != 0; set &= set - 1 {
			i := w*64 + bits.TrailingZeros64(set)
			v := &gs.voices[i]
			if gs.fxLive&(1<<v.inst) != 0 {
				gs.fxList[nfx] = uint8(i)
				nfx++
				continue
			}
			s.runGraphVoice(v, l, r)
			if v.done() {
				*v = graphVoice{}
				gs.active[w] &^= 1 << uint(i&63)
			}
		}
	}
	for set := gs.fxLive; set != 0; set &= set - 1 {
		s.renderFx(bits.TrailingZeros64(set), nfx, l, r)
	}
}

// runGraphVoice renders one graph voice and adds it to l and r. A
// released (or one-shot) voice ends at a control point of its own (where its last
// envelope ends), and a filter after its amplifier may still ring there:
// it renders up to that frame, so that it ends there whatever the blocks
// are (one call, not one per period: the renderer's output does not
// depend on how its calls split the frames); a fading voice likewise ends
// where its fade does. It returns that frame, or len(l) when the voice
// sounds on.
func (s *Synth) runGraphVoice(v *graphVoice, l, r []float32) int {
	n := len(l)
	for off := 0; off < n; {
		m := n - off
		if v.fading {
			m = min(m, max(int(v.fade), 1))
		}
		if !v.v.gate || v.v.once {
			p := s.g.prog(v.inst)
			t := v.v.endsIn(p)
			if t <= 0 { // no envelope runs (a fading voice): period by period
				if t = int(v.v.tick); t <= 0 {
					t = s.g.r.period(p, &v.v)
				}
			}
			m = min(m, t)
		}
		s.mixGraphVoice(v, l[off:off+m], r[off:off+m])
		off += m
		if v.done() {
			return off
		}
	}
	return n
}

// mixGraphVoice renders one graph voice and adds it to l and r with the
// channel's gains. While the gains are at their targets (the usual case)
// the voice mixes itself in its last loop (RenderAdd); while they move
// (smoothed per sample, so the result does not depend on block
// boundaries) or the voice fades, it renders into a scratch buffer and
// this loop applies them. Both paths compute the same product for the
// same gains.
func (s *Synth) mixGraphVoice(v *graphVoice, l, r []float32) {
	gs := &s.g
	p := gs.prog(v.inst)
	c := &s.chans[v.ch]
	in := VoiceInput{Bend: c.bend * c.bendRange, Mod: c.mod, Pressure: c.pressure}
	pan := c.pan
	if v.inst >= kitInstBase {
		in.Bend = 0 // kit sounds ignore the bend, as the preset kit does
		pan = clampF(pan+v.kpan, -1, 1)
	}
	g := c.volume * c.volume * c.expression * c.expression
	if v.pan != pan || v.fresh {
		v.pan = pan
		v.panL, v.panR = panGains(pan)
	}
	tl, tr := g*v.panL, g*v.panR
	if v.fresh {
		v.gl, v.gr, v.fresh = tl, tr, false
	}
	if !v.fading && v.gl == tl && v.gr == tr {
		gs.r.RenderAdd(p, &v.v, in, l, r, float32(tl), float32(tr))
	} else {
		n := len(l)
		x := gs.buf[:n]
		gs.r.Render(p, &v.v, in, x)
		gl, gr, k := v.gl, v.gr, gs.gk
		fade := v.fade
		ls, rs := l[:n], r[:n]
		for i, xv := range x {
			if gl != tl {
				gl += (tl - gl) * k
				if d := tl - gl; d < 1e-6 && d > -1e-6 {
					gl = tl
				}
			}
			if gr != tr {
				gr += (tr - gr) * k
				if d := tr - gr; d < 1e-6 && d > -1e-6 {
					gr = tr
				}
			}
			if v.fading {
				fade--
				xv *= float32(max(fade, 0)) * gs.invFade
			}
			ls[i] += xv * float32(gl)
			rs[i] += xv * float32(gr)
		}
		v.gl, v.gr = gl, gr
		if v.fading {
			v.fade = fade
		}
	}
	if !v.v.on && v.on {
		// The renderer silenced a voice whose state turned non-finite;
		// part of it may have reached l and r.
		s.stats.NonFinite++
		for i := range l {
			if !Finite(l[i]) {
				l[i] = 0
			}
			if !Finite(r[i]) {
				r[i] = 0
			}
		}
		v.on = false
	}
}

// fadeLeft is the frames left of the voice's fade-out (fadeSlot).
func (g *graphVoice) fadeLeft() int32 { return g.fade }
