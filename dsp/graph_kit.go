package dsp

import (
	"errors"
	"strconv"
	"strings"
)

// Graph kits: a drum kit as data. A kit maps each MIDI key to a compiled
// GraphProgram (or to nothing) and a pan offset; a channel set to play the
// kit starts each note on its key's program. Keys that play the same graph
// with the same parameters share one program, and a kit holds at most
// MaxKitPrograms of them, so that the kit stays a bounded part of the
// pointer-free Synth (each program is a few KB).
//
// Staging. A kit is built on the render thread by small commands, each of
// which fits a 64-byte engine command:
//
//   - StageKitBegin starts a new staged kit (empty: every key silent);
//   - the usual graph staging edits (StagePatch: abort, create, set,
//     connect, disconnect, and PatchAmount, which sets a route's amount
//     in place; PatchOptions for one_shot and choke) build a sound's
//     graph in the staged graph. Between two sounds of one template only
//     the parameters and amounts that differ need an edit (the staged
//     graph stays staged): the GM kit (graphfile kits/drums.toml, 61
//     sounds, 8 templates) is 591 commands;
//   - StageKitSound(out, lo, hi, pan) compiles the staged graph, with
//     output out, into the staged kit (or finds an equal program there
//     already) and maps keys lo..hi to it with pan offset pan;
//   - CommitKit(frame, ch) makes the staged kit the playing one at frame
//     and sets channel ch to play it; SelectKit(frame, ch, on) sets or
//     clears a channel's kit mode later.
//
// LoadKit issues this sequence for a list of sounds (control thread).
//
// The synth keeps two kits: the playing one and the staged one. Notes
// finish on the program they started with, so the kit a commit retires
// still sounds until its notes end; StageKitBegin, which reuses it for
// the next staged kit, fades those notes out (fadeSeconds), and a
// StageKitSound that must overwrite a program one of them still plays
// (the fade not yet over) cuts it. While a commit is pending (before its
// frame) StageKitBegin is refused.
//
// Kit sounds have no effects chain (a sound with an effect is refused:
// the chain belongs to a program instance, see graph_fx.go), ignore pitch
// bend (as the preset kit does), and choke like graph patches: a note
// whose program is in choke group c silences the channel's graph notes,
// kit or not, whose programs are in group c.

// MaxKitPrograms is the number of distinct programs a kit may hold.
const MaxKitPrograms = 64

// kitInstBase is the first graphVoice.inst value of a kit program: inst
// kitInstBase + bank·MaxKitPrograms + program. The instances (below
// graphInstances) keep their numbers; shifts of 1 by a kit inst are 0 in
// the instance masks, which is right: kit programs are no instances.
const kitInstBase = 64

// kitSel is what graphFor returns for a channel that plays the kit: the
// key picks the program (graphNoteOn).
const kitSel = 1 << 10

// Event values of the kit's graphCommit events (instances are >= 0).
const (
	kitEvCommit = -1 // Key: the bank that becomes the playing kit; Channel plays it
	kitEvOn     = -2 // Channel plays the kit
	kitEvOff    = -3 // Channel plays its preset or graph slot again
)

// kitBank is one kit: its programs and the key map.
type kitBank struct {
	progs [MaxKitPrograms]GraphProgram
	n     uint8        // programs in use
	key   [128]uint8   // program+1 each key plays, 0: silent
	pan   [128]float32 // each key's pan offset, -1..1
}

// kitState is the kit part of the graph state.
type kitState struct {
	bank    [2]kitBank
	live    uint8  // bank+1 that plays, 0: none committed yet
	stage   uint8  // bank+1 being staged, 0: no StageKitBegin since the last commit
	pending bool   // a commit is queued
	chans   uint16 // bit ch: channel ch plays the kit
	scratch GraphProgram
	err     KitError
}

// KitErrorCode says why a kit staging command was refused.
type KitErrorCode uint8

// Kit staging errors.
const (
	KitErrNone       KitErrorCode = iota
	KitErrNotStaging              // StageKitSound or CommitKit without StageKitBegin
	KitErrPending                 // StageKitBegin while a commit waits for its frame
	KitErrKeys                    // keys lo..hi not within 0..127 with lo <= hi, or pan not in -1..1
	KitErrCompile                 // the staged graph does not compile (KitError.Graph says why)
	KitErrFx                      // the staged graph has an effects chain
	KitErrFull                    // the kit holds MaxKitPrograms distinct programs already
	KitErrEmpty                   // CommitKit of a kit without sounds
	KitErrChannel                 // a channel out of range
	KitErrQueue                   // the event queue is full
)

var kitErrText = [...]string{
	KitErrNone:       "no error",
	KitErrNotStaging: "no kit is being staged (StageKitBegin first)",
	KitErrPending:    "a kit commit is still pending",
	KitErrKeys:       "bad key range or pan",
	KitErrCompile:    "the sound's graph does not compile",
	KitErrFx:         "a kit sound cannot have effects",
	KitErrFull:       "the kit has " + strconv.Itoa(MaxKitPrograms) + " distinct programs already",
	KitErrEmpty:      "the staged kit has no sounds",
	KitErrChannel:    "channel out of range",
	KitErrQueue:      "the event queue is full",
}

// KitError is why the last kit staging command was refused: a plain
// value (the synth keeps it in its state).
type KitError struct {
	Code  KitErrorCode
	Graph GraphError // the compile error, for KitErrCompile
}

// Error returns "dsp: kit: ...". Not for the audio thread (it allocates).
func (e *KitError) Error() string {
	if e.Code == KitErrCompile {
		return "dsp: kit: " + trimDSP(e.Graph.Error())
	}
	if int(e.Code) < len(kitErrText) {
		return "dsp: kit: " + kitErrText[e.Code]
	}
	return "dsp: kit: error " + strconv.Itoa(int(e.Code))
}

func trimDSP(s string) string { return strings.TrimPrefix(s, "dsp: ") }

// kitRefuse records a refused kit command.
func (s *Synth) kitRefuse(code KitErrorCode) bool {
	s.g.kit.err = KitError{Code: code}
	s.stats.PatchRefused++
	return false
}

// StageKitBegin starts a new staged kit, every key silent. The kit that
// the last commit retired is reused for it: its notes still sounding fade
// out. It returns false (Stats.PatchRefused, LastKitError) while a kit
// commit is pending. Render thread; never allocates.
func (s *Synth) StageKitBegin() bool {
	k := &s.g.kit
	if k.pending {
		return s.kitRefuse(KitErrPending)
	}
	b := 0
	if k.live == 1 {
		b = 1
	}
	s.kitVoices(b, -1, false)
	bk := &k.bank[b]
	bk.n = 0
	bk.key = [128]uint8{}
	bk.pan = [128]float32{}
	k.stage = uint8(b + 1)
	return true
}

// kitVoices fades out (cut false) or cuts the graph voices playing
// program p of bank b (every program when p < 0).
func (s *Synth) kitVoices(b, p int, cut bool) {
	gs := &s.g
	lo, hi := kitInstBase+b*MaxKitPrograms, kitInstBase+(b+1)*MaxKitPrograms
	if p >= 0 {
		lo, hi = lo+p, lo+p+1
	}
	for i := 0; i < gs.ngv+fadeSlots; i++ {
		v := &gs.voices[i]
		if !v.on || int(v.inst) < lo || int(v.inst) >= hi {
			continue
		}
		if cut {
			*v = graphVoice{}
			gs.active[i/64] &^= 1 << uint(i%64)
		} else if !v.done() {
			v.startFade(s.fadeLen)
		}
	}
}

// StageKitSound compiles the staged graph, with module out as its output,
// into the staged kit, or finds an equal program there (same graph and
// parameters: the name does not count), and maps keys lo..hi to it with
// pan offset pan (-1..1, added to the channel's pan). Later sounds may
// map a key again (the last wins). It returns false (Stats.PatchRefused,
// LastKitError) without StageKitBegin, for a bad range or pan, a graph
// that does not compile or has effects, or a kit full of MaxKitPrograms
// programs. The staged graph stays staged. out may point into a reused
// buffer. Render thread; never allocates.
func (s *Synth) StageKitSound(out string, lo, hi uint8, pan float64) bool {
	gs := &s.g
	k := &gs.kit
	if k.stage == 0 {
		return s.kitRefuse(KitErrNotStaging)
	}
	if lo > hi || hi > 127 || !(pan >= -1 && pan <= 1) {
		return s.kitRefuse(KitErrKeys)
	}
	id, ok := id16(out)
	if !ok {
		id = [16]byte{} // Compile reports the missing output
	}
	gs.stage.Out = id
	sc := &k.scratch
	if err := Compile(&gs.stage, sc); err != nil {
		s.kitRefuse(KitErrCompile)
		k.err.Graph = sc.err
		return false
	}
	if sc.nfx > 0 {
		return s.kitRefuse(KitErrFx)
	}
	sc.name = [24]byte{}
	b := int(k.stage) - 1
	bk := &k.bank[b]
	p := -1
	for i := 0; i < int(bk.n); i++ {
		if bk.progs[i] == *sc {
			p = i
			break
		}
	}
	if p < 0 {
		if int(bk.n) >= MaxKitPrograms {
			return s.kitRefuse(KitErrFull)
		}
		p = int(bk.n)
		s.kitVoices(b, p, true)
		bk.progs[p] = *sc
		bk.n++
	}
	for key := int(lo); key <= int(hi); key++ {
		bk.key[key] = uint8(p + 1)
		bk.pan[key] = float32(pan)
	}
	return true
}

// CommitKit queues the staged kit's commit at frame: from then on it is
// the kit that plays, and channel ch plays it. Notes already sounding
// finish on what they started with. A new StageKitBegin is needed before
// the next kit. It returns false (Stats.PatchRefused, LastKitError)
// without a staged kit, for a kit without sounds, a channel out of range
// or a full event queue. Render thread; never allocates.
func (s *Synth) CommitKit(frame uint64, ch uint8) bool {
	k := &s.g.kit
	switch {
	case ch >= Channels:
		return s.kitRefuse(KitErrChannel)
	case k.stage == 0:
		return s.kitRefuse(KitErrNotStaging)
	case k.bank[k.stage-1].n == 0:
		return s.kitRefuse(KitErrEmpty)
	}
	ev := Event{Frame: frame, Kind: graphCommit, Channel: ch, Key: k.stage - 1, Value: kitEvCommit}
	if !s.q.push(ev) {
		s.stats.Dropped++
		return s.kitRefuse(KitErrQueue)
	}
	k.pending, k.stage = true, 0
	return true
}

// SelectKit queues, at frame, channel ch's switch to the kit (on) or back
// to its preset or graph slot (off). While a channel plays the kit, its
// Program and GraphSelect events change what it returns to, not what it
// plays; before any kit is committed it plays as if off. It returns false
// (Stats.PatchRefused) for a channel out of range or a full queue. Render
// thread; never allocates.
func (s *Synth) SelectKit(frame uint64, ch uint8, on bool) bool {
	if ch >= Channels {
		return s.kitRefuse(KitErrChannel)
	}
	v := float64(kitEvOff)
	if on {
		v = kitEvOn
	}
	if !s.q.push(Event{Frame: frame, Kind: graphCommit, Channel: ch, Value: v}) {
		s.stats.Dropped++
		return s.kitRefuse(KitErrQueue)
	}
	return true
}

// applyKit performs a kit event (applyCommit) at its frame.
func (s *Synth) applyKit(ev *Event) {
	k := &s.g.kit
	bit := uint16(1) << (ev.Channel % Channels)
	switch ev.Value {
	case kitEvCommit:
		k.live = ev.Key + 1
		k.pending = false
		k.chans |= bit
	case kitEvOn:
		k.chans |= bit
	case kitEvOff:
		k.chans &^= bit
	}
}

// LastKitError returns why the last refused kit command was refused (ok
// false when none was). Same thread as Render; no allocation (the
// error's text allocates).
func (s *Synth) LastKitError() (KitError, bool) {
	return s.g.kit.err, s.g.kit.err.Code != KitErrNone
}

// ChannelKit reports whether channel ch plays the kit (a kit is committed
// and the channel selects it). Same thread as Render.
func (s *Synth) ChannelKit(ch int) bool {
	k := &s.g.kit
	return ch >= 0 && ch < Channels && k.live != 0 && k.chans&(1<<uint(ch)) != 0
}

// KitPrograms returns the number of distinct programs of the playing kit
// (0 when none is committed). Same thread as Render.
func (s *Synth) KitPrograms() int {
	if k := &s.g.kit; k.live != 0 {
		return int(k.bank[k.live-1].n)
	}
	return 0
}

// kitNote resolves a note of the kit: the voice inst of key's program
// and its pan offset; ok is false when the key plays nothing.
func (gs *graphState) kitNote(key uint8) (inst int, pan float64, ok bool) {
	k := &gs.kit
	b := int(k.live) - 1
	bk := &k.bank[b]
	p := bk.key[key&127]
	if p == 0 {
		return 0, 0, false
	}
	return kitInstBase + b*MaxKitPrograms + int(p) - 1, float64(bk.pan[key&127]), true
}

// prog returns the program a graph voice inst plays: an instance's, or a
// kit program.
func (gs *graphState) prog(inst uint8) *GraphProgram {
	if inst < kitInstBase {
		return &gs.progs[inst]
	}
	i := int(inst) - kitInstBase
	return &gs.kit.bank[i/MaxKitPrograms].progs[i%MaxKitPrograms]
}

// KitSound is one sound of a kit as the control thread hands it to
// LoadKit: a graph (its OneShot and Choke apply per sound), the keys that
// play it and their pan offset.
type KitSound struct {
	Graph Graph
	Keys  [2]uint64 // bit k of Keys[k/64]: key k plays the sound
	Pan   float64   // -1..1, added to the channel's pan
}

// SetKeys adds keys lo..hi to the sound's keys.
func (ks *KitSound) SetKeys(lo, hi uint8) {
	for k := int(lo); k <= int(hi) && k < 128; k++ {
		ks.Keys[k/64] |= 1 << uint(k%64)
	}
}

// HasKey reports whether key plays the sound.
func (ks *KitSound) HasKey(key uint8) bool {
	return key < 128 && ks.Keys[key/64]&(1<<uint(key%64)) != 0
}

// KitStager receives a kit's staging sequence (see StageKit): a Synth
// applies each call (LoadKit); the engine turns each into a worker command.
// A call returns false when it is refused.
type KitStager interface {
	StagePatch(op PatchEdit, module, param string, key uint8, value float64, voice uint16) bool
	StageKitBegin() bool
	StageKitSound(out string, lo, hi uint8, pan float64) bool
	CommitKit(frame uint64, ch uint8) bool
}

// LoadKit stages sounds as a kit into s and commits it at frame for
// channel ch (StageKit), and reports the first refusal with its reason.
// Not for the audio thread (it allocates).
func (s *Synth) LoadKit(sounds []KitSound, frame uint64, ch uint8) (int, error) {
	return StageKit(s, sounds, frame, ch, s.kitErr)
}

// StageKit sends st the staging sequence of sounds as a kit committed at
// frame for channel ch: StageKitBegin, then for each sound the StagePatch
// edits that make the staged graph its graph and a StageKitSound for each
// run of consecutive keys, then CommitKit. The staged graph is rebuilt
// (abort, creates, connects) for the first sound and whenever the modules
// or routes change; between sounds with the same modules and routes only
// the parameters, route amounts (PatchAmount) and options that change are
// sent, so sounds of one template are best given one after another. It
// returns the number of calls, or at the first refusal an error with the
// reason why() gives (why may be nil). Not for the audio thread.
func StageKit(st KitStager, sounds []KitSound, frame uint64, ch uint8, why func() error) (int, error) {
	reason := func() string {
		if why == nil {
			return "refused"
		}
		return strings.TrimPrefix(why().Error(), "dsp: kit: ")
	}
	fail := func(i int, msg string) error {
		return errors.New("dsp: kit: sound " + strconv.Itoa(i) + " (" + sounds[i].Graph.NameString() + "): " + msg)
	}
	n := 1
	if !st.StageKitBegin() {
		return n, errors.New("dsp: kit: " + reason())
	}
	var cur Graph // what the staged graph holds; the first sound rebuilds it
	for i := range sounds {
		sd := &sounds[i]
		c, ok := stageTo(st, &cur, &sd.Graph)
		n += c
		if !ok {
			return n, fail(i, "a staging edit was refused")
		}
		for k := 0; k < 128; {
			if !sd.HasKey(uint8(k)) {
				k++
				continue
			}
			hi := k
			for hi+1 < 128 && sd.HasKey(uint8(hi+1)) {
				hi++
			}
			n++
			if !st.StageKitSound(sd.Graph.OutString(), uint8(k), uint8(hi), sd.Pan) {
				return n, fail(i, reason())
			}
			k = hi + 1
		}
	}
	n++
	if !st.CommitKit(frame, ch) {
		return n, errors.New("dsp: kit: " + reason())
	}
	return n, nil
}

func (s *Synth) kitErr() error {
	e := s.g.kit.err
	return &e
}

// stageTo turns the staged graph cur into want with staging edits: only
// PatchSets when the two have the same modules (ids and kinds, in order)
// and routes, else PatchAbort and the whole graph. It returns the edits
// sent and whether all applied.
func stageTo(st KitStager, cur, want *Graph) (int, bool) {
	n, ok := 0, true
	set := func(module, param string, v float64) {
		n++
		ok = st.StagePatch(PatchSet, module, param, 0, v, 0) && ok
	}
	same := cur.NModules == want.NModules && cur.NRoutes == want.NRoutes
	for i := 0; same && i < int(want.NModules); i++ {
		same = cur.Modules[i].ID == want.Modules[i].ID && cur.Modules[i].Kind == want.Modules[i].Kind
	}
	for r := 0; same && r < int(want.NRoutes); r++ {
		a, b := &cur.Routes[r], &want.Routes[r]
		same = a.From == b.From && a.To == b.To && a.Port == b.Port && a.Op == b.Op
	}
	if same {
		// Amounts that differ: PatchAmount sets every route of the
		// same ends, so each pair of ends needs one edit (when all of
		// them want the same amount; else rebuild).
		for r := 0; same && r < int(want.NRoutes); r++ {
			a, b := &cur.Routes[r], &want.Routes[r]
			if a.Amount == b.Amount {
				continue
			}
			for q := 0; q < int(want.NRoutes); q++ {
				if c := &want.Routes[q]; c.From == b.From && c.To == b.To && c.Port == b.Port && c.Amount != b.Amount {
					same = false
				}
			}
			if !same {
				break
			}
			to := want.moduleIndex(&b.To)
			if to < 0 {
				same = false
				break
			}
			port := want.Modules[to].Kind.PortIndex(padString(b.Port[:]))
			n++
			ok = st.StagePatch(PatchAmount, padString(b.From[:]), padString(b.To[:]), uint8(port), b.Amount, 0) && ok
			for q := 0; q < int(cur.NRoutes); q++ {
				if c := &cur.Routes[q]; c.From == b.From && c.To == b.To && c.Port == b.Port {
					c.Amount = b.Amount
				}
			}
		}
	}
	if !same {
		n++
		ok = st.StagePatch(PatchAbort, "", "", 0, 0, 0)
		*cur = Graph{}
		for i := 0; i < int(want.NModules); i++ {
			m := &want.Modules[i]
			n++
			ok = st.StagePatch(PatchCreate, m.IDString(), m.Kind.String(), 0, 0, 0) && ok
			cur.Modules[i] = Module{ID: m.ID, Kind: m.Kind}
		}
		for r := 0; r < int(want.NRoutes); r++ {
			rt := &want.Routes[r]
			to := want.moduleIndex(&rt.To)
			port := -1
			if to >= 0 {
				port = want.Modules[to].Kind.PortIndex(padString(rt.Port[:]))
			}
			n++
			ok = port >= 0 && st.StagePatch(PatchConnect, padString(rt.From[:]), padString(rt.To[:]), uint8(port), rt.Amount, uint16(rt.Op)) && ok
		}
	}
	for i := 0; i < int(want.NModules); i++ {
		m, c := &want.Modules[i], &cur.Modules[i]
		for p := 0; p < m.Kind.NumParams(); p++ {
			if w := m.Value(p); w != c.Value(p) {
				set(m.IDString(), m.Kind.Param(p).Name, w)
			}
		}
	}
	if cur.OneShot != want.OneShot {
		set(PatchOptions, OptionOneShot, float64(b2i(want.OneShot)))
	}
	if cur.Choke != want.Choke {
		set(PatchOptions, OptionChoke, float64(want.Choke))
	}
	*cur = *want // what the staged graph now holds, for the next sound
	return n, ok
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
