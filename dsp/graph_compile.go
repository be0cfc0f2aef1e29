package dsp

import (
	"math"
	"math/bits"
	"strconv"
)

// MaxSegVals is the most per-control-period values a GraphProgram has (four
// per module at most: a mixer's levels).
const MaxSegVals = 4 * MaxModules

// noBuf marks an audio input that is unconnected or folded into its
// source (see progOp.into).
const noBuf = 0xff

// GraphProgram is a compiled Graph: a flat, topologically ordered list of
// operations with their parameters resolved, indices into a fixed buffer
// file and register file, and the modulation routes grouped by
// destination. It is pointer-free (a plain value of about 3.5 KB), so a synth
// can hold a table of them in its snapshot state and voices can refer to
// one by index. Compile writes it; a GraphRenderer runs it.
type GraphProgram struct {
	name   [24]byte
	valid  bool
	ramp   bool  // an amp's gain is modulated: evaluate the controls at period ends too
	out    uint8 // buffer of the voice output
	nbuf   uint8
	nvals  uint8 // per-period values (GraphVoice.row)
	nops   uint8
	nctl   uint8
	naud   uint8
	nmods  uint8
	nenv   uint8
	namp   uint8
	ctl    [MaxModules]uint8 // control ops (env, lfo, input) in order
	aud    [MaxModules]uint8 // audio ops in order
	ampOps [MaxAmps]uint8    // the amplifiers among them
	ops    [MaxModules]progOp
	mods   [MaxRoutes]progMod
	nfx    uint8 // effects chain stages (fx modules that can change the sound)
	fx     [MaxFx]progFx
	choke  uint8 // Graph.Choke
	once   bool  // Graph.OneShot
	err    GraphError
}

// progFx is one stage of a GraphProgram's effects chain.
type progFx struct {
	kind ModuleKind
	p    [4]float64 // the kind's parameter values
}

// progOp is one module of a GraphProgram.
type progOp struct {
	kind   ModuleKind
	reg    uint8  // control register (the module's index in the graph)
	slot   uint8  // index in the voice's state pool of the kind
	buf    uint8  // output buffer (audio)
	clear  bool   // clear buf before adding into it
	into   bool   // osc or noise adding straight into its mixer's buffer
	val    uint8  // offset of the op's per-period values in the row
	gv     uint8  // offset of its output gain in the row (osc, noise)
	deps   uint16 // control registers its period values depend on
	fused  bool   // filter: run by its amplifier, in the same loop
	filt   uint8  // amp: op index of the filter it runs (fused), or noBuf
	mod0   uint8  // first of its modulation routes in GraphProgram.mods
	nmod   uint8
	pmod   uint8            // bit j: parameter j has modulation routes
	in     [MaxInputs]uint8 // input buffers (noBuf: none, or folded)
	fold   [MaxInputs]uint8 // mix: op index of an input folded into this op's buffer, or noBuf
	inAmt  [MaxInputs]float64
	p      [MaxParams]float64 // parameter values (a filter's cutoff as log2 Hz)
	envCfg ADSRConfig
}

// progMod is a modulation route of a GraphProgram.
type progMod struct {
	src    uint8 // control register
	param  uint8
	op     RouteOp
	amount float64
}

// Valid reports whether p holds a successfully compiled graph.
func (p *GraphProgram) Valid() bool { return p.valid }

// NameString returns the compiled graph's name. Not for the audio thread.
func (p *GraphProgram) NameString() string { return padString(p.name[:]) }

// GraphErrorCode classifies a Compile error.
type GraphErrorCode uint8

// Compile error codes.
const (
	ErrNone           GraphErrorCode = iota
	ErrTooManyModules                // more than MaxModules
	ErrTooManyRoutes                 // more than MaxRoutes
	ErrBadID                         // a module id that is empty or has bad characters
	ErrDuplicateID                   // two modules with one id
	ErrUnknownKind                   // a module kind that does not exist
	ErrUnknownParam                  // a parameter set that the kind does not have
	ErrParamRange                    // a parameter out of range, not finite, or a bad enum value
	ErrKindLimit                     // too many modules of a kind (MaxOscs, MaxFilters, ...)
	ErrNoOut                         // no output module designated
	ErrUnknownOut                    // the output names no module
	ErrOutNotAudio                   // the output module is a control module
	ErrUnknownFrom                   // a route from a module that does not exist
	ErrUnknownTo                     // a route to a module that does not exist
	ErrUnknownPort                   // a route to a port the module does not have
	ErrAmount                        // a route amount out of range or not finite
	ErrBadOp                         // a route operation not allowed there
	ErrAudioToParam                  // an audio output routed to a parameter
	ErrControlToAudio                // a control output routed to an audio input
	ErrNotModulatable                // a route to a fixed parameter
	ErrInputTaken                    // two routes into one audio input
	ErrMissingInput                  // a required audio input left unconnected
	ErrCycle                         // the routes form a cycle
	ErrUnused                        // a module whose output reaches no output
	ErrFxRoute                       // a route from or to an effect (drive, delay)
	ErrFxOut                         // the output module is an effect
	ErrOneShot                       // a one-shot graph whose envelopes do not all decay to 0
)

// GraphError is a Compile error. It is plain data (Compile does not
// allocate, even when it fails); Error formats it.
type GraphError struct {
	Code   GraphErrorCode
	Module int8 // index of the module concerned in Graph.Modules, or -1
	Route  int8 // index of the route concerned in Graph.Routes, or -1
	ID     [16]byte
	Port   [16]byte // port or parameter name
	From   [16]byte // a route's source, or the earlier source of a taken input
	Value  float64
	Min    float64 // the legal range of an ErrParamRange value
	Max    float64
	Limit  int
	NCycle uint8
	Cycle  [MaxModules][16]byte // the modules of a cycle, in route order
}

// Error returns a message naming the module and port, like
// `dsp: route 3 (osc1 -> filt.q): audio output cannot modulate a parameter`.
// Not for the audio thread (it allocates).
func (e *GraphError) Error() string {
	id := strconv.Quote(padString(e.ID[:]))
	port := padString(e.Port[:])
	from := padString(e.From[:])
	val := strconv.FormatFloat(e.Value, 'g', -1, 64)
	route := ""
	if e.Route >= 0 {
		route = "route " + strconv.Itoa(int(e.Route)) + " (" + from + " -> " + padString(e.ID[:]) + "." + port + "): "
	}
	var msg string
	switch e.Code {
	case ErrTooManyModules:
		msg = "more than " + strconv.Itoa(e.Limit) + " modules"
	case ErrTooManyRoutes:
		msg = "more than " + strconv.Itoa(e.Limit) + " routes"
	case ErrBadID:
		msg = "module " + strconv.Itoa(int(e.Module)) + ": bad id " + id + " (1..16 bytes: a letter, then letters, digits, _ or -)"
	case ErrDuplicateID:
		msg = "module " + id + " is defined twice"
	case ErrUnknownKind:
		msg = "module " + id + ": unknown kind " + strconv.Itoa(int(e.Value))
	case ErrUnknownParam:
		msg = "module " + id + ": no parameter " + val
	case ErrParamRange:
		msg = "module " + id + ": " + port + " = " + val + " is out of range " +
			strconv.FormatFloat(e.Min, 'g', -1, 64) + ".." + strconv.FormatFloat(e.Max, 'g', -1, 64)
	case ErrKindLimit:
		what := " modules"
		if e.Limit == 1 {
			what = " module"
		}
		msg = "module " + id + ": more than " + strconv.Itoa(e.Limit) + what + " of its kind"
	case ErrNoOut:
		msg = "no output module (out)"
	case ErrUnknownOut:
		msg = "output " + id + " is not a module"
	case ErrOutNotAudio:
		msg = "output " + id + " is a control module, not audio"
	case ErrUnknownFrom:
		msg = route + "unknown module " + strconv.Quote(from)
	case ErrUnknownTo:
		msg = route + "unknown module " + id
	case ErrUnknownPort:
		msg = route + "module " + id + " has no input or parameter " + strconv.Quote(port)
	case ErrAmount:
		msg = route + "amount " + val + " is out of range (finite, |amount| <= " + strconv.Itoa(maxRouteAmt) + ")"
	case ErrBadOp:
		msg = route + "operation " + strconv.Itoa(int(e.Value)) + " is not allowed here (audio inputs and cutoff take add)"
	case ErrAudioToParam:
		msg = route + "an audio output cannot modulate a parameter"
	case ErrControlToAudio:
		msg = route + "a control output cannot feed an audio input"
	case ErrNotModulatable:
		msg = route + "parameter " + port + " cannot be modulated"
	case ErrInputTaken:
		msg = route + padString(e.ID[:]) + "." + port + " is connected twice (also from " + strconv.Quote(from) + ")"
	case ErrMissingInput:
		msg = "module " + id + ": input " + port + " is not connected"
	case ErrCycle:
		msg = "cycle: "
		for i := 0; i < int(e.NCycle); i++ {
			msg += padString(e.Cycle[i][:]) + " -> "
		}
		msg += padString(e.Cycle[0][:])
	case ErrUnused:
		msg = "module " + id + ": its output reaches no output"
	case ErrFxRoute:
		msg = route + "effect " + strconv.Quote(padString(e.From[:])) + " takes no routes (effects process the patch's summed voices)"
	case ErrFxOut:
		msg = "output " + id + " is an effect, not a voice module"
	case ErrOneShot:
		if e.Module < 0 {
			msg = "one_shot: the graph has no envelope to end its notes"
		} else {
			msg = "one_shot: envelope " + id + " sustains at " + val + " (a one-shot note ends when every envelope has decayed to 0: sustain = 0)"
		}
	default:
		msg = "error " + strconv.Itoa(int(e.Code))
	}
	return "dsp: " + msg
}

// fail records an error and returns it as an error value pointing into
// the GraphProgram (no allocation).
func (p *GraphProgram) fail(code GraphErrorCode, mod, route int) error {
	e := &p.err
	*e = GraphError{Code: code, Module: int8(mod), Route: int8(route)}
	return e
}

// setName copies s into a padded name (no allocation).
func setName(dst *[16]byte, s string) {
	*dst = [16]byte{}
	copy(dst[:], s)
}

// eqName reports whether a padded name equals s.
func eqName(b *[16]byte, s string) bool {
	if len(s) > len(b) {
		return false
	}
	for i := 0; i < len(b); i++ {
		var c byte
		if i < len(s) {
			c = s[i]
		}
		if b[i] != c {
			return false
		}
	}
	return true
}

// portIndex resolves a route's port on kind k: an audio input (isIn) or a
// parameter; -1 when the kind has neither.
func portIndex(k ModuleKind, port *[16]byte) (idx int, isIn bool) {
	in := kindInfos[k].inputs
	for i := range in {
		if eqName(port, in[i]) {
			return i, true
		}
	}
	ps := kindInfos[k].params
	for i := range ps {
		if eqName(port, ps[i].Name) {
			return i, false
		}
	}
	return -1, false
}

// Compile checks g and writes its program into p. It does not allocate,
// so a render thread may call it (with a spare GraphProgram, keeping the
// running one until Compile succeeds). On error p is not runnable
// (Valid is false) and the returned error is a *GraphError that lives in
// p: it stays valid until p is next compiled. Any thread that owns p.
func Compile(g *Graph, p *GraphProgram) error {
	*p = GraphProgram{}
	n, nr := int(g.NModules), int(g.NRoutes)
	if n > MaxModules {
		e := p.fail(ErrTooManyModules, -1, -1)
		p.err.Limit = MaxModules
		return e
	}
	if nr > MaxRoutes {
		e := p.fail(ErrTooManyRoutes, -1, -1)
		p.err.Limit = MaxRoutes
		return e
	}

	// Modules: ids, kinds, parameters, per-kind limits.
	var count [numKinds]int
	for i := 0; i < n; i++ {
		m := &g.Modules[i]
		if !validID(&m.ID) {
			e := p.fail(ErrBadID, i, -1)
			p.err.ID = m.ID
			return e
		}
		for j := 0; j < i; j++ {
			if g.Modules[j].ID == m.ID {
				e := p.fail(ErrDuplicateID, i, -1)
				p.err.ID = m.ID
				return e
			}
		}
		if !m.Kind.Valid() {
			e := p.fail(ErrUnknownKind, i, -1)
			p.err.ID, p.err.Value = m.ID, float64(m.Kind)
			return e
		}
		ki := &kindInfos[m.Kind]
		if extra := m.Set >> uint(len(ki.params)); extra != 0 {
			e := p.fail(ErrUnknownParam, i, -1)
			p.err.ID, p.err.Value = m.ID, float64(len(ki.params)+bits.TrailingZeros16(extra))
			return e
		}
		for k := range ki.params {
			pi := &ki.params[k]
			v := m.Value(k)
			if !(v >= pi.Min && v <= pi.Max) || pi.Enum != nil && v != math.Trunc(v) {
				e := p.fail(ErrParamRange, i, -1)
				p.err.ID, p.err.Value, p.err.Min, p.err.Max = m.ID, v, pi.Min, pi.Max
				setName(&p.err.Port, pi.Name)
				return e
			}
		}
		count[m.Kind]++
		lim, have := 0, 0
		switch m.Kind {
		case KindDrive, KindDelay:
			lim, have = MaxFx, count[KindDrive]+count[KindDelay]
			if m.Kind == KindDelay && count[KindDelay] > MaxFxDelays {
				lim, have = MaxFxDelays, count[KindDelay]
			}
		case KindOsc, KindNoise:
			lim, have = MaxOscs, count[KindOsc]+count[KindNoise]
		case KindFilter:
			lim, have = MaxFilters, count[KindFilter]
		case KindEnv:
			lim, have = MaxEnvs, count[KindEnv]
		case KindLFO:
			lim, have = MaxLFOs, count[KindLFO]
		case KindAmp:
			lim, have = MaxAmps, count[KindAmp]
		}
		if lim > 0 && have > lim {
			e := p.fail(ErrKindLimit, i, -1)
			p.err.ID, p.err.Limit = m.ID, lim
			return e
		}
	}

	// The output.
	if g.Out == ([16]byte{}) {
		return p.fail(ErrNoOut, -1, -1)
	}
	out := g.moduleIndex(&g.Out)
	if out < 0 || out >= n {
		e := p.fail(ErrUnknownOut, -1, -1)
		p.err.ID = g.Out
		return e
	}
	if g.Modules[out].Kind.Fx() {
		e := p.fail(ErrFxOut, out, -1)
		p.err.ID = g.Out
		return e
	}
	if !g.Modules[out].Kind.AudioOut() {
		e := p.fail(ErrOutNotAudio, out, -1)
		p.err.ID = g.Out
		return e
	}

	// Routes: endpoints, ports, types, amounts; the dependency graph.
	var pred [MaxModules]uint16         // bit j: module j feeds module i
	var src [MaxModules][MaxInputs]int8 // audio source of each input, -1 none
	var srcRoute [MaxModules][MaxInputs]int8
	var consumers [MaxModules]int // audio routes out of each module
	for i := range src {
		for k := range src[i] {
			src[i][k], srcRoute[i][k] = -1, -1
		}
	}
	for r := 0; r < nr; r++ {
		rt := &g.Routes[r]
		from := g.moduleIndex(&rt.From)
		to := g.moduleIndex(&rt.To)
		routeErr := func(code GraphErrorCode, mod int) error {
			e := p.fail(code, mod, r)
			p.err.ID, p.err.Port, p.err.From = rt.To, rt.Port, rt.From
			return e
		}
		if from < 0 {
			return routeErr(ErrUnknownFrom, -1)
		}
		if to < 0 {
			return routeErr(ErrUnknownTo, -1)
		}
		fk, tk := g.Modules[from].Kind, g.Modules[to].Kind
		if fk.Fx() || tk.Fx() {
			fxm := to
			if fk.Fx() {
				fxm = from
			}
			e := routeErr(ErrFxRoute, fxm)
			p.err.From = g.Modules[fxm].ID
			return e
		}
		idx, isIn := portIndex(tk, &rt.Port)
		if idx < 0 {
			return routeErr(ErrUnknownPort, to)
		}
		if !(math.Abs(rt.Amount) <= maxRouteAmt) {
			e := routeErr(ErrAmount, to)
			p.err.Value = rt.Amount
			return e
		}
		if rt.Op >= numRouteOps || rt.Op != RouteAdd && (isIn || tk == KindFilter && idx == FilterCutoff) {
			e := routeErr(ErrBadOp, to)
			p.err.Value = float64(rt.Op)
			return e
		}
		if isIn {
			if !fk.AudioOut() {
				return routeErr(ErrControlToAudio, to)
			}
			if s := src[to][idx]; s >= 0 {
				e := routeErr(ErrInputTaken, to)
				p.err.From = g.Modules[s].ID
				return e
			}
			src[to][idx], srcRoute[to][idx] = int8(from), int8(r)
			consumers[from]++
		} else {
			if fk.AudioOut() {
				return routeErr(ErrAudioToParam, to)
			}
			if !kindInfos[tk].params[idx].Mod {
				return routeErr(ErrNotModulatable, to)
			}
		}
		if from == to {
			e := p.fail(ErrCycle, to, r)
			p.err.ID, p.err.NCycle, p.err.Cycle[0] = rt.To, 1, rt.To
			return e
		}
		pred[to] |= 1 << uint(from)
	}

	// Required inputs.
	for i := 0; i < n; i++ {
		m := &g.Modules[i]
		ki := &kindInfos[m.Kind]
		any := false
		for k := range ki.inputs {
			any = any || src[i][k] >= 0
			if ki.req&(1<<uint(k)) != 0 && src[i][k] < 0 {
				e := p.fail(ErrMissingInput, i, -1)
				p.err.ID = m.ID
				setName(&p.err.Port, ki.inputs[k])
				return e
			}
		}
		if m.Kind == KindMix && !any {
			e := p.fail(ErrMissingInput, i, -1)
			p.err.ID = m.ID
			setName(&p.err.Port, ki.inputs[0])
			return e
		}
	}

	// Topological order of the voice modules (Kahn; ties go to the lower
	// index, so the order is deterministic). Effects are no part of it.
	var order [MaxModules]uint8
	var done, fxm uint16
	for i := 0; i < n; i++ {
		if g.Modules[i].Kind.Fx() {
			fxm |= 1 << uint(i)
		}
	}
	done = fxm
	nv := n - bits.OnesCount16(fxm)
	for k := 0; k < nv; k++ {
		pick := -1
		for i := 0; i < n; i++ {
			if done&(1<<uint(i)) == 0 && pred[i]&^done == 0 {
				pick = i
				break
			}
		}
		if pick < 0 {
			return p.cycle(g, &pred, done, n)
		}
		order[k] = uint8(pick)
		done |= 1 << uint(pick)
	}

	// Every voice module must reach the output.
	reach := uint16(1)<<uint(out) | fxm
	for k := nv - 1; k >= 0; k-- {
		if i := order[k]; reach&(1<<uint(i)) != 0 {
			reach |= pred[i]
		}
	}
	for i := 0; i < n; i++ {
		if reach&(1<<uint(i)) == 0 {
			e := p.fail(ErrUnused, i, -1)
			p.err.ID = g.Modules[i].ID
			return e
		}
	}

	// Emit the ops.
	var opOf [MaxModules]uint8
	var bufOf [MaxModules]uint8
	var left [MaxModules]int // consumers not yet emitted
	var free uint16 = 0xffff // free buffers
	var cleared uint16       // buffers that a folded source clears
	alloc := func() uint8 {
		b := uint8(bits.TrailingZeros16(free))
		free &^= 1 << b
		if b+1 > p.nbuf {
			p.nbuf = b + 1
		}
		return b
	}
	for i := range bufOf {
		bufOf[i] = noBuf
	}
	copy(left[:], consumers[:])
	var slots [numKinds]uint8
	for k := 0; k < nv; k++ {
		i := int(order[k])
		m := &g.Modules[i]
		op := &p.ops[k]
		opOf[i] = uint8(k)
		*op = progOp{kind: m.Kind, reg: uint8(i), buf: noBuf, filt: noBuf}
		for j := range op.in {
			op.in[j], op.fold[j], op.inAmt[j] = noBuf, noBuf, 1
		}
		ki := &kindInfos[m.Kind]
		for j := range ki.params {
			op.p[j] = m.Value(j)
		}
		// State pool slot.
		switch m.Kind {
		case KindOsc, KindNoise:
			op.slot = slots[KindOsc]
			slots[KindOsc]++
		default:
			op.slot = slots[m.Kind]
			slots[m.Kind]++
		}
		// Modulation routes: adds first, then muls.
		op.mod0 = p.nmods
		for pass := RouteAdd; pass <= RouteMul; pass++ {
			for r := 0; r < nr; r++ {
				rt := &g.Routes[r]
				if rt.To != m.ID || rt.Op != pass {
					continue
				}
				idx, isIn := portIndex(m.Kind, &rt.Port)
				if isIn {
					continue
				}
				from := g.moduleIndex(&rt.From)
				p.mods[p.nmods] = progMod{src: uint8(from), param: uint8(idx), op: rt.Op, amount: rt.Amount}
				p.nmods++
				op.deps |= 1 << uint(from)
				op.pmod |= 1 << uint(idx)
			}
		}
		op.nmod = p.nmods - op.mod0
		// Per-period values.
		op.val = p.nvals
		switch m.Kind {
		case KindOsc:
			op.gv = op.val + 2
			p.nvals += 3 // inc, pw, gain
		case KindNoise:
			op.gv = op.val
			p.nvals++ // gain
		case KindFilter:
			p.nvals += 2 // log2 cutoff, q
			op.p[FilterCutoff] = math.Log2(op.p[FilterCutoff])
		case KindAmp:
			p.ampOps[op.slot] = uint8(k)
			p.nvals += 2 // start gain, slope
			if op.nmod > 0 {
				p.ramp = true
			}
		case KindMix:
			p.nvals += MaxInputs
		case KindShaper:
			p.nvals++ // gain into the clipper
		case KindEnv:
			op.envCfg = ADSRConfig{Attack: op.p[EnvAttack], Decay: op.p[EnvDecay], Sustain: op.p[EnvSustain],
				Release: op.p[EnvRelease], Curve: Curve(op.p[EnvCurve])}
		}
		if !m.Kind.AudioOut() {
			p.ctl[p.nctl] = uint8(k)
			p.nctl++
			continue
		}
		p.aud[p.naud] = uint8(k)
		p.naud++

		// Buffers.
		for j := range ki.inputs {
			if s := src[i][j]; s >= 0 {
				op.in[j] = bufOf[s]
				op.inAmt[j] = g.Routes[srcRoute[i][j]].Amount
			}
		}
		switch m.Kind {
		case KindOsc, KindNoise:
			// A source whose only consumer is a mixer adds itself into
			// the mixer's buffer, its gain times the mixer's level.
			if consumers[i] == 1 && i != out {
				if mix := consumerOf(&src, i, n); mix >= 0 && g.Modules[mix].Kind == KindMix {
					op.into = true
					if bufOf[mix] == noBuf {
						bufOf[mix] = alloc()
					}
					op.buf = bufOf[mix]
					if cleared&(1<<op.buf) == 0 {
						op.clear = true
						cleared |= 1 << op.buf
					}
					bufOf[i] = op.buf
					continue
				}
			}
			op.buf = alloc()
			op.clear = true
		case KindFilter, KindAmp, KindShaper:
			s := int(src[i][0])
			if consumers[s] == 1 && s != out {
				op.buf = bufOf[s] // in place
				left[s] = 0
			} else {
				op.buf = alloc()
			}
			// An amplifier after an in-place filter that feeds only it
			// runs the filter itself, in one loop (like the hand-written
			// voice); the filter's input gain joins the amplifier's.
			if fo := &p.ops[opOf[s]]; m.Kind == KindAmp && fo.kind == KindFilter && consumers[s] == 1 && fo.buf == fo.in[0] {
				fo.fused = true
				op.filt = opOf[s]
				op.inAmt[0] *= fo.inAmt[0]
			}
		case KindMix:
			if bufOf[i] == noBuf {
				bufOf[i] = alloc()
			}
			op.buf = bufOf[i]
			if cleared&(1<<op.buf) == 0 {
				op.clear = true
			}
			for j := range ki.inputs {
				if s := src[i][j]; s >= 0 && p.ops[opOf[s]].into {
					op.in[j] = noBuf
					op.fold[j] = opOf[s]
				}
			}
			// A folded source's gain is its level times the mixer's: both
			// are recomputed when either's modulation changes.
			for j := range ki.inputs {
				if f := op.fold[j]; f != noBuf {
					op.deps |= p.ops[f].deps
				}
			}
			for j := range ki.inputs {
				if f := op.fold[j]; f != noBuf {
					p.ops[f].deps |= op.deps
				}
			}
		}
		bufOf[i] = op.buf
		// Release the inputs whose last consumer this is.
		for j := range ki.inputs {
			s := src[i][j]
			if s < 0 || p.ops[opOf[s]].into {
				continue
			}
			if left[s] > 0 {
				left[s]--
				if left[s] == 0 && int(s) != out && bufOf[s] != op.buf {
					free |= 1 << bufOf[s]
				}
			}
		}
	}
	p.nops = uint8(nv)
	p.nenv, p.namp = slots[KindEnv], slots[KindAmp]
	p.compileFx(g)
	if g.OneShot {
		if p.nenv == 0 {
			return p.fail(ErrOneShot, -1, -1)
		}
		for i := 0; i < n; i++ {
			if m := &g.Modules[i]; m.Kind == KindEnv && m.Value(EnvSustain) != 0 {
				e := p.fail(ErrOneShot, i, -1)
				p.err.ID, p.err.Value = m.ID, m.Value(EnvSustain)
				setName(&p.err.Port, "sustain")
				return e
			}
		}
	}
	p.once, p.choke = g.OneShot, g.Choke
	p.out = bufOf[out]
	copy(p.name[:], g.Name[:])
	p.valid = true
	return nil
}

// compileFx lists the effects chain: the fx modules in graph order,
// leaving out those that cannot change the sound (a delay with mix 0, a
// drive with mix 0 and level 1), so that such a chain is bypass-exact:
// the patch's voices join the mix exactly as without effects.
func (p *GraphProgram) compileFx(g *Graph) {
	for i := 0; i < int(g.NModules); i++ {
		m := &g.Modules[i]
		if !m.Kind.Fx() {
			continue
		}
		st := progFx{kind: m.Kind}
		for j := range st.p {
			st.p[j] = m.Value(j)
		}
		switch {
		case m.Kind == KindDelay && st.p[DelayMix] == 0,
			m.Kind == KindDrive && st.p[DriveMix] == 0 && st.p[DriveLevel] == 1:
			continue
		}
		p.fx[p.nfx] = st
		p.nfx++
	}
}

// consumerOf returns the first module that takes module s's audio, or -1.
func consumerOf(src *[MaxModules][MaxInputs]int8, s, n int) int {
	for i := 0; i < n; i++ {
		for k := range src[i] {
			if int(src[i][k]) == s {
				return i
			}
		}
	}
	return -1
}

// cycle records the cycle among the modules not yet ordered: from one of
// them, walk to an unordered predecessor until a module repeats.
func (p *GraphProgram) cycle(g *Graph, pred *[MaxModules]uint16, done uint16, n int) error {
	var path [MaxModules + 1]uint8
	var at [MaxModules]int8
	for i := range at {
		at[i] = -1
	}
	x := 0
	for x < n && done&(1<<uint(x)) != 0 {
		x++
	}
	k := 0
	for at[x] < 0 {
		at[x] = int8(k)
		path[k] = uint8(x)
		k++
		x = bits.TrailingZeros16(pred[x] &^ done)
	}
	// path[at[x]:k] walks the cycle backwards (each is fed by the next);
	// it is reported forwards, from its module with the lowest index.
	first := int(at[x])
	low := first
	for j := first; j < k; j++ {
		if path[j] < path[low] {
			low = j
		}
	}
	e := p.fail(ErrCycle, int(path[low]), -1)
	p.err.ID = g.Modules[path[low]].ID
	for j := low; p.err.NCycle < uint8(k-first); {
		p.err.Cycle[p.err.NCycle] = g.Modules[path[j]].ID
		p.err.NCycle++
		if j--; j < first {
			j = k - 1
		}
	}
	return e
}
