package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	goosc "github.com/hypebeast/go-osc/osc"
	"github.com/rs/zerolog"

	"github.com/chronus-audio/chronus/controllers"
	"github.com/chronus-audio/chronus/controllers/osc"
	"github.com/chronus-audio/chronus/dsp"
	"github.com/chronus-audio/chronus/dsp/graphfile"
	"github.com/chronus-audio/chronus/engine"
	"github.com/chronus-audio/chronus/engine/proto"
)

// patchEngine records what the patch host sends; fail makes Send refuse,
// refuse makes the synth refuse a commit. It records what the host
// confirms and keeps, in order, in log.
type patchEngine struct {
	sent   []proto.Command
	fail   func(c proto.Command) error
	refuse func(burst []proto.Command) error
	log    []string
}

func (f *patchEngine) confirm(burst []proto.Command) error {
	c := burst[len(burst)-1]
	if c.Op != proto.OpPatchCommit || c.Voice == 0 {
		return fmt.Errorf("test: confirm of %s without a ticket", ops(burst))
	}
	f.log = append(f.log, fmt.Sprintf("confirm slot %d ch %d", c.Key, c.Channel))
	if f.refuse != nil {
		return f.refuse(burst)
	}
	return nil
}

func (f *patchEngine) keep(cmds ...proto.Command) {
	for _, c := range cmds {
		f.log = append(f.log, fmt.Sprintf("keep %s ch %d key %d value %g", c.Op, c.Channel, c.Key, c.Value))
	}
}

func (f *patchEngine) send(c proto.Command) error {
	if err := c.Validate(); err != nil {
		return err // what the real engine refuses
	}
	if f.fail != nil {
		if err := f.fail(c); err != nil {
			return err
		}
	}
	f.sent = append(f.sent, c)
	return nil
}

func (f *patchEngine) take() []proto.Command {
	s := f.sent
	f.sent = nil
	return s
}

// patchRig is a patch host wired to a fake engine, a reply recorder and
// a log buffer, with its user directory in a temporary config dir.
type patchRig struct {
	h       *patchHost
	eng     *patchEngine
	replies []string
	log     bytes.Buffer
}

func newPatchRig(t *testing.T) *patchRig {
	r := &patchRig{eng: &patchEngine{}}
	log := zerolog.New(&r.log)
	r.h = newPatchHost(log, patchDir(t.TempDir()), r.eng.send, func(_ *controllers.Event, m *osc.Message) {
		r.replies = append(r.replies, fmtPacket(m))
	})
	r.h.confirm, r.h.keep = r.eng.confirm, r.eng.keep
	return r
}

// patchEvent decodes a Go-client message the way the OSC controller does.
func patchEvent(t *testing.T, addr string, args ...any) *controllers.Event {
	t.Helper()
	b, err := goosc.NewMessage(addr, args...).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var d osc.Decoder
	if err := d.Decode(b); err != nil {
		t.Fatalf("%s: %v", addr, err)
	}
	ev := new(controllers.Event)
	if !d.Next(ev) {
		t.Fatalf("%s: no message", addr)
	}
	ev.Kind = controllers.OSC
	return ev
}

// do sends one message and returns the reply.
func (r *patchRig) do(t *testing.T, addr string, args ...any) string {
	t.Helper()
	r.replies = nil
	if !r.h.handleOSC(patchEvent(t, addr, args...)) {
		t.Fatalf("%s not handled", addr)
	}
	if len(r.replies) != 1 {
		t.Fatalf("%s: %d replies %q, want one", addr, len(r.replies), r.replies)
	}
	return r.replies[0]
}

// sine1k stages a sine at a fixed 1 kHz through an amplifier gated by an
// envelope; the address-path form carries the leading strings.
func (r *patchRig) sine1k(t *testing.T) {
	t.Helper()
	for _, m := range []struct {
		addr string
		args []any
	}{
		{"/patch/create/o", []any{"osc"}},
		{"/patch/set/o/wave", []any{"sine"}},
		{"/patch/set/o/hz", []any{float32(1000)}},
		{"/patch/create/a", []any{"amp"}},
		{"/patch/create/e", []any{"env"}},
		{"/patch/connect/o", []any{"a.in"}},
		{"/patch/connect/e/a.gain", []any{float32(1), "mul"}},
	} {
		if got := r.do(t, m.addr, m.args...); !strings.HasPrefix(got, "/patch/ok") {
			t.Fatalf("%s %v: %s", m.addr, m.args, got)
		}
	}
}

func ops(cmds []proto.Command) string {
	var s []string
	for _, c := range cmds {
		s = append(s, c.Op.String())
	}
	return strings.Join(s, " ")
}

// shippedNames returns the names of the shipped patches (examples and
// the presets' graph forms) and extra, sorted and joined by spaces, as
// /patch/list gives them.
func shippedNames(t *testing.T, extra ...string) string {
	t.Helper()
	files, err := fs.Glob(graphfile.Shipped(), "*/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped patches: %v", err)
	}
	names := extra
	for _, f := range files {
		names = append(names, strings.TrimSuffix(path.Base(f), ".toml"))
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}

// TestPatchEditReplies: every address with good and bad arguments, each
// answered by /patch/ok or a /patch/error that says why; nothing reaches
// the synth before a commit.
func TestPatchEditReplies(t *testing.T) {
	cases := []struct {
		name string
		addr string
		args []any
		want string
	}{
		{"create", "/patch/create/x", []any{"lfo"}, "/patch/ok create x lfo"},
		{"create all in the address", "/patch/create/x/noise", nil, "/patch/ok create x noise"},
		{"create twice", "/patch/create/o", []any{"osc"}, "/patch/error create: module o exists already"},
		{"create bad kind", "/patch/create/x", []any{"vco"}, `/patch/error create: unknown kind "vco"`},
		{"create bad id", "/patch/create/9x", []any{"osc"}, `/patch/error create: bad module id "9x"`},
		{"create short", "/patch/create", []any{"osc"}, "/patch/error create: want /patch/create ID KIND"},
		{"two string arguments", "/patch/create", []any{"x", "osc"}, "/patch/ok create x osc"},
		{"connect all as arguments", "/patch/connect", []any{"e", "o.level", float32(0.5), "mul"}, "/patch/ok connect e o.level 0.5 mul"},
		{"bad argument type", "/patch/create/x", []any{true}, "/patch/error create: argument 1 has OSC type"},
		{"unknown address", "/patch/explode", nil, "/patch/error explode: unknown address /patch/explode"},
		{"set number", "/patch/set/o/semi", []any{int32(-12)}, "/patch/ok set o semi -12"},
		{"set choice by name", "/patch/set/o/wave", []any{"square"}, "/patch/ok set o wave square"},
		{"set choice by index", "/patch/set/o/wave", []any{int32(3)}, "/patch/ok set o wave 3"},
		{"set number in the address", "/patch/set/o/detune/7.5", nil, "/patch/ok set o detune 7.5"},
		{"set unknown module", "/patch/set/q/wave", []any{"saw"}, "/patch/error set: no module q"},
		{"set unknown param", "/patch/set/o/cutoff", []any{float32(3)}, `/patch/error set: osc module o has no parameter "cutoff"`},
		{"set out of range", "/patch/set/o/semi", []any{float32(60)}, "/patch/error set: o.semi = 60 is out of range -48..48"},
		{"set choice out of range", "/patch/set/o/wave", []any{int32(9)}, "/patch/error set: o.wave = 9 is out of range 0..3"},
		{"set choice fraction", "/patch/set/o/wave", []any{float32(1.5)}, "/patch/error set: o.wave = 1.5 is out of range"},
		{"set unknown choice", "/patch/set/o/wave", []any{"sawx"}, `/patch/error set: o.wave: unknown value "sawx" (want sine, saw, square, triangle)`},
		{"set word for a number", "/patch/set/o/semi", []any{"high"}, `/patch/error set: o.semi wants a number, not "high"`},
		{"connect default amount", "/patch/connect/e", []any{"o.level"}, "/patch/ok connect e o.level 1 add"},
		{"connect amount", "/patch/connect/e/o.level", []any{float32(0.5)}, "/patch/ok connect e o.level 0.5 add"},
		{"connect mul", "/patch/connect/e/o.level", []any{"mul"}, "/patch/ok connect e o.level 1 mul"},
		{"connect unknown from", "/patch/connect/q", []any{"a.in"}, "/patch/error connect: no module q"},
		{"connect unknown to", "/patch/connect/o", []any{"q.in"}, "/patch/error connect: no module q"},
		{"connect unknown port", "/patch/connect/e", []any{"a.volume"}, `/patch/error connect: amp module a has no input or parameter "volume"`},
		{"connect not module.port", "/patch/connect/e", []any{"a"}, `/patch/error connect: "a" is not module.port`},
		{"connect bad op", "/patch/connect/e/a.gain/0.5", []any{"times"}, `/patch/error connect: want /patch/connect FROM TO.PORT [AMOUNT] [add|mul], not "times"`},
		{"disconnect", "/patch/disconnect/o", []any{"a.in"}, "/patch/ok disconnect o a.in"},
		{"disconnect no route", "/patch/disconnect/e", []any{"o.semi"}, "/patch/error disconnect: no route from e to o.semi"},
		{"out", "/patch/out", []any{"a"}, "/patch/ok out a"},
		{"out unknown", "/patch/out", []any{"q"}, "/patch/error out: no module q"},
		{"remove", "/patch/remove", []any{"e"}, "/patch/ok remove e"},
		{"remove unknown", "/patch/remove", []any{"q"}, "/patch/error remove: no module q"},
		{"commit bad channel", "/patch/commit", []any{int32(17)}, `/patch/error commit: channel "17" is not 1..16`},
		{"load unknown", "/patch/load", []any{"nothing"}, `/patch/error load: no patch "nothing"`},
		{"load bad channel", "/patch/load/pad", []any{int32(0)}, `/patch/error load: channel "0" is not 1..16`},
		{"edit unknown", "/patch/edit", []any{"nothing"}, `/patch/error edit: no patch "nothing"`},
		{"set one_shot", "/patch/set", []any{"@patch", "one_shot", int32(1)}, "/patch/ok set @patch one_shot 1"},
		{"set one_shot by word", "/patch/set", []any{"@patch", "one_shot", "false"}, "/patch/ok set @patch one_shot 0"},
		{"set one_shot bad", "/patch/set", []any{"@patch", "one_shot", float32(0.5)}, "/patch/error set: @patch.one_shot wants 1 or 0"},
		{"set choke", "/patch/set", []any{"@patch", "choke", int32(2)}, "/patch/ok set @patch choke 2"},
		{"set choke out of range", "/patch/set", []any{"@patch", "choke", int32(256)}, "/patch/error set: @patch.choke wants a group 0..255"},
		{"set unknown option", "/patch/set", []any{"@patch", "legato", int32(1)}, `/patch/error set: no patch option "legato"`},
		{"create an effect", "/patch/create/echo", []any{"delay"}, "/patch/ok create echo delay"},
		{"list", "/patch/list", nil, "/patch/ok list " + shippedNames(t)},
		{"abort", "/patch/abort", nil, "/patch/ok abort"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newPatchRig(t)
			r.h.loadLibrary(graphfile.Shipped())
			r.sine1k(t)
			got := r.do(t, c.addr, c.args...)
			if !strings.HasPrefix(got, c.want) {
				t.Fatalf("reply %q\nwant  %q", got, c.want)
			}
			if sent := r.eng.take(); len(sent) != 0 {
				t.Fatalf("an edit sent %s to the synth", ops(sent))
			}
		})
	}
}

// TestPatchAbortClears: after /patch/abort the staged graph is empty.
func TestPatchAbortClears(t *testing.T) {
	r := newPatchRig(t)
	r.sine1k(t)
	r.do(t, "/patch/abort")
	if got := r.do(t, "/patch/commit"); !strings.HasPrefix(got, "/patch/error commit: no output") {
		t.Fatalf("commit after abort: %s", got)
	}
	if r.h.staged != (dsp.Graph{}) {
		t.Fatal("abort left a staged graph")
	}
}

// TestPatchCommit: a valid graph goes to the synth as abort, creates,
// sets, connects (ports numbered inputs first, then parameters) and a
// commit into a slot for the channel; the channel's next commit reuses
// its slot, another channel gets its own.
func TestPatchCommit(t *testing.T) {
	r := newPatchRig(t)
	r.sine1k(t)
	if got := r.do(t, "/patch/commit", int32(3), "beep"); got != "/patch/ok commit 3 0 beep" {
		t.Fatalf("commit: %s", got)
	}
	sent := r.eng.take()
	if want := "patch-abort patch-create patch-create patch-create patch-set patch-set patch-connect patch-connect patch-commit"; ops(sent) != want {
		t.Fatalf("sent %s\nwant %s", ops(sent), want)
	}
	type conn struct {
		from, to string
		key      uint8
		amount   float64
		voice    uint16
	}
	var conns []conn
	for _, c := range sent {
		if c.Op == proto.OpPatchConnect {
			conns = append(conns, conn{c.ModuleString(), c.ParamString(), c.Key, c.Value, c.Voice})
		}
	}
	// amp: input "in" is port 0, parameter "gain" port 1; route op mul is 1.
	if want := []conn{{"o", "a", 0, 1, 0}, {"e", "a", 1, 1, 1}}; fmt.Sprint(conns) != fmt.Sprint(want) {
		t.Fatalf("connects %v, want %v", conns, want)
	}
	last := sent[len(sent)-1]
	if last.ModuleString() != "a" || last.Key != 0 || last.Channel != 2 {
		t.Fatalf("commit %v: want output a, slot 0, channel index 2", last)
	}
	// Again on channel 3: the same slot. Channel 4: the next one.
	if got := r.do(t, "/patch/commit/3"); got != "/patch/ok commit 3 0 beep" {
		t.Fatalf("recommit: %s", got)
	}
	if got := r.do(t, "/patch/commit", int32(4)); got != "/patch/ok commit 4 1 beep" {
		t.Fatalf("commit on channel 4: %s", got)
	}
	// The output was found, not named: a second sink makes it ambiguous.
	r.do(t, "/patch/create/n", "noise")
	r.eng.take()
	if got := r.do(t, "/patch/commit"); got != `/patch/error commit: several audio modules feed nothing (a, n): name the output with /patch/out ID` {
		t.Fatalf("commit with a stray noise: %s", got)
	}
}

// TestPatchCommitOptions: the patch options staged with /patch/set @patch
// reach the synth as patch-sets on dsp.PatchOptions before the commit.
func TestPatchCommitOptions(t *testing.T) {
	r := newPatchRig(t)
	r.sine1k(t)
	r.do(t, "/patch/set", "@patch", "choke", int32(2))
	if got := r.do(t, "/patch/commit"); !strings.HasPrefix(got, "/patch/ok commit") {
		t.Fatalf("commit: %s", got)
	}
	sent := r.eng.take()
	var opts []string
	for _, c := range sent {
		if c.Op == proto.OpPatchSet && c.ModuleString() == dsp.PatchOptions {
			opts = append(opts, fmt.Sprintf("%s=%g", c.ParamString(), c.Value))
		}
	}
	if fmt.Sprint(opts) != "[choke=2]" || sent[len(sent)-1].Op != proto.OpPatchCommit {
		t.Fatalf("sent %s with options %v, want choke=2 before the commit", ops(sent), opts)
	}
}

// TestPatchCommitRefused: an invalid graph is refused with the compiler's
// reason and nothing is sent, so the old patch keeps playing.
func TestPatchCommitRefused(t *testing.T) {
	cases := []struct {
		name  string
		edits [][]any // address, args...
		want  string
	}{
		{"unconnected input", [][]any{{"/patch/create/f", "filter"}, {"/patch/out", "f"}},
			`/patch/error commit: module "f": input in is not connected`},
		{"cycle", [][]any{{"/patch/create/l1", "lfo"}, {"/patch/create/l2", "lfo"},
			{"/patch/connect/l1", "l2.rate"}, {"/patch/connect/l2", "l1.rate"}, {"/patch/connect/l1", "a.gain"}},
			"/patch/error commit: cycle: l1 -> l2 -> l1"},
		{"audio to a parameter", [][]any{{"/patch/create/n", "noise"}, {"/patch/connect/n", "o.level"}},
			"an audio output cannot modulate a parameter"},
		{"control to audio", [][]any{{"/patch/disconnect/o", "a.in"}, {"/patch/connect/e", "a.in"}, {"/patch/out", "a"}},
			"/patch/error commit: route 1 (e -> a.in): a control output cannot feed an audio input"},
		{"no output", [][]any{{"/patch/create/o2", "osc"}}, "/patch/error commit: several audio modules feed nothing (a, o2)"},
		{"control output", [][]any{{"/patch/out", "e"}}, `/patch/error commit: output "e" is a control module, not audio`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newPatchRig(t)
			r.sine1k(t)
			for _, e := range c.edits {
				if got := r.do(t, e[0].(string), e[1:]...); !strings.HasPrefix(got, "/patch/ok") {
					t.Fatalf("%v: %s", e, got)
				}
			}
			got := r.do(t, "/patch/commit", int32(1))
			if !strings.Contains(got, c.want) || !strings.HasPrefix(got, "/patch/error commit: ") {
				t.Fatalf("reply %q, want an error with %q", got, c.want)
			}
			if sent := r.eng.take(); len(sent) != 0 {
				t.Fatalf("a refused commit sent %s", ops(sent))
			}
			if r.h.chSlot[0] != -1 {
				t.Fatal("a refused commit moved the channel")
			}
		})
	}
}

// TestPatchCommitEngineRefuses: when the engine refuses a command midway,
// the commit fails with a reply, an abort clears what was staged in the
// synth, and the channel does not move; a full queue is retried.
func TestPatchCommitEngineRefuses(t *testing.T) {
	r := newPatchRig(t)
	r.sine1k(t)
	n := 0
	r.eng.fail = func(c proto.Command) error {
		if n++; n == 4 {
			return errors.New("test: down")
		}
		return nil
	}
	got := r.do(t, "/patch/commit")
	if !strings.HasPrefix(got, "/patch/error commit: the synth refused patch-create: test: down") {
		t.Fatalf("reply %s", got)
	}
	if sent := r.eng.take(); ops(sent) != "patch-abort patch-create patch-create patch-abort" {
		t.Fatalf("sent %s, want the partial graph and an abort", ops(sent))
	}
	if r.h.chSlot[0] != -1 || r.h.slots[0].used {
		t.Fatal("a failed commit was recorded")
	}
	busy := 3
	r.eng.fail = func(c proto.Command) error {
		if busy > 0 {
			busy--
			return engine.ErrBusy
		}
		return nil
	}
	if got := r.do(t, "/patch/commit"); got != "/patch/ok commit 1 0 " {
		t.Fatalf("commit through a busy queue: %q", got)
	}
}

// TestPatchSaveLoad: a saved patch is a file in <config>/patches that a
// new library loads back to the same graph; /patch/load sends it to a
// channel, and loading it again only selects its slot.
func TestPatchSaveLoad(t *testing.T) {
	r := newPatchRig(t)
	r.sine1k(t)
	if got := r.do(t, "/patch/save", "beep"); got != "/patch/ok save beep" {
		t.Fatalf("save: %s", got)
	}
	file := filepath.Join(r.h.dir, "beep.toml")
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(r.h.dir); len(entries) != 1 {
		t.Fatalf("the patch directory holds %d entries, want only beep.toml", len(entries))
	}
	want := r.h.staged
	want.SetName("beep")
	if err := want.SetOut("a"); err != nil {
		t.Fatal(err)
	}
	g, err := graphfile.Parse(file, src)
	if err != nil || g != want {
		t.Fatalf("the saved file does not read back to the staged graph (%v):\n%s", err, src)
	}
	if r.eng.take() != nil {
		t.Fatal("save sent commands")
	}

	// A new instrument on the same directory.
	r2 := newPatchRig(t)
	r2.h.dir = r.h.dir
	r2.h.loadLibrary(graphfile.Shipped())
	if got := r2.do(t, "/patch/list"); got != "/patch/ok list "+shippedNames(t, "beep") {
		t.Fatalf("list: %s", got)
	}
	if got := r2.do(t, "/patch/load/beep", int32(5)); got != "/patch/ok load beep 5 0" {
		t.Fatalf("load: %s", got)
	}
	sent := r2.eng.take()
	var back dsp.Graph
	if len(sent) == 0 || sent[len(sent)-1].Op != proto.OpPatchCommit || sent[len(sent)-1].Channel != 4 {
		t.Fatalf("load sent %s", ops(sent))
	}
	back = replay(t, sent)
	if back != stripName(want) {
		t.Fatal("the commands sent by load do not rebuild the saved graph")
	}
	if got := r2.do(t, "/patch/load/beep", int32(6)); got != "/patch/ok load beep 6 0" {
		t.Fatalf("second load: %s", got)
	}
	if sent := r2.eng.take(); ops(sent) != "patch-select" || sent[0].Key != 0 || sent[0].Channel != 5 || sent[0].Value != 0 {
		t.Fatalf("second load sent %v, want a select of slot 0 on channel index 5", sent)
	}
	// /patch/edit stages a library patch.
	r2.do(t, "/patch/edit", "beep")
	if r2.h.staged != want {
		t.Fatal("edit did not stage the patch")
	}
	// A changed file is read again and replaces its slot in place.
	if err := os.WriteFile(file, bytes.Replace(src, []byte("hz = 1000"), []byte("hz = 500"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := r2.do(t, "/patch/load/beep", int32(6)); got != "/patch/ok load beep 6 0" {
		t.Fatalf("load after an edit on disk: %s", got)
	}
	if sent := r2.eng.take(); len(sent) == 0 || sent[len(sent)-1].Op != proto.OpPatchCommit {
		t.Fatalf("load after an edit on disk sent %s, want the new graph", ops(sent))
	}
}

// replay builds the graph a synth would stage from patch commands, by the
// wire contract alone (port numbers: inputs first, then parameters).
func replay(t *testing.T, cmds []proto.Command) dsp.Graph {
	t.Helper()
	var g dsp.Graph
	for _, c := range cmds {
		switch c.Op {
		case proto.OpPatchAbort:
			g = dsp.Graph{}
		case proto.OpPatchCreate:
			k, _ := dsp.ParseModuleKind(c.ParamString())
			if err := g.AddModule(c.ModuleString(), k); err != nil {
				t.Fatal(err)
			}
		case proto.OpPatchSet:
			if err := g.SetParam(c.ModuleString(), c.ParamString(), c.Value); err != nil {
				t.Fatal(err)
			}
		case proto.OpPatchConnect:
			k := g.Modules[g.ModuleIndex(c.ParamString())].Kind
			name, ok := k.PortName(int(c.Key))
			if !ok {
				t.Fatalf("%v: no port %d", c, c.Key)
			}
			if err := g.Connect(c.ModuleString(), c.ParamString()+"."+name, c.Value, dsp.RouteOp(c.Voice)); err != nil {
				t.Fatal(err)
			}
		case proto.OpPatchCommit:
			if err := g.SetOut(c.ModuleString()); err != nil {
				t.Fatal(err)
			}
		}
	}
	return g
}

func stripName(g dsp.Graph) dsp.Graph {
	g.Name = [24]byte{}
	return g
}

// TestGraphCommandsShipped: every shipped patch turns into commands the
// engine accepts, which rebuild the same graph.
func TestGraphCommandsShipped(t *testing.T) {
	r := newPatchRig(t)
	r.h.loadLibrary(graphfile.Shipped())
	if len(r.h.lib) == 0 {
		t.Fatal("no shipped patches")
	}
	for name, lp := range r.h.lib {
		cmds, err := engine.GraphCommands(&lp.patch.Graph, 15, 9, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, c := range cmds {
			if err := c.Validate(); err != nil {
				t.Fatalf("%s: %v: %v", name, c, err)
			}
		}
		if back := replay(t, cmds); back != stripName(lp.patch.Graph) {
			t.Fatalf("%s: the commands do not rebuild the graph", name)
		}
		if c := cmds[len(cmds)-1]; c.Key != 15 || c.Channel != 9 {
			t.Fatalf("%s: commit %v", name, c)
		}
	}
}

// TestPatchNamesRefused: names that would leave the patch directory, or
// that no map could name, are refused and write nothing.
func TestPatchNamesRefused(t *testing.T) {
	for _, name := range []string{"../evil", "..", ".", ".hidden", "a/b", `a\b`, "/etc/passwd", "x\x01y", "tab\tname",
		"with space", "caf\u00e9", strings.Repeat("n", 25)} {
		t.Run(fmt.Sprintf("%q", name), func(t *testing.T) {
			cfg := t.TempDir()
			r := newPatchRig(t)
			r.h.dir = patchDir(cfg)
			r.sine1k(t)
			if got := r.do(t, "/patch/save", name); !strings.HasPrefix(got, "/patch/error save: name") &&
				!strings.HasPrefix(got, "/patch/error save: empty") {
				t.Fatalf("save %q: %s", name, got)
			}
			if got := r.do(t, "/patch/load", name); !strings.HasPrefix(got, "/patch/error load: name") {
				t.Fatalf("load %q: %s", name, got)
			}
			if entries, _ := os.ReadDir(cfg); len(entries) != 0 {
				t.Fatalf("refused save wrote into the config dir: %v", entries)
			}
		})
	}
	r := newPatchRig(t)
	r.sine1k(t)
	if got := r.do(t, "/patch/save", strings.Repeat("n", 24)); !strings.HasPrefix(got, "/patch/ok") {
		t.Fatalf("a 24-byte name: %s", got)
	}
}

// TestPatchLibraryBrokenFile: a broken user file gives one log line with
// file:line:col and is left out; the others load, and a user file
// replaces the shipped patch of its name.
func TestPatchLibraryBrokenFile(t *testing.T) {
	r := newPatchRig(t)
	if err := os.MkdirAll(r.h.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	good := "[patch]\nout = \"o\"\n\n[[module]]\nid = \"o\"\nkind = \"osc\"\nwave = \"sine\"\n"
	files := map[string]string{
		"good.toml":   good,
		"broken.toml": "[patch]\nout = \"o\"\n\n[[module]]\nid = \"o\"\nkind = \"osc\"\n  semi = 99\n",
		"pad.toml":    good, // replaces the shipped pad
		"notes.txt":   "not a patch",
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(r.h.dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r.h.loadLibrary(graphfile.Shipped())
	lines := strings.Split(strings.TrimSpace(r.log.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want one:\n%s", len(lines), r.log.String())
	}
	want := filepath.Join(r.h.dir, "broken.toml") + ":7:3: o.semi = 99 is out of range -48..48"
	if !strings.Contains(lines[0], want) {
		t.Fatalf("log line %s\nwant it to hold %q", lines[0], want)
	}
	if got := strings.Join(r.h.names(), " "); got != shippedNames(t, "good") {
		t.Fatalf("library %s", got)
	}
	if !r.h.lib["pad"].user || r.h.lib["pad"].patch.Graph.NModules != 1 {
		t.Fatal("the user's pad did not replace the shipped one")
	}
	// Loading the broken one says where it is broken.
	if got := r.do(t, "/patch/load", "broken"); !strings.HasPrefix(got, "/patch/error load: "+want) {
		t.Fatalf("load broken: %s", got)
	}
}

// TestPatchStart: the library goes into slots (patches with a program
// first), each sent as a graph with the channel returned to its preset,
// and the programs are bound; live commits then take the free slots.
func TestPatchStart(t *testing.T) {
	r := newPatchRig(t)
	shipped := fstest.MapFS{}
	for i := 0; i < 17; i++ {
		prog := ""
		if i == 16 {
			prog = "program = 80\n"
		}
		shipped[fmt.Sprintf("patches/p%02d.toml", i)] = &fstest.MapFile{
			Data: []byte("[patch]\nout = \"o\"\n" + prog + "[[module]]\nid = \"o\"\nkind = \"osc\"\n")}
	}
	r.h.loadLibrary(shipped)
	r.h.start()
	sent := r.eng.take()
	var commits, selects, progs int
	for _, c := range sent {
		switch c.Op {
		case proto.OpPatchCommit:
			commits++
		case proto.OpPatchSelect:
			if c.Value != 1 {
				t.Fatalf("start selected a slot: %v", c)
			}
			selects++
		case proto.OpPatchProgram:
			if c.Key != 80 || c.Value != 1 {
				t.Fatalf("program binding %v, want program 80 to slot 0 (value 1)", c)
			}
			progs++
		}
	}
	if commits != 16 || selects != 16 || progs != 1 {
		t.Fatalf("%d commits, %d preset selects, %d program bindings; want 16, 16, 1", commits, selects, progs)
	}
	// Each graph is confirmed before its selection and binding are kept,
	// so a cold restart replays them in the order they were played.
	want := []string{"confirm slot 0 ch 0", "keep patch-select ch 0 key 0 value 1", "keep patch-program ch 0 key 80 value 1"}
	for s := 1; s < 16; s++ {
		want = append(want, fmt.Sprintf("confirm slot %d ch 0", s), "keep patch-select ch 0 key 0 value 1")
	}
	if fmt.Sprint(r.eng.log) != fmt.Sprint(want) {
		t.Fatalf("engine calls\n%q\nwant\n%q", r.eng.log, want)
	}
	if r.h.slots[0].lib != "p16" || r.h.slots[1].lib != "p00" || r.h.slots[15].lib != "p14" {
		t.Fatalf("slots 0, 1, 15 hold %s, %s, %s", r.h.slots[0].lib, r.h.slots[1].lib, r.h.slots[15].lib)
	}
	if log := r.log.String(); !strings.Contains(log, `"0 p16 (program 80)"`) || !strings.Contains(log, `"on_demand":["p15"]`) {
		t.Fatalf("start log: %s", log)
	}
	// Every slot is full: a live commit takes a library slot that has no
	// program and that no channel plays (slot 1), never the program's.
	r.sine1k(t)
	if got := r.do(t, "/patch/commit"); got != "/patch/ok commit 1 1 " {
		t.Fatalf("commit: %s", got)
	}
	// p00 is no longer resident: loading it takes another free slot.
	r.eng.take()
	if got := r.do(t, "/patch/load/p00", int32(2)); got != "/patch/ok load p00 2 2" {
		t.Fatalf("load: %s", got)
	}
}

// TestPatchStartRefused: a library patch the synth does not take leaves
// its slot empty, with a warning, and the others load.
func TestPatchStartRefused(t *testing.T) {
	r := newPatchRig(t)
	r.eng.refuse = func(b []proto.Command) error {
		if b[len(b)-1].Key == 1 {
			return &engine.CommitError{Slot: 1, Reason: engine.CommitQueueFull}
		}
		return nil
	}
	r.h.loadLibrary(graphfile.Shipped())
	r.h.start()
	if r.h.slots[1].used || !r.h.slots[0].used || !r.h.slots[2].used {
		t.Fatalf("slots used %v %v %v, want slot 1 empty", r.h.slots[0].used, r.h.slots[1].used, r.h.slots[2].used)
	}
	if log := r.log.String(); !strings.Contains(log, "its event queue is full") || strings.Contains(log, `"1 `) {
		t.Fatalf("log: %s", log)
	}
}

// TestPatchLoadFromMap: a map's patch-load command loads the named patch
// onto the command's channel.
func TestPatchLoadFromMap(t *testing.T) {
	r := newPatchRig(t)
	r.h.loadLibrary(graphfile.Shipped())
	c := proto.Command{Op: proto.OpPatchLoad, Channel: 6}
	c.SetModule("pluck")
	r.h.hostLoad(c, patchEvent(t, "/button", float32(1)))
	if len(r.replies) != 1 || r.replies[0] != "/patch/ok load pluck 7 0" {
		t.Fatalf("replies %q", r.replies)
	}
	sent := r.eng.take()
	if len(sent) == 0 || sent[len(sent)-1].Op != proto.OpPatchCommit || sent[len(sent)-1].Channel != 6 {
		t.Fatalf("sent %s", ops(sent))
	}
	r.replies = nil
	c.SetModule("nope")
	r.h.hostLoad(c, nil)
	if len(r.replies) != 1 || !strings.HasPrefix(r.replies[0], `/patch/error load: no patch "nope"`) {
		t.Fatalf("replies %q", r.replies)
	}
}

// TestPatchCommitArgs: /patch/commit [CHANNEL] [NAME], the channel as a
// number or an address segment, the name alone when it is not a number.
func TestPatchCommitArgs(t *testing.T) {
	cases := []struct {
		addr string
		args []any
		want string
	}{
		{"/patch/commit", nil, "/patch/ok commit 1 0 "},
		{"/patch/commit", []any{int32(16)}, "/patch/ok commit 16 0 "},
		{"/patch/commit", []any{float32(2)}, "/patch/ok commit 2 0 "},
		{"/patch/commit/5", nil, "/patch/ok commit 5 0 "},
		{"/patch/commit", []any{"solo"}, "/patch/ok commit 1 0 solo"},
		{"/patch/commit/7", []any{"duo"}, "/patch/ok commit 7 0 duo"},
		{"/patch/commit", []any{int32(0)}, `/patch/error commit: channel "0" is not 1..16`},
		{"/patch/commit", []any{float32(1.5)}, `/patch/error commit: channel "1.5" is not 1..16`},
		{"/patch/commit/x", []any{"duo"}, `/patch/error commit: channel "x" is not 1..16`},
		{"/patch/commit", []any{strings.Repeat("n", 25)}, "/patch/error commit: name"},
		{"/patch/commit/1/a", []any{"b"}, "/patch/error commit: want /patch/commit [CHANNEL] [NAME]"},
	}
	for _, c := range cases {
		t.Run(c.addr+fmt.Sprint(c.args), func(t *testing.T) {
			r := newPatchRig(t)
			r.sine1k(t)
			if got := r.do(t, c.addr, c.args...); !strings.HasPrefix(got, c.want) {
				t.Fatalf("reply %q, want %q", got, c.want)
			}
		})
	}
}

// TestPatchCommitSynthRefuses: the synth's refusal of a commit reaches the
// client as /patch/error with the engine's reason, in one warning line of
// the log; the slot and the channel stay as they were, so the channel's
// next commit tries the same slot again. Silence from the synth is an
// error too.
func TestPatchCommitSynthRefuses(t *testing.T) {
	r := newPatchRig(t)
	r.sine1k(t)
	r.eng.refuse = func(b []proto.Command) error {
		c := b[len(b)-1]
		return &engine.CommitError{Slot: c.Key, Channel: c.Channel, Reason: engine.CommitNoInstance}
	}
	r.log.Reset()
	got := r.do(t, "/patch/commit", int32(2))
	want := "/patch/error commit: the synth refused the commit into graph slot 0: every program instance is in use"
	if !strings.HasPrefix(got, want) {
		t.Fatalf("reply %q\nwant %q...", got, want)
	}
	lines := strings.Split(strings.TrimSpace(r.log.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], `"level":"warn"`) || !strings.Contains(lines[0], "every program instance is in use") {
		t.Fatalf("log:\n%s\nwant one warning with the reason", r.log.String())
	}
	if r.h.chSlot[1] != -1 || r.h.slots[0].used {
		t.Fatal("a refused commit was recorded")
	}
	if want := []string{"confirm slot 0 ch 1"}; fmt.Sprint(r.eng.log) != fmt.Sprint(want) {
		t.Fatalf("engine calls %q, want %q (nothing kept)", r.eng.log, want)
	}
	r.eng.refuse = func([]proto.Command) error { return engine.ErrCommitUnconfirmed }
	if got := r.do(t, "/patch/commit", int32(2)); got != "/patch/error commit: no worker confirmed the commit in time" {
		t.Fatalf("unconfirmed: %q", got)
	}
	r.eng.refuse = nil
	if got := r.do(t, "/patch/commit", int32(2)); got != "/patch/ok commit 2 0 " {
		t.Fatalf("commit once the synth takes it: %q", got)
	}
	// A load that has to send the graph is refused the same way.
	r.eng.refuse = func(b []proto.Command) error {
		return &engine.CommitError{Slot: b[len(b)-1].Key, Reason: engine.CommitQueueFull}
	}
	r.h.loadLibrary(graphfile.Shipped())
	if got := r.do(t, "/patch/load/pluck", int32(3)); got != "/patch/error load: the synth refused the commit into graph slot 1: its event queue is full" {
		t.Fatalf("load: %q", got)
	}
	if r.h.chSlot[2] != -1 {
		t.Fatal("a refused load moved the channel")
	}
}

// TestPatchCommitInBundle: a commit or a load in a timetagged bundle is
// sent for the frame the bundle's time names, the commit itself (the
// staging edits are not timed); without a timetag, as soon as possible.
// Each commit carries its own ticket.
func TestPatchCommitInBundle(t *testing.T) {
	r := newPatchRig(t)
	r.sine1k(t)
	due := time.Now().Add(200 * time.Millisecond)
	r.h.frameAt = func(at time.Time) uint64 {
		if !at.Equal(due) {
			t.Fatalf("frameAt(%v), want the bundle's time %v", at, due)
		}
		return 96000
	}
	commit := func(ev *controllers.Event) []proto.Command {
		t.Helper()
		r.replies = nil
		r.h.handleOSC(ev)
		if len(r.replies) != 1 || !strings.HasPrefix(r.replies[0], "/patch/ok") {
			t.Fatalf("replies %q", r.replies)
		}
		return r.eng.take()
	}
	ev := patchEvent(t, "/patch/commit", int32(1))
	ev.Due = due
	sent := commit(ev)
	var tickets []uint16
	for i, c := range sent {
		timed := c.Op == proto.OpPatchCommit
		if timed != (c.Frame == 96000 && c.Flags == proto.FlagAbsolute) || !timed && (c.Frame != 0 || c.Flags != 0) {
			t.Fatalf("command %d %v: only the commit should carry the bundle's frame", i, &c)
		}
		if timed {
			tickets = append(tickets, c.Voice)
		}
	}
	sent = commit(patchEvent(t, "/patch/commit", int32(1)))
	if c := sent[len(sent)-1]; c.Frame != 0 || c.Flags != 0 {
		t.Fatalf("an untimed commit was sent for frame %d", c.Frame)
	}
	tickets = append(tickets, sent[len(sent)-1].Voice)
	if tickets[0] == 0 || tickets[0] == tickets[1] {
		t.Fatalf("tickets %v, want two different ones", tickets)
	}
	// Loading the library patch twice: the second load only selects its
	// slot, at the bundle's frame, and tells the engine to keep it.
	r.h.loadLibrary(graphfile.Shipped())
	commit(patchEvent(t, "/patch/load/pad", int32(4)))
	r.eng.log = nil
	ev = patchEvent(t, "/patch/load/pad", int32(5))
	ev.Due = due
	sent = commit(ev)
	if len(sent) != 1 || sent[0].Op != proto.OpPatchSelect || sent[0].Frame != 96000 || sent[0].Flags != proto.FlagAbsolute || sent[0].Channel != 4 {
		t.Fatalf("timed select: %v", sent)
	}
	if want := "[keep patch-select ch 4 key 1 value 0]"; fmt.Sprint(r.eng.log) != want {
		t.Fatalf("engine calls %q, want %s", r.eng.log, want)
	}
}

// TestPatchLoadKit: /patch/load of a kit sends the whole kit to the synth
// for channel 10 (or the channel named), and the engine keeps it for a
// cold restart; /patch/list names the kits too; a user kit replaces the
// shipped one and a broken one is one log line.
func TestPatchLoadKit(t *testing.T) {
	r := newPatchRig(t)
	r.h.loadLibrary(graphfile.Shipped())
	r.h.loadKits(graphfile.Kits())
	if got := r.do(t, "/patch/list"); got != "/patch/ok list "+shippedNames(t, "drums") {
		t.Fatalf("list: %s", got)
	}
	for _, c := range []struct {
		args []any
		ch   uint8
	}{{nil, 9}, {[]any{int32(3)}, 2}} {
		want := fmt.Sprintf("/patch/ok load drums %d kit", c.ch+1)
		if got := r.do(t, "/patch/load/drums", c.args...); got != want {
			t.Fatalf("load %v: %s, want %s", c.args, got, want)
		}
		sent := r.eng.take()
		if len(sent) < 100 || sent[0].Op != proto.OpKitBegin || sent[len(sent)-1].Op != proto.OpKitCommit || sent[len(sent)-1].Channel != c.ch {
			t.Fatalf("load %v sent %d commands, %v ... %v", c.args, len(sent), sent[0].String(), sent[len(sent)-1].String())
		}
		kept := 0
		for _, l := range r.eng.log {
			if strings.HasPrefix(l, "keep ") {
				kept++
			}
		}
		if kept != len(sent) {
			t.Fatalf("kept %d of the %d kit commands", kept, len(sent))
		}
		r.eng.log = nil
	}

	// The user's kits: one replaces drums, one is broken.
	r2 := newPatchRig(t)
	dir := r2.h.kitDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	small := "[kit]\nname = \"drums\"\n\n[[sound]]\nname = \"beep\"\nkeys = [36]\nout = \"o\"\n\n[[sound.module]]\nid = \"o\"\nkind = \"osc\"\n"
	broken := "[kit]\nname = \"broken\"\n\n[[sound]]\nkeys = [300]\n"
	for name, src := range map[string]string{"drums.toml": small, "broken.toml": broken} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r2.h.loadKits(graphfile.Kits())
	lines := strings.Split(strings.TrimSpace(r2.log.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], filepath.Join(dir, "broken.toml")+":") {
		t.Fatalf("log, want one line for broken.toml:\n%s", r2.log.String())
	}
	if got := r2.do(t, "/patch/load/drums"); got != "/patch/ok load drums 10 kit" {
		t.Fatalf("load: %s", got)
	}
	if sent := r2.eng.take(); len(sent) > 20 {
		t.Fatalf("the user's one-sound kit took %d commands: the shipped kit was loaded", len(sent))
	}
}
