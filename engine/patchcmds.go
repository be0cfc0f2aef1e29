package engine

import (
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/chronus-audio/chronus/dsp"
	"github.com/chronus-audio/chronus/engine/proto"
)

// GraphCommands appends to dst the worker commands that send the whole of
// g and commit it into graph slot slot (0..15) for channel channel, and
// returns the extended slice: patch-abort, one patch-create per module,
// one patch-set per parameter whose Set bit is on (choice parameters by
// index), one patch-connect per route (Key = the destination port number,
// see dsp.ModuleKind.PortIndex; Voice = the dsp.RouteOp), then
// patch-commit with g.Out as the output. That is 2 + modules + set
// parameters + routes commands, then a patch-set on module
// dsp.PatchOptions for each patch option that is on (one_shot, choke), at
// most 2+16+128+32+2 = 180.
//
// The commands carry Frame 0 (as soon as possible) and no flags, sequence
// numbers or commit ticket: the caller sends them in order, unchanged, so
// that a worker that joins later replays the same sequence. To learn
// whether the synth took the commit, set the last command's Voice to a
// NewCommitTicket before sending and call Engine.ConfirmCommit. It fails when a name
// does not fit a command field or a route names a module or port the
// graph does not have; it does not compile g (call dsp.Compile first to
// report why a graph would be refused; the workers refuse an invalid graph
// at the commit and the channel keeps what it played). On error dst is
// returned unextended. Control goroutines only (it may allocate).
func GraphCommands(g *dsp.Graph, slot, channel uint8, dst []proto.Command) ([]proto.Command, error) {
	if slot >= dsp.GraphSlots {
		return dst, errors.New("engine: graph slot " + strconv.Itoa(int(slot)) + " out of range 0.." + strconv.Itoa(dsp.GraphSlots-1))
	}
	if channel > proto.MaxChannel {
		return dst, errors.New("engine: channel " + strconv.Itoa(int(channel)) + " out of range 0..15")
	}
	n, nr := int(g.NModules), int(g.NRoutes)
	if n > dsp.MaxModules || nr > dsp.MaxRoutes {
		return dst, errors.New("engine: graph has too many modules or routes")
	}
	out := dst
	out = append(out, proto.Command{Op: proto.OpPatchAbort})
	for i := 0; i < n; i++ {
		m := &g.Modules[i]
		id := m.IDString()
		c := proto.Command{Op: proto.OpPatchCreate}
		if err := c.SetModule(id); err != nil || id == "" {
			return dst, errors.New("engine: module " + strconv.Quote(id) + ": bad id")
		}
		if !m.Kind.Valid() {
			return dst, errors.New("engine: module " + id + ": unknown kind " + m.Kind.String())
		}
		_ = c.SetParam(m.Kind.String()) // kind names are short ASCII
		out = append(out, c)
	}
	for i := 0; i < n; i++ {
		m := &g.Modules[i]
		for p := 0; p < dsp.MaxParams; p++ {
			if m.Set&(1<<uint(p)) == 0 {
				continue
			}
			if p >= m.Kind.NumParams() {
				return dst, errors.New("engine: module " + m.IDString() + ": parameter " + strconv.Itoa(p) + " set but the kind has none")
			}
			c := proto.Command{Op: proto.OpPatchSet, Value: m.Param[p]}
			_ = c.SetModule(m.IDString())
			if err := c.SetParam(m.Kind.Param(p).Name); err != nil {
				return dst, errors.New("engine: module " + m.IDString() + ": " + err.Error())
			}
			out = append(out, c)
		}
	}
	for r := 0; r < nr; r++ {
		rt := &g.Routes[r]
		to := g.ModuleIndex(padded(rt.To[:]))
		from := g.ModuleIndex(padded(rt.From[:]))
		desc := padded(rt.From[:]) + " -> " + padded(rt.To[:]) + "." + padded(rt.Port[:])
		if from < 0 || to < 0 {
			return dst, errors.New("engine: route " + desc + ": unknown module")
		}
		port := g.Modules[to].Kind.PortIndex(padded(rt.Port[:]))
		if port < 0 || port > proto.MaxKey {
			return dst, errors.New("engine: route " + desc + ": unknown port")
		}
		c := proto.Command{Op: proto.OpPatchConnect, Key: uint8(port), Value: rt.Amount, Voice: uint16(rt.Op)}
		_ = c.SetModule(padded(rt.From[:]))
		_ = c.SetParam(padded(rt.To[:]))
		out = append(out, c)
	}
	// Patch-level options are staged on the pseudo-module dsp.PatchOptions.
	opt := func(name string, v float64) {
		c := proto.Command{Op: proto.OpPatchSet, Value: v}
		_ = c.SetModule(dsp.PatchOptions) // short ASCII names: they fit
		_ = c.SetParam(name)
		out = append(out, c)
	}
	if g.OneShot {
		opt(dsp.OptionOneShot, 1)
	}
	if g.Choke != 0 {
		opt(dsp.OptionChoke, float64(g.Choke))
	}
	c := proto.Command{Op: proto.OpPatchCommit, Key: slot, Channel: channel}
	if err := c.SetModule(g.OutString()); err != nil || g.OutString() == "" {
		return dst, errors.New("engine: the graph has no valid output module")
	}
	out = append(out, c)
	for i := len(dst); i < len(out); i++ {
		if err := out[i].Validate(); err != nil {
			return dst, errors.New("engine: " + out[i].Op.String() + " " + out[i].ModuleString() + ": " + err.Error())
		}
	}
	return out, nil
}

// padded returns a NUL-padded name without its padding.
func padded(b []byte) string {
	n := 0
	for n < len(b) && b[n] != 0 {
		n++
	}
	return string(b[:n])
}

// Commit outcomes. A commit is the one patch command the synth can refuse
// after the engine accepted it (dsp.Synth.CommitPatch), and whether it
// does depends on audio-time state (which program instances notes still
// play), so only a worker can tell. A patch-commit whose Voice holds a
// ticket (NewCommitTicket) makes every worker that reads it publish the
// outcome under that ticket in its shared-memory header; the supervisor
// reads it from whichever worker has it (they all apply the same commands
// in the same order, so any one's outcome is the outcome) and answers
// ConfirmCommit.
//
// Header layout, after shm.go's control words (lines 0..25): a ring of
// commitLogLen outcome words indexed by ticket, then the compile error of
// the last commit refused as invalid, guarded by its ticket.
const (
	commitLogLen       = 64 // outcome words, one per ticket mod commitLogLen
	offCommitLog       = 32 * line
	offCommitErrTicket = offCommitLog + commitLogLen*8
	offCommitErr       = offCommitErrTicket + line
)

// The compile error must fit in the header.
var _ [headerSize - offCommitErr - int(unsafe.Sizeof(dsp.GraphError{}))]struct{}

// Outcome codes of an outcome word: ticket | code<<16.
const (
	commitTaken      = 1 // the synth took the commit
	commitParked     = 2 // took it; it waits for a program instance (dsp.Synth.GraphParked)
	commitNoInstance = 3 // refused: no program instance free and one commit already parked
	commitInvalid    = 4 // refused: the staged graph does not compile
	commitQueueFull  = 5 // refused: the synth's event queue is full
	commitBadTarget  = 6 // refused: slot or channel out of range
)

var commitTickets atomic.Uint32

// NewCommitTicket returns a ticket for a patch-commit's Voice field: never
// 0, and different from the 65534 tickets before it. Any goroutine.
func NewCommitTicket() uint16 {
	for {
		if t := uint16(commitTickets.Add(1)); t != 0 {
			return t
		}
	}
}

func commitEntry(ticket uint16) int { return offCommitLog + int(ticket%commitLogLen)*8 }

// applyCommit hands the decoded patch-commit in w.cmd to the synth and, if
// it carries a ticket, publishes the outcome. Render thread only: it never
// allocates (the compile error is copied by value).
func (w *worker) applyCommit() {
	s := w.synth
	before := s.Stats()
	parked := s.GraphParked()
	full := parked && s.FreeGraphInstances() == 0
	w.params.apply(s, &w.cmd, w.base)
	t := w.cmd.Voice
	if t == 0 {
		return
	}
	after := s.Stats()
	out := uint64(commitTaken)
	switch {
	case after.PatchRefused != before.PatchRefused:
		switch {
		case w.cmd.Key >= dsp.GraphSlots || w.cmd.Channel >= dsp.Channels:
			out = commitBadTarget
		case full:
			out = commitNoInstance
		default:
			out = commitInvalid
			ge, _ := s.LastPatchError()
			tk := w.r.u64(offCommitErrTicket)
			tk.Store(0) // a reader that sees 0 or another ticket ignores the copy
			*(*dsp.GraphError)(unsafe.Pointer(&w.r.mem[offCommitErr])) = ge
			tk.Store(uint64(t))
		}
	case after.Dropped != before.Dropped:
		out = commitQueueFull
	case !parked && s.GraphParked():
		out = commitParked
	}
	w.r.u64(commitEntry(t)).Store(uint64(t) | out<<16)
}

// CommitReason says why the synth refused a commit.
type CommitReason uint8

// Why a commit was refused.
const (
	// CommitNoInstance: every compiled-program instance was named by a
	// graph slot or by notes still sounding on a program replaced since,
	// and one commit already waited for an instance to free up.
	CommitNoInstance CommitReason = iota + 1
	// CommitInvalid: the graph the synth had staged did not compile
	// (CommitError.Graph says why): staging edits were lost or refused on
	// the way, since GraphCommands sends only what the caller compiled.
	CommitInvalid
	// CommitQueueFull: the synth's event queue was full.
	CommitQueueFull
	// CommitBadTarget: the slot or the channel is out of range.
	CommitBadTarget
)

// CommitError is a commit the synth refused: its slot and its channel
// keep what they played.
type CommitError struct {
	Slot, Channel uint8 // the commit's slot and channel (0-based)
	Reason        CommitReason
	Graph         dsp.GraphError // the compile error, for CommitInvalid
}

func (e *CommitError) Error() string {
	msg := "engine: the synth refused the commit into graph slot " + strconv.Itoa(int(e.Slot)) + ": "
	switch e.Reason {
	case CommitNoInstance:
		return msg + "every program instance is in use (graph slots, and notes still sounding on replaced graphs) and another commit already waits for one; commit again once notes have ended"
	case CommitInvalid:
		if e.Graph.Code == dsp.ErrNone {
			return msg + "the graph it staged does not compile"
		}
		return msg + "the graph it staged does not compile: " + strings.TrimPrefix(e.Graph.Error(), "dsp: ")
	case CommitQueueFull:
		return msg + "its event queue is full"
	case CommitBadTarget:
		return msg + "slot or channel out of range"
	}
	return msg + "reason " + strconv.Itoa(int(e.Reason))
}

// ErrCommitUnconfirmed: no worker reported the commit's outcome within
// the time allowed (the audio callback is not running, or every worker
// was lost before it read the commit). The synth may still take it.
var ErrCommitUnconfirmed = errors.New("engine: no worker confirmed the commit in time")

// commitMemory is how long the supervisor keeps waiting for an outcome
// after ConfirmCommit gave up, so that a late commit still reaches the
// graphs a cold restart restores.
const commitMemory = 10 * time.Second

// commitWait is one ConfirmCommit waiting for the workers' verdict.
// Supervisor only, once sent.
type commitWait struct {
	ticket uint16
	burst  []proto.Command
	reply  chan error // buffered: the supervisor never blocks on it
	until  time.Time  // when the supervisor forgets it
}

// ConfirmCommit waits up to timeout until a worker has read the commit
// that ends burst (commands already sent with Send: a GraphCommands
// sequence whose patch-commit carries a NewCommitTicket in Voice) and
// returns nil when the synth took it, a *CommitError saying why it
// refused it, or ErrCommitUnconfirmed. The synth decides when it reads the
// command, which is soon after Send even for a commit scheduled at a later
// frame. A taken burst is kept: fresh workers of a cold restart start
// with the last graph taken into every slot (see KeepPatch). Normal
// goroutines only.
func (e *Engine) ConfirmCommit(burst []proto.Command, timeout time.Duration) error {
	n := len(burst)
	if n == 0 || burst[n-1].Op != proto.OpPatchCommit || burst[n-1].Voice == 0 {
		return errors.New("engine: ConfirmCommit needs commands ending in a patch-commit with a ticket")
	}
	w := &commitWait{ticket: burst[n-1].Voice, burst: append([]proto.Command(nil), burst...),
		reply: make(chan error, 1), until: time.Now().Add(max(timeout, commitMemory))}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case e.events <- supEvent{kind: evCommit, commit: w}:
	case <-e.supDone:
		return ErrCommitUnconfirmed
	case <-t.C:
		return ErrCommitUnconfirmed
	}
	select {
	case err := <-w.reply:
		return err
	case <-e.supDone:
		return ErrCommitUnconfirmed
	case <-t.C:
		return ErrCommitUnconfirmed
	}
}

// KeepPatch tells the engine about patch commands sent with Send:
// patch-select (a channel's graph slot or preset), patch-program (a
// program's slot), a whole kit burst (kit-begin ... kit-commit, as
// KitCommands makes it) and kit-select. Together with the graphs
// ConfirmCommit saw taken, the engine replays them into the fresh workers
// of a cold restart before they play, so that a restart loses held notes
// but not the instrument's patches. Other commands are ignored. Normal
// goroutines only.
func (e *Engine) KeepPatch(cmds ...proto.Command) {
	keep := make([]proto.Command, 0, len(cmds))
	inKit := false
	for _, c := range cmds {
		switch {
		case c.Op == proto.OpKitBegin:
			inKit = true
			keep = append(keep, c)
		case inKit:
			keep = append(keep, c)
			inKit = c.Op != proto.OpKitCommit
		case c.Op == proto.OpPatchSelect || c.Op == proto.OpPatchProgram || c.Op == proto.OpKitSelect:
			keep = append(keep, c)
		}
	}
	if len(keep) == 0 {
		return
	}
	select {
	case e.events <- supEvent{kind: evKeep, keep: keep}:
	case <-e.supDone:
	}
}

// onPatch handles ConfirmCommit and KeepPatch. Supervisor only.
func (e *Engine) onPatch(s *supState, ev supEvent) {
	if ev.kind == evKeep {
		s.kept.keep(ev.keep)
		return
	}
	s.commits = append(s.commits, ev.commit)
	e.checkCommits(s)
}

// checkCommits answers the ConfirmCommit calls whose outcome a worker has
// published, and forgets those waited for too long. Supervisor only (it
// reads worker regions, which only the supervisor unmaps).
func (e *Engine) checkCommits(s *supState) {
	if len(s.commits) == 0 {
		return
	}
	now := time.Now()
	left := s.commits[:0]
	for _, c := range s.commits {
		if err, ok := e.commitOutcome(c.ticket); ok {
			if err == nil {
				s.kept.keep(c.burst)
			} else if ce, isCE := err.(*CommitError); isCE {
				last := &c.burst[len(c.burst)-1]
				ce.Slot, ce.Channel = last.Key, last.Channel
			}
			c.reply <- err
			continue
		}
		if now.Before(c.until) {
			left = append(left, c)
		}
	}
	clear(s.commits[len(left):])
	s.commits = left
}

// commitOutcome looks for ticket's outcome in every worker's header: nil
// when the synth took the commit, a *CommitError when it refused it; ok
// false when no worker has read it yet. Supervisor only.
func (e *Engine) commitOutcome(ticket uint16) (err error, ok bool) {
	for i := range e.slots {
		w := e.slots[i].Load()
		if w == nil {
			continue
		}
		r := w.reg
		v := r.u64(commitEntry(ticket)).Load()
		if uint16(v) != ticket || v>>16 == 0 {
			continue
		}
		switch v >> 16 {
		case commitTaken, commitParked:
			return nil, true
		case commitNoInstance:
			return &CommitError{Reason: CommitNoInstance}, true
		case commitQueueFull:
			return &CommitError{Reason: CommitQueueFull}, true
		case commitBadTarget:
			return &CommitError{Reason: CommitBadTarget}, true
		}
		ce := &CommitError{Reason: CommitInvalid}
		// The worker overwrites the error only for a later refused
		// commit: a copy taken between two equal ticket reads is whole.
		tk := r.u64(offCommitErrTicket)
		if tk.Load() == uint64(ticket) {
			ge := *(*dsp.GraphError)(unsafe.Pointer(&r.mem[offCommitErr]))
			if tk.Load() == uint64(ticket) {
				ce.Graph = ge
			}
		}
		return ce, true
	}
	return nil, false
}

// patchJournal is what a cold restart restores: the last graph burst
// taken into each slot, each channel's last selection and each program's
// binding. Supervisor only.
type patchJournal struct {
	slots   [dsp.GraphSlots][]proto.Command
	chans   [proto.MaxChannel + 1]proto.Command // patch-select, Op 0 = none
	progs   [proto.MaxKey + 1]proto.Command     // patch-program, Op 0 = none
	kit     []proto.Command                     // the last kit burst
	kitChan [proto.MaxChannel + 1]proto.Command // kit-select, Op 0 = none
}

// keep records cmds: bursts (patch-abort ... patch-commit, as ConfirmCommit
// passes them), patch-select and patch-program.
func (j *patchJournal) keep(cmds []proto.Command) {
	for i := 0; i < len(cmds); i++ {
		c := cmds[i]
		switch c.Op {
		case proto.OpPatchAbort:
			end := i + 1
			for end < len(cmds) && cmds[end].Op >= proto.OpPatchCreate && cmds[end].Op <= proto.OpPatchSet {
				end++
			}
			if end == len(cmds) || cmds[end].Op != proto.OpPatchCommit || cmds[end].Key >= dsp.GraphSlots {
				continue // not a whole burst: it restores nothing
			}
			commit := cmds[end]
			burst := append([]proto.Command(nil), cmds[i:end+1]...)
			burst[len(burst)-1].Voice = 0 // a replay publishes no outcome
			j.slots[commit.Key] = burst
			// The commit makes its channel play the slot, at its frame.
			j.chans[commit.Channel] = proto.Command{Op: proto.OpPatchSelect, Channel: commit.Channel,
				Key: commit.Key, Frame: commit.Frame, Flags: commit.Flags & proto.FlagAbsolute}
			i = end
		case proto.OpKitBegin:
			end := i + 1
			for end < len(cmds) && cmds[end].Op != proto.OpKitCommit && cmds[end].Op != proto.OpKitBegin {
				end++
			}
			if end == len(cmds) || cmds[end].Op != proto.OpKitCommit {
				continue // not a whole burst
			}
			commit := cmds[end]
			j.kit = append([]proto.Command(nil), cmds[i:end+1]...)
			j.kitChan[commit.Channel&proto.MaxChannel] = proto.Command{Op: proto.OpKitSelect, Channel: commit.Channel,
				Value: 1, Frame: commit.Frame, Flags: commit.Flags & proto.FlagAbsolute}
			i = end
		case proto.OpKitSelect:
			j.kitChan[c.Channel&proto.MaxChannel] = c
		case proto.OpPatchSelect:
			j.chans[c.Channel&proto.MaxChannel] = c
		case proto.OpPatchProgram:
			if c.Value == 0 {
				j.progs[c.Key&proto.MaxKey] = proto.Command{} // unbound
			} else {
				j.progs[c.Key&proto.MaxKey] = c
			}
		}
	}
}

// commands returns what a fresh synth needs to play the kept patches: the
// graph bursts slot by slot, the program bindings, the channel selections
// (after the bursts, whose commits moved channels too), the kit burst and
// the channels' kit selections, and an abort that leaves nothing staged,
// as in a fresh synth. Each carries seq and an absolute frame: its own
// when it is still ahead of frame, else frame. At most 16 bursts of 180
// commands, a kit of about 600 (the shipped GM kit: 591) and 161 more: it
// fits a worker's command ring with room for the replay of a cold restart.
func (j *patchJournal) commands(frame uint64, seq uint32) []proto.Command {
	var out []proto.Command
	add := func(c proto.Command) {
		if c.Flags&proto.FlagAbsolute == 0 || c.Frame < frame {
			c.Frame = frame
		}
		c.Flags |= proto.FlagAbsolute
		c.Seq = seq
		out = append(out, c)
	}
	for _, b := range j.slots {
		for _, c := range b {
			add(c)
		}
	}
	for _, c := range j.progs {
		if c.Op != 0 {
			add(c)
		}
	}
	for _, c := range j.chans {
		if c.Op != 0 {
			add(c)
		}
	}
	for _, c := range j.kit {
		add(c)
	}
	for _, c := range j.kitChan {
		if c.Op != 0 {
			add(c)
		}
	}
	if len(out) > 0 {
		add(proto.Command{Op: proto.OpPatchAbort})
	}
	return out
}

// graphs counts the slots the journal restores.
func (j *patchJournal) graphs() int {
	n := 0
	for _, b := range j.slots {
		if b != nil {
			n++
		}
	}
	return n
}

// MaxKitCommands bounds a kit burst (KitCommands): with 16 graph bursts it
// must fit the part of a worker's command ring that a cold restart's
// replay leaves free (see patchJournal.commands). The shipped GM kit takes
// 591.
const MaxKitCommands = 1024

// The kept patches always fit beside the replay of a cold restart.
var _ [cmdSlots - coldReplay - (dsp.GraphSlots*180 + MaxKitCommands + 2*(proto.MaxChannel+1) + proto.MaxKey + 2)]struct{}

// KitCommands appends to dst the worker commands that stage sounds as a
// kit and commit it for channel channel (dsp.StageKit's sequence: kit-begin,
// patch edits, kit-sound per run of keys, kit-commit), and returns the
// extended slice. Like GraphCommands the commands carry Frame 0 and no
// sequence numbers: send them in order, unchanged, and pass them to
// KeepPatch so that a cold restart restores the kit. It fails when a name
// does not fit a command or the burst would exceed MaxKitCommands; dst is
// then returned unextended. The workers refuse what dsp refuses (more than
// dsp.MaxKitPrograms programs, a sound with effects) and keep the kit they
// had. Control goroutines only (it allocates).
func KitCommands(sounds []dsp.KitSound, channel uint8, dst []proto.Command) ([]proto.Command, error) {
	if channel > proto.MaxChannel {
		return dst, errors.New("engine: channel " + strconv.Itoa(int(channel)) + " out of range 0..15")
	}
	k := &kitCmds{out: dst}
	if _, err := dsp.StageKit(k, sounds, 0, channel, k.failure); err != nil {
		return dst, errors.New("engine: " + strings.TrimPrefix(err.Error(), "dsp: "))
	}
	if n := len(k.out) - len(dst); n > MaxKitCommands {
		return dst, errors.New("engine: the kit takes " + strconv.Itoa(n) + " commands, more than " + strconv.Itoa(MaxKitCommands) +
			": give sounds of one template one after another, or use fewer sounds")
	}
	return k.out, nil
}

// kitCmds turns dsp.StageKit's calls into worker commands.
type kitCmds struct {
	out []proto.Command
	err error
}

func (k *kitCmds) failure() error { return k.err }

// add appends c with its names, or records why it cannot.
func (k *kitCmds) add(c proto.Command, module, param string) bool {
	if module != "" {
		if err := c.SetModule(module); err != nil {
			k.err = errors.New("dsp: kit: " + module + ": " + err.Error())
			return false
		}
	}
	if param != "" {
		if err := c.SetParam(param); err != nil {
			k.err = errors.New("dsp: kit: " + param + ": " + err.Error())
			return false
		}
	}
	if err := c.Validate(); err != nil {
		k.err = errors.New("dsp: kit: " + c.Op.String() + ": " + err.Error())
		return false
	}
	k.out = append(k.out, c)
	return true
}

// StagePatch implements dsp.KitStager.
func (k *kitCmds) StagePatch(op dsp.PatchEdit, module, param string, key uint8, value float64, voice uint16) bool {
	for o, e := range patchEdits {
		if e == op && e != 0 {
			return k.add(proto.Command{Op: proto.Op(o), Key: key, Value: value, Voice: voice}, module, param)
		}
	}
	k.err = errors.New("dsp: kit: a staging edit with no command")
	return false
}

// StageKitBegin implements dsp.KitStager.
func (k *kitCmds) StageKitBegin() bool { return k.add(proto.Command{Op: proto.OpKitBegin}, "", "") }

// StageKitSound implements dsp.KitStager.
func (k *kitCmds) StageKitSound(out string, lo, hi uint8, pan float64) bool {
	return k.add(proto.Command{Op: proto.OpKitSound, Key: lo, Voice: uint16(hi), Value: pan}, out, "")
}

// CommitKit implements dsp.KitStager.
func (k *kitCmds) CommitKit(_ uint64, ch uint8) bool {
	return k.add(proto.Command{Op: proto.OpKitCommit, Channel: ch}, "", "")
}
