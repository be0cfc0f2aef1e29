package main

// Live patching: the library of graph patches (shipped and user files),
// the 16 graph slots of the synth, and the /patch/... OSC addresses that
// edit a staged graph and commit it to a channel. Everything here runs on
// the player's dispatch goroutine (startup runs before it starts), so
// nothing is locked.

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/chronus-audio/chronus/controllers"
	"github.com/chronus-audio/chronus/controllers/osc"
	"github.com/chronus-audio/chronus/dsp"
	"github.com/chronus-audio/chronus/dsp/graphfile"
	"github.com/chronus-audio/chronus/engine"
	"github.com/chronus-audio/chronus/engine/proto"
)

// graphSlots is the number of graph slots of the synth (OpPatchCommit's
// Key 0..15).
const graphSlots = dsp.GraphSlots

// commitWait bounds how long a commit waits for the synth's verdict. The
// workers read a command within a device buffer or two of its sending;
// a second means the audio has stopped.
const commitWait = time.Second

// maxPatchName bounds a patch name: the graph's name field holds it whole.
const maxPatchName = len(dsp.Graph{}.Name)

// libPatch is one patch of the library.
type libPatch struct {
	name  string // the file name without .toml: what /patch/load and maps name
	file  string // where it was read, for logs
	user  bool   // from the user directory
	patch graphfile.Patch
}

// graphSlot is what cmd knows of one graph slot of the synth.
type graphSlot struct {
	used    bool
	lib     string    // the library patch it holds, or "" for a live commit
	graph   dsp.Graph // what was committed into it
	program int       // the MIDI program bound to it, or graphfile.NoProgram
}

// patchHost is the player's patch state.
type patchHost struct {
	log   zerolog.Logger
	dir   string // <config>/patches
	send  func(proto.Command) error
	reply func(ev *controllers.Event, m *osc.Message)
	// confirm waits for the synth's verdict on a sent burst whose commit
	// carries a ticket (engine.Engine.ConfirmCommit); keep tells the
	// engine about sent selections and program bindings, which a cold
	// restart restores (engine.Engine.KeepPatch); frameAt turns an OSC
	// bundle's time into the output frame that plays then. newPatchHost
	// sets stand-ins (every commit taken, nothing kept, no frames);
	// startPatches wires the engine and the player.
	confirm func(burst []proto.Command) error
	keep    func(cmds ...proto.Command)
	frameAt func(time.Time) uint64
	// retry is how long a command refused with engine.ErrBusy is retried.
	retry time.Duration

	lib    map[string]*libPatch
	kits   map[string]*graphfile.Kit // drum kits, loaded with /patch/load
	staged dsp.Graph                 // one staged graph per instrument
	slots  [graphSlots]graphSlot
	// chSlot is the slot each channel plays as far as cmd sent it, or -1
	// for its preset. A MIDI program change can move a channel to a
	// program-bound slot without cmd knowing; those slots are never
	// reused, so the guess can only be stale in a harmless direction.
	chSlot [16]int8
	cmds   []proto.Command
}

// patchDir is the user's patch directory.
func patchDir(configDir string) string { return filepath.Join(configDir, "patches") }

func newPatchHost(log zerolog.Logger, dir string, send func(proto.Command) error, reply func(*controllers.Event, *osc.Message)) *patchHost {
	h := &patchHost{log: log, dir: dir, send: send, reply: reply, retry: 200 * time.Millisecond,
		confirm: func([]proto.Command) error { return nil }, keep: func(...proto.Command) {},
		lib: map[string]*libPatch{}, kits: map[string]*graphfile.Kit{}, cmds: make([]proto.Command, 0, 256)}
	for i := range h.chSlot {
		h.chSlot[i] = -1
	}
	for i := range h.slots {
		h.slots[i].program = graphfile.NoProgram
	}
	return h
}

// loadLibrary reads the shipped patches (the examples, "patches/*.toml" in
// shipped, and the presets' graph forms, "presets/*.toml") and then the
// user's (dir/*.toml), which replace shipped ones of the same name. A broken file is logged in one line ("file:line:col: ...") and
// left out.
func (h *patchHost) loadLibrary(shipped fs.FS) {
	if shipped != nil {
		// The examples, then the graph forms of the presets.
		examples, _ := fs.Glob(shipped, "patches/*.toml")
		presets, _ := fs.Glob(shipped, "presets/*.toml")
		for _, n := range append(examples, presets...) {
			src, err := fs.ReadFile(shipped, n)
			if err == nil {
				h.addFile(n, src, false)
			}
		}
	}
	entries, err := os.ReadDir(h.dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		h.log.Warn().Err(err).Str("dir", h.dir).Msg("The user patch directory could not be read; only the shipped patches are loaded.")
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".toml") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		file := filepath.Join(h.dir, e.Name())
		src, err := os.ReadFile(file)
		if err != nil {
			h.log.Warn().Err(err).Msg("A patch file could not be read and is not loaded.")
			continue
		}
		h.addFile(file, src, true)
	}
}

// kitDir is the user's kit directory, beside the patch directory.
func (h *patchHost) kitDir() string { return filepath.Join(filepath.Dir(h.dir), "kits") }

// loadKits reads the shipped kits ("kits/*.toml" in shipped) and then the
// user's (<config>/kits/*.toml), which replace shipped ones of the same
// name. A broken file is logged in one line and left out; so is a kit
// named like a patch (the patch keeps the name).
func (h *patchHost) loadKits(shipped fs.FS) {
	add := func(file string, src []byte) {
		name := strings.TrimSuffix(path.Base(filepath.ToSlash(file)), ".toml")
		if err := checkPatchName(name); err != nil {
			h.log.Warn().Str("file", file).Str("reason", err.Error()).Msg("A kit file's name is not a patch name, so it is not loaded.")
			return
		}
		if _, clash := h.lib[name]; clash {
			h.log.Warn().Str("file", file).Str("kit", name).Msg("A kit has the name of a patch, so it is not loaded.")
			return
		}
		k, err := graphfile.ParseKit(file, src)
		if err != nil {
			h.log.Warn().Msg(err.Error())
			return
		}
		h.kits[name] = k
	}
	if shipped != nil {
		names, _ := fs.Glob(shipped, "kits/*.toml")
		for _, n := range names {
			if src, err := fs.ReadFile(shipped, n); err == nil {
				add(n, src)
			}
		}
	}
	entries, err := os.ReadDir(h.kitDir())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		h.log.Warn().Err(err).Str("dir", h.kitDir()).Msg("The user kit directory could not be read; only the shipped kits are loaded.")
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".toml") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		file := filepath.Join(h.kitDir(), e.Name())
		if src, err := os.ReadFile(file); err != nil {
			h.log.Warn().Err(err).Msg("A kit file could not be read and is not loaded.")
		} else {
			add(file, src)
		}
	}
}

// loadKit makes channel ch play the kit k from frame (0: as soon as
// possible): the whole kit goes to the synth, which compiles its sounds,
// and the engine keeps it for a cold restart.
func (h *patchHost) loadKit(k *graphfile.Kit, ch int, frame uint64) error {
	cmds, err := engine.KitCommands(k.KitSounds(), uint8(ch), nil)
	if err != nil {
		return err
	}
	if frame > 0 {
		last := &cmds[len(cmds)-1]
		last.Frame, last.Flags = frame, proto.FlagAbsolute
	}
	if err := h.sendAll(cmds); err != nil {
		return err
	}
	h.keep(cmds...)
	return nil
}

// addFile parses one patch file into the library.
func (h *patchHost) addFile(file string, src []byte, user bool) (*libPatch, error) {
	name := strings.TrimSuffix(path.Base(filepath.ToSlash(file)), ".toml")
	if err := checkPatchName(name); err != nil {
		h.log.Warn().Str("file", file).Str("reason", err.Error()).Msg("A patch file's name is not a patch name, so it is not loaded.")
		return nil, err
	}
	p, err := graphfile.ParsePatch(file, src)
	if err != nil {
		h.log.Warn().Msg(err.Error())
		return nil, err
	}
	lp := &libPatch{name: name, file: file, user: user, patch: p}
	h.lib[name] = lp
	return lp, nil
}

// start puts the library into the graph slots, patches that name a
// program first, and binds the programs; it logs which slot holds what.
func (h *patchHost) start() {
	names := make([]string, 0, len(h.lib))
	for n := range h.lib {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := h.lib[names[i]].patch.Program >= 0, h.lib[names[j]].patch.Program >= 0
		if a != b {
			return a
		}
		return names[i] < names[j]
	})
	programs := map[int]string{}
	var placed, left []string
	// Everything is sent first and confirmed after, so the synth reads
	// the bursts in one go; what each slot got is known once confirmed.
	type sent struct {
		slot  int
		name  string
		burst []proto.Command
		extra []proto.Command // the select back to the preset, the program binding
	}
	var pending []sent
	slot := 0
	for _, n := range names {
		lp := h.lib[n]
		if slot == graphSlots {
			left = append(left, n)
			continue
		}
		prog := lp.patch.Program
		if prog >= 0 {
			if other, taken := programs[prog]; taken {
				h.log.Warn().Str("file", lp.file).Int("program", prog).Str("kept", other).
					Msg("Two patches name the same program; this one is not bound to it.")
				prog = graphfile.NoProgram
			} else {
				programs[prog] = n
			}
		}
		cmds, err := engine.GraphCommands(&lp.patch.Graph, uint8(slot), 0, nil)
		nb := len(cmds)
		if err == nil {
			cmds[nb-1].Voice = engine.NewCommitTicket()
			// The commit makes channel 0 play the slot; send it back to
			// its preset: loading the library changes no sound.
			cmds = append(cmds, proto.Command{Op: proto.OpPatchSelect, Channel: 0, Value: 1})
			if prog >= 0 {
				cmds = append(cmds, proto.Command{Op: proto.OpPatchProgram, Key: uint8(prog), Value: float64(slot + 1)})
			}
			err = h.sendAll(cmds)
		}
		if err != nil {
			h.log.Warn().Err(err).Str("patch", n).Msg("A patch could not be sent to the synth.")
			continue
		}
		h.slots[slot] = graphSlot{used: true, lib: n, graph: lp.patch.Graph, program: prog}
		pending = append(pending, sent{slot, n, cmds[:nb], cmds[nb:]})
		slot++
	}
	for _, p := range pending {
		if err := h.confirm(p.burst); err != nil {
			h.log.Warn().Str("patch", p.name).Str("reason", err.Error()).Msg("The synth did not take a library patch; its slot stays empty.")
			h.slots[p.slot] = graphSlot{program: graphfile.NoProgram}
			continue
		}
		h.keep(p.extra...)
		s := strconv.Itoa(p.slot) + " " + p.name
		if prog := h.slots[p.slot].program; prog >= 0 {
			s += " (program " + strconv.Itoa(prog) + ")"
		}
		placed = append(placed, s)
	}
	ev := h.log.Info().Strs("slots", placed).Str("user_dir", h.dir)
	if len(left) > 0 {
		ev = ev.Strs("on_demand", left)
	}
	ev.Msg("Graph patches are loaded into the synth's slots.")
}

// sendAll sends cmds in order, retrying a full queue for up to h.retry. On
// a failure midway it sends an abort so that no half-sent graph stays
// staged in the synth.
func (h *patchHost) sendAll(cmds []proto.Command) error {
	for i := range cmds {
		deadline := time.Now().Add(h.retry)
		for {
			err := h.send(cmds[i])
			if err == nil {
				break
			}
			if errors.Is(err, engine.ErrBusy) && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
				continue
			}
			if i > 0 {
				_ = h.send(proto.Command{Op: proto.OpPatchAbort})
			}
			return fmt.Errorf("patch: the synth refused %s: %w", cmds[i].Op, err)
		}
	}
	return nil
}

// allocSlot picks the slot a new graph for channel ch goes into: the
// channel's own live slot when no other channel plays it, else an unused
// slot, else a library slot without a program that no channel plays, else
// a live slot that no channel plays. A slot bound to a program is never
// taken.
func (h *patchHost) allocSlot(ch int) (int, error) {
	playing := func(s int) bool {
		for c, cs := range h.chSlot {
			if int(cs) == s && c != ch {
				return true
			}
		}
		return false
	}
	if s := int(h.chSlot[ch]); s >= 0 && h.slots[s].lib == "" && !playing(s) {
		return s, nil
	}
	for s := range h.slots {
		if !h.slots[s].used {
			return s, nil
		}
	}
	for _, lib := range []bool{true, false} {
		for s := range h.slots {
			st := &h.slots[s]
			if (st.lib != "") == lib && st.program < 0 && !playing(s) && int(h.chSlot[ch]) != s {
				return s, nil
			}
		}
	}
	return 0, errors.New("all 16 graph slots are playing or bound to programs")
}

// commit sends g into a slot for channel ch and makes ch play it from
// frame (0: as soon as possible), once the synth confirmed that it took
// the graph: a refused commit leaves the slot and the channel as they
// were, here as in the synth.
func (h *patchHost) commit(g *dsp.Graph, ch int, lib string, slot int, frame uint64) (int, error) {
	if slot < 0 {
		var err error
		if slot, err = h.allocSlot(ch); err != nil {
			return 0, err
		}
	}
	cmds, err := engine.GraphCommands(g, uint8(slot), uint8(ch), h.cmds[:0])
	if err == nil {
		last := &cmds[len(cmds)-1]
		last.Voice = engine.NewCommitTicket()
		if frame > 0 {
			// Only the commit is timed: the staging edits before it
			// change nothing audible whenever the synth reads them.
			last.Frame, last.Flags = frame, proto.FlagAbsolute
		}
		err = h.sendAll(cmds)
	}
	if err == nil {
		err = h.confirm(cmds)
	}
	if err != nil {
		return 0, err
	}
	prog := graphfile.NoProgram
	if lib != "" && h.slots[slot].lib == lib {
		prog = h.slots[slot].program // a library patch reloaded in place keeps its program
	}
	h.slots[slot] = graphSlot{used: true, lib: lib, graph: *g, program: prog}
	h.chSlot[ch] = int8(slot)
	return slot, nil
}

// load makes channel ch play library patch name from frame (0: as soon as
// possible): by selecting the slot that holds it unchanged, else by
// sending it (a user file is read again, so that edits on disk since the
// start are heard).
func (h *patchHost) load(name string, ch int, frame uint64) (int, error) {
	if err := checkPatchName(name); err != nil {
		return 0, err
	}
	file := filepath.Join(h.dir, name+".toml")
	if src, err := os.ReadFile(file); err == nil {
		if _, err := h.addFile(file, src, true); err != nil {
			return 0, err
		}
	}
	lp, ok := h.lib[name]
	if !ok {
		return 0, fmt.Errorf("no patch %q (see /patch/list)", name)
	}
	g := &lp.patch.Graph
	for s := range h.slots {
		st := &h.slots[s]
		if st.lib != name {
			continue
		}
		if st.graph == *g {
			sel := proto.Command{Op: proto.OpPatchSelect, Channel: uint8(ch), Key: uint8(s)}
			if frame > 0 {
				sel.Frame, sel.Flags = frame, proto.FlagAbsolute
			}
			if err := h.sendAll([]proto.Command{sel}); err != nil {
				return 0, err
			}
			h.keep(sel)
			h.chSlot[ch] = int8(s)
			return s, nil
		}
		return h.commit(g, ch, name, s, frame) // changed on disk: replace it in place
	}
	return h.commit(g, ch, name, -1, frame)
}

// checkPatchName refuses names that are not a plain file name inside the
// patch directory: path separators, a leading dot (so no ".."), control
// characters, spaces (maps could not name them), over 24 bytes.
func checkPatchName(name string) error {
	switch {
	case name == "":
		return errors.New("patch: empty patch name")
	case len(name) > maxPatchName:
		return fmt.Errorf("patch: name %q is longer than %d bytes", name, maxPatchName)
	case strings.HasPrefix(name, "."):
		return fmt.Errorf("patch: name %q starts with a dot", name)
	case strings.ContainsAny(name, `/\`):
		return fmt.Errorf("patch: name %q contains a path separator; patches stay in the patch directory", name)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("patch: name %q has a byte outside printable ASCII (no spaces or control characters)", name)
		}
	}
	return nil
}

// save writes the staged graph as name.toml in the patch directory,
// atomically (a temporary file renamed over it), and adds it to the
// library. A library patch's program is kept.
func (h *patchHost) save(name string) (string, error) {
	if err := checkPatchName(name); err != nil {
		return "", err
	}
	g := h.staged
	g.SetName(name)
	if err := resolveOut(&g); err != nil {
		return "", err
	}
	var prog dsp.GraphProgram
	if err := dsp.Compile(&g, &prog); err != nil {
		return "", err
	}
	p := graphfile.Patch{Graph: g, Program: graphfile.NoProgram}
	if old, ok := h.lib[name]; ok {
		p.Program = old.patch.Program
	}
	if err := os.MkdirAll(h.dir, 0o755); err != nil {
		return "", err
	}
	file := filepath.Join(h.dir, name+".toml")
	if filepath.Dir(file) != filepath.Clean(h.dir) {
		return "", fmt.Errorf("patch: name %q leaves the patch directory", name)
	}
	tmp, err := os.CreateTemp(h.dir, ".save-*.tmp")
	if err != nil {
		return "", err
	}
	_, err = tmp.Write(graphfile.EncodePatch(&p))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), file)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	h.staged.SetName(name)
	h.lib[name] = &libPatch{name: name, file: file, user: true, patch: p}
	return file, nil
}

// resolveOut sets the output of a graph that has none: the one audio
// module whose output goes nowhere.
func resolveOut(g *dsp.Graph) error {
	if g.Out[0] != 0 {
		return nil
	}
	var sinks []string
	for i := 0; i < int(g.NModules); i++ {
		m := &g.Modules[i]
		if !m.Kind.AudioOut() {
			continue
		}
		feeds := false
		for r := 0; r < int(g.NRoutes); r++ {
			if g.Routes[r].From == m.ID {
				feeds = true
			}
		}
		if !feeds {
			sinks = append(sinks, m.IDString())
		}
	}
	switch len(sinks) {
	case 0:
		return errors.New("patch: no output: the graph has no audio module that feeds nothing (name one with /patch/out ID)")
	case 1:
		return g.SetOut(sinks[0])
	}
	return fmt.Errorf("patch: several audio modules feed nothing (%s): name the output with /patch/out ID", strings.Join(sinks, ", "))
}

// names returns the library's patch names, sorted.
func (h *patchHost) names() []string {
	out := make([]string, 0, len(h.lib)+len(h.kits))
	for n := range h.lib {
		out = append(out, n)
	}
	for n := range h.kits {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// patchArg is one argument of a /patch/ message: a string or a number.
type patchArg struct {
	s     string
	f     float64
	isNum bool
}

func (a patchArg) String() string {
	if a.isNum {
		return strconv.FormatFloat(a.f, 'g', -1, 64)
	}
	return a.s
}

// number reads a number, or a string that spells one.
func (a patchArg) number() (float64, bool) {
	if a.isNum {
		return a.f, true
	}
	f, err := strconv.ParseFloat(a.s, 64)
	return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
}

// patchArgs splits a /patch/VERB[/SEG...] message into its verb and its
// arguments: the address segments after the verb, then the OSC
// arguments.
func patchArgs(ev *controllers.Event) (verb string, args []patchArg, err error) {
	segs := strings.Split(strings.TrimPrefix(ev.Address(), "/patch/"), "/")
	verb = segs[0]
	for _, s := range segs[1:] {
		args = append(args, patchArg{s: s})
	}
	for i := 0; i < int(ev.NArgs) && i < controllers.MaxArgs; i++ {
		a := ev.Args[i]
		switch a.Type {
		case 's', 'S':
			s, ok := ev.StringArg(i)
			if !ok {
				return verb, args, fmt.Errorf("the string arguments are longer than %d bytes together", controllers.MaxStr)
			}
			args = append(args, patchArg{s: s})
		case 'i', 'h', 'f', 'd':
			args = append(args, patchArg{f: a.F, isNum: true})
		default:
			return verb, args, fmt.Errorf("argument %d has OSC type %q; want a string or a number", i+1, rune(a.Type))
		}
	}
	return verb, args, nil
}

// patchVerb is one /patch/ address: its usage, for error replies, and how
// many arguments it takes.
type patchVerb struct {
	usage    string
	min, max int
}

var patchVerbs = map[string]patchVerb{
	"create":     {"/patch/create ID KIND", 2, 2},
	"remove":     {"/patch/remove ID", 1, 1},
	"connect":    {"/patch/connect FROM TO.PORT [AMOUNT] [add|mul]", 2, 4},
	"disconnect": {"/patch/disconnect FROM TO.PORT", 2, 2},
	"set":        {"/patch/set ID PARAM VALUE", 3, 3},
	"out":        {"/patch/out ID", 1, 1},
	"commit":     {"/patch/commit [CHANNEL] [NAME]", 0, 2},
	"abort":      {"/patch/abort", 0, 0},
	"save":       {"/patch/save NAME", 1, 1},
	"load":       {"/patch/load NAME [CHANNEL]", 1, 2},
	"edit":       {"/patch/edit NAME", 1, 1},
	"list":       {"/patch/list", 0, 0},
}

// handleOSC answers a /patch/... message; false if ev is not one. A
// commit or load in a timetagged bundle takes effect at the bundle's
// frame, as the bundle's notes do.
func (h *patchHost) handleOSC(ev *controllers.Event) bool {
	if !strings.HasPrefix(ev.Address(), "/patch/") {
		return false
	}
	verb, args, err := patchArgs(ev)
	if err == nil {
		var ok []any
		ok, err = h.do(verb, args, h.due(ev))
		if err == nil {
			h.reply(ev, osc.NewMessage("/patch/ok", append([]any{verb}, ok...)...))
			return true
		}
	}
	msg := verb + ": " + patchReason(err)
	if synthRefused(err) {
		// Not the sender's typo: the instrument could not do it.
		h.log.Warn().Str("address", ev.Address()).Str("reason", msg).Msg("The synth refused a patch commit.")
	} else {
		h.log.Debug().Str("address", ev.Address()).Str("reason", msg).Msg("A patch edit was refused.")
	}
	h.reply(ev, osc.NewMessage("/patch/error", msg))
	return true
}

// patchReason is err's message for a /patch/error reply, without the
// package prefix.
func patchReason(err error) string {
	m := err.Error()
	for _, p := range []string{"dsp: ", "patch: ", "engine: "} {
		m = strings.TrimPrefix(m, p)
	}
	return m
}

// synthRefused reports whether err is the synth's refusal of a commit, or
// its silence about one.
func synthRefused(err error) bool {
	var ce *engine.CommitError
	return errors.As(err, &ce) || errors.Is(err, engine.ErrCommitUnconfirmed)
}

// due returns the output frame at which ev's bundle is due, or 0 (as soon
// as possible) for a message that is not in a timetagged bundle.
func (h *patchHost) due(ev *controllers.Event) uint64 {
	if ev == nil || ev.Due.IsZero() || h.frameAt == nil {
		return 0
	}
	return h.frameAt(ev.Due)
}

// do runs one verb and returns the arguments of its /patch/ok reply; a
// commit or load takes effect at frame (0: as soon as possible).
func (h *patchHost) do(verb string, args []patchArg, frame uint64) ([]any, error) {
	v, known := patchVerbs[verb]
	if !known {
		return nil, fmt.Errorf("unknown address /patch/%s (want create, remove, connect, disconnect, set, out, commit, abort, save, load, edit or list)", verb)
	}
	if len(args) < v.min || len(args) > v.max {
		return nil, fmt.Errorf("want %s", v.usage)
	}
	str := func(i int) string { return args[i].String() }
	g := &h.staged
	switch verb {
	case "create":
		k, ok := dsp.ParseModuleKind(str(1))
		if !ok {
			return nil, fmt.Errorf("unknown kind %q (want osc, noise, env, lfo, filter, amp, mix, shaper, input, drive or delay)", str(1))
		}
		if err := g.AddModule(str(0), k); err != nil {
			return nil, err
		}
		return []any{str(0), str(1)}, nil
	case "remove":
		return []any{str(0)}, g.RemoveModule(str(0))
	case "connect":
		return h.connect(args)
	case "disconnect":
		if !g.Disconnect(str(0), str(1)) {
			return nil, fmt.Errorf("no route from %s to %s", str(0), str(1))
		}
		return []any{str(0), str(1)}, nil
	case "set":
		return h.set(str(0), str(1), args[2])
	case "out":
		return []any{str(0)}, g.SetOut(str(0))
	case "commit":
		return h.commitStaged(args, frame)
	case "abort":
		*g = dsp.Graph{}
		return nil, nil
	case "save":
		file, err := h.save(str(0))
		if err != nil {
			return nil, err
		}
		h.log.Info().Str("file", file).Msg("A patch was saved.")
		return []any{str(0)}, nil
	case "load":
		ch, err := channelArg(args, 1)
		if err != nil {
			return nil, err
		}
		if k, ok := h.kits[str(0)]; ok && h.lib[str(0)] == nil {
			if len(args) < 2 {
				ch = dsp.DrumChannel // a kit's usual channel, 10
			}
			if err := h.loadKit(k, ch, frame); err != nil {
				return nil, err
			}
			h.log.Info().Str("kit", str(0)).Int("channel", ch+1).Msg("A drum kit was loaded.")
			return []any{str(0), int32(ch + 1), "kit"}, nil
		}
		slot, err := h.load(str(0), ch, frame)
		if err != nil {
			return nil, err
		}
		return []any{str(0), int32(ch + 1), int32(slot)}, nil
	case "edit":
		lp, ok := h.lib[str(0)]
		if !ok {
			return nil, fmt.Errorf("no patch %q (see /patch/list)", str(0))
		}
		h.staged = lp.patch.Graph
		return []any{str(0)}, nil
	default: // list
		names := h.names()
		out := make([]any, len(names))
		for i, n := range names {
			out[i] = n
		}
		return out, nil
	}
}

// connect: FROM TO.PORT [AMOUNT] [add|mul]. Connecting the same port again
// replaces the route, so that a new amount can be tried.
func (h *patchHost) connect(args []patchArg) ([]any, error) {
	g := &h.staged
	from, to := args[0].String(), args[1].String()
	amount, op := 1.0, dsp.RouteAdd
	rest := args[2:]
	if len(rest) > 0 {
		if f, ok := rest[0].number(); ok {
			amount, rest = f, rest[1:]
		}
	}
	if len(rest) > 0 {
		var ok bool
		if op, ok = dsp.ParseRouteOp(rest[0].String()); !ok || len(rest) > 1 {
			return nil, fmt.Errorf("want %s, not %q", patchVerbs["connect"].usage, rest[0].String())
		}
	}
	if g.ModuleIndex(from) < 0 {
		return nil, fmt.Errorf("no module %s", from)
	}
	mod, port, ok := strings.Cut(to, ".")
	if !ok {
		return nil, fmt.Errorf("%q is not module.port", to)
	}
	i := g.ModuleIndex(mod)
	if i < 0 {
		return nil, fmt.Errorf("no module %s", mod)
	}
	if g.Modules[i].Kind.PortIndex(port) < 0 {
		return nil, fmt.Errorf("%s module %s has no input or parameter %q", g.Modules[i].Kind, mod, port)
	}
	g.Disconnect(from, to)
	if err := g.Connect(from, to, amount, op); err != nil {
		return nil, err
	}
	return []any{from, to, float32(amount), op.String()}, nil
}

// set: ID PARAM VALUE, a number in the parameter's range or the name of a
// choice ("saw").
func (h *patchHost) set(id, param string, v patchArg) ([]any, error) {
	g := &h.staged
	if id == dsp.PatchOptions {
		return h.setOption(param, v)
	}
	i := g.ModuleIndex(id)
	if i < 0 {
		return nil, fmt.Errorf("no module %s", id)
	}
	k := g.Modules[i].Kind
	j := k.ParamIndex(param)
	if j < 0 {
		return nil, fmt.Errorf("%s module %s has no parameter %q", k, id, param)
	}
	info := k.Param(j)
	if !v.isNum && info.Enum != nil {
		if err := g.SetParamName(id, param, v.s); err != nil {
			return nil, fmt.Errorf("%s.%s: unknown value %q (want %s)", id, param, v.s, strings.Join(info.Enum, ", "))
		}
		return []any{id, param, v.s}, nil
	}
	f, ok := v.number()
	if !ok {
		return nil, fmt.Errorf("%s.%s wants a number, not %q", id, param, v.s)
	}
	if info.Enum != nil && f != math.Trunc(f) || !(f >= info.Min && f <= info.Max) {
		return nil, fmt.Errorf("%s.%s = %s is out of range %s..%s", id, param, v, fmtNum(info.Min), fmtNum(info.Max))
	}
	if err := g.SetParam(id, param, f); err != nil {
		return nil, err
	}
	return []any{id, param, float32(f)}, nil
}

// setOption sets a patch-level option of the staged graph: one_shot (1 or
// 0, true or false) or choke (a group 0..255, 0 = none).
func (h *patchHost) setOption(name string, v patchArg) ([]any, error) {
	g := &h.staged
	f, ok := v.number()
	if !v.isNum {
		switch strings.ToLower(v.s) {
		case "true", "on":
			f, ok = 1, true
		case "false", "off":
			f, ok = 0, true
		}
	}
	switch name {
	case dsp.OptionOneShot:
		if !ok || f != 0 && f != 1 {
			return nil, fmt.Errorf("%s.%s wants 1 or 0 (true or false), not %v", dsp.PatchOptions, name, v)
		}
		g.OneShot = f == 1
	case dsp.OptionChoke:
		if !ok || f != math.Trunc(f) || !(f >= 0 && f <= 255) {
			return nil, fmt.Errorf("%s.%s wants a group 0..255 (0: none), not %v", dsp.PatchOptions, name, v)
		}
		g.Choke = uint8(f)
	default:
		return nil, fmt.Errorf("no patch option %q (want %s or %s)", name, dsp.OptionOneShot, dsp.OptionChoke)
	}
	return []any{dsp.PatchOptions, name, float32(f)}, nil
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// channelArg reads a MIDI channel 1..16 from args[i] (default 1) and
// returns it 0-based.
func channelArg(args []patchArg, i int) (int, error) {
	if i >= len(args) {
		return 0, nil
	}
	f, ok := args[i].number()
	if !ok || f != math.Trunc(f) || f < 1 || f > 16 {
		return 0, fmt.Errorf("channel %q is not 1..16", args[i].String())
	}
	return int(f) - 1, nil
}

// commitStaged: [CHANNEL] [NAME]. The staged graph is checked; a good one
// goes into a slot and the channel plays it from frame (notes already
// sounding finish on what they started with), a bad one is refused and
// nothing changes; so is one the synth refuses.
func (h *patchHost) commitStaged(args []patchArg, frame uint64) ([]any, error) {
	ch, name := 0, ""
	if len(args) > 0 {
		if _, isNum := args[0].number(); isNum || len(args) == 2 {
			var err error
			if ch, err = channelArg(args, 0); err != nil {
				return nil, err
			}
			args = args[1:]
		}
	}
	if len(args) > 0 {
		name = args[0].String()
	}
	g := h.staged
	if name != "" {
		if len(name) > maxPatchName {
			return nil, fmt.Errorf("name %q is longer than %d bytes", name, maxPatchName)
		}
		g.SetName(name)
	}
	if err := resolveOut(&g); err != nil {
		return nil, err
	}
	var prog dsp.GraphProgram
	if err := dsp.Compile(&g, &prog); err != nil {
		return nil, err
	}
	slot, err := h.commit(&g, ch, "", -1, frame)
	if err != nil {
		return nil, err
	}
	h.staged.Name = g.Name // the output stays as the user set it: found again next time
	h.log.Info().Int("channel", ch+1).Int("slot", slot).Str("patch", g.NameString()).Msg("A patch was committed.")
	return []any{int32(ch + 1), int32(slot), g.NameString()}, nil
}

// hostLoad runs a map's patch-load: name in c.Module, onto c.Channel, at
// the frame of ev's bundle if it came in a timetagged one.
func (h *patchHost) hostLoad(c proto.Command, ev *controllers.Event) {
	name := c.Module.String()
	if k, ok := h.kits[name]; ok && h.lib[name] == nil {
		if err := h.loadKit(k, int(c.Channel&15), h.due(ev)); err != nil {
			msg := "load: " + patchReason(err)
			h.log.Warn().Str("kit", name).Str("reason", msg).Msg("A mapped kit load failed.")
			h.reply(ev, osc.NewMessage("/patch/error", msg))
			return
		}
		h.reply(ev, osc.NewMessage("/patch/ok", "load", name, int32(c.Channel&15)+1, "kit"))
		return
	}
	slot, err := h.load(name, int(c.Channel&15), h.due(ev))
	if err != nil {
		msg := "load: " + patchReason(err)
		h.log.Warn().Str("patch", name).Str("reason", msg).Msg("A mapped patch load failed.")
		h.reply(ev, osc.NewMessage("/patch/error", msg))
		return
	}
	h.reply(ev, osc.NewMessage("/patch/ok", "load", name, int32(c.Channel&15)+1, int32(slot)))
}

// startPatches loads the patch library into the synth's graph slots.
// startPlayer calls it before the dispatch goroutine starts.
func (p *player) startPatches() {
	send := func(c proto.Command) error {
		err := p.eng.Send(c)
		p.flow.sentCmd(&c, err) // stats.go
		return err
	}
	p.patches = newPatchHost(p.a.log.With().Str("role", "patches").Logger(), patchDir(p.a.configDir), send, p.reply)
	p.patches.confirm = func(burst []proto.Command) error { return p.eng.ConfirmCommit(burst, commitWait) }
	p.patches.keep = p.eng.KeepPatch
	p.patches.frameAt = p.frameAt // the dispatch goroutine's clock anchor, as for notes
	p.patches.loadLibrary(graphfile.Shipped())
	p.patches.loadKits(graphfile.Kits())
	p.patches.start()
}
