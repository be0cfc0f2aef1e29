package engine

import (
	"fmt"
	"io/fs"
	"math"
	"strings"
	"testing"

	"github.com/chronus-audio/chronus/dsp"
	"github.com/chronus-audio/chronus/dsp/graphfile"
	"github.com/chronus-audio/chronus/engine/proto"
)

// shippedGraphs returns the example patches of package graphfile.
func shippedGraphs(t testing.TB) map[string]dsp.Graph {
	t.Helper()
	gs := map[string]dsp.Graph{}
	err := fs.WalkDir(graphfile.Shipped(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".toml") {
			return err
		}
		src, err := fs.ReadFile(graphfile.Shipped(), path)
		if err != nil {
			return err
		}
		g, err := graphfile.Parse(path, src)
		if err != nil {
			return err
		}
		gs[path] = g
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) == 0 {
		t.Fatal("no shipped patches")
	}
	return gs
}

// graphFromCommands decodes a GraphCommands sequence with the Graph editing methods
// (independently of the synth's staging code).
func graphFromCommands(t *testing.T, cs []proto.Command) (g dsp.Graph, slot, ch uint8) {
	t.Helper()
	for i, c := range cs {
		var err error
		switch c.Op {
		case proto.OpPatchAbort:
			if i != 0 {
				t.Fatalf("abort at %d", i)
			}
			g = dsp.Graph{}
		case proto.OpPatchCreate:
			k, ok := dsp.ParseModuleKind(c.ParamString())
			if !ok {
				t.Fatalf("kind %q", c.ParamString())
			}
			err = g.AddModule(c.ModuleString(), k)
		case proto.OpPatchSet:
			if c.ModuleString() != dsp.PatchOptions {
				err = g.SetParam(c.ModuleString(), c.ParamString(), c.Value)
				break
			}
			switch c.ParamString() {
			case dsp.OptionOneShot:
				g.OneShot = c.Value == 1
			case dsp.OptionChoke:
				g.Choke = uint8(c.Value)
			default:
				t.Fatalf("unknown option %q", c.ParamString())
			}
		case proto.OpPatchConnect:
			to := g.ModuleIndex(c.ParamString())
			if to < 0 {
				t.Fatalf("connect to unknown %q", c.ParamString())
			}
			port, ok := g.Modules[to].Kind.PortName(int(c.Key))
			if !ok {
				t.Fatalf("port %d", c.Key)
			}
			err = g.Connect(c.ModuleString(), c.ParamString()+"."+port, c.Value, dsp.RouteOp(c.Voice))
		case proto.OpPatchCommit:
			if i != len(cs)-1 {
				t.Fatalf("commit at %d of %d", i, len(cs))
			}
			err = g.SetOut(c.ModuleString())
			slot, ch = c.Key, c.Channel
		default:
			t.Fatalf("unexpected op %v", c.Op)
		}
		if err != nil {
			t.Fatalf("command %d (%v): %v", i, c.Op, err)
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("command %d (%v) invalid: %v", i, c.Op, err)
		}
	}
	return g, slot, ch
}

func TestGraphCommandsRoundTrip(t *testing.T) {
	graphs := shippedGraphs(t)
	for name, g := range shippedGraphs(t) {
		// The same graph with the patch options on travels too.
		g.OneShot, g.Choke = !g.OneShot, 3
		graphs[name+" with options"] = g
	}
	for name, g := range graphs {
		t.Run(name, func(t *testing.T) {
			prefix := []proto.Command{{Op: proto.OpNoteOn}}
			cs, err := GraphCommands(&g, 7, 3, prefix)
			if err != nil {
				t.Fatal(err)
			}
			if cs[0].Op != proto.OpNoteOn {
				t.Fatal("the prefix was not kept")
			}
			cs = cs[1:]
			sets := 0
			for i := 0; i < int(g.NModules); i++ {
				for s := g.Modules[i].Set; s != 0; s &= s - 1 {
					sets++
				}
			}
			opts := 0
			if g.OneShot {
				opts++
			}
			if g.Choke != 0 {
				opts++
			}
			if want := 2 + int(g.NModules) + sets + int(g.NRoutes) + opts; len(cs) != want {
				t.Fatalf("%d commands, want %d", len(cs), want)
			}
			got, slot, ch := graphFromCommands(t, cs)
			if slot != 7 || ch != 3 {
				t.Fatalf("slot %d channel %d", slot, ch)
			}
			want := g
			want.Name = [24]byte{} // the name does not travel
			if got != want {
				t.Fatalf("rebuilt graph differs:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestGraphCommandsErrors(t *testing.T) {
	base := func() dsp.Graph {
		var g dsp.Graph
		_ = g.AddModule("osc1", dsp.KindOsc)
		_ = g.AddModule("amp1", dsp.KindAmp)
		_ = g.Connect("osc1", "amp1.in", 1, dsp.RouteAdd)
		_ = g.SetOut("amp1")
		return g
	}
	ok := base()
	if _, err := GraphCommands(&ok, 0, 0, nil); err != nil {
		t.Fatalf("valid graph: %v", err)
	}
	tests := []struct {
		name    string
		edit    func(g *dsp.Graph)
		slot    uint8
		channel uint8
		want    string
	}{
		{"slot", func(*dsp.Graph) {}, dsp.GraphSlots, 0, "slot"},
		{"channel", func(*dsp.Graph) {}, 0, 16, "channel"},
		{"no out", func(g *dsp.Graph) { g.Out = [16]byte{} }, 0, 0, "output"},
		{"unknown port", func(g *dsp.Graph) { _ = g.Connect("osc1", "amp1.nope", 1, dsp.RouteAdd) }, 0, 0, "unknown port"},
		{"unknown module", func(g *dsp.Graph) { _ = g.Connect("osc1", "ghost.in", 1, dsp.RouteAdd) }, 0, 0, "unknown module"},
		{"bad kind", func(g *dsp.Graph) { g.Modules[0].Kind = 99 }, 0, 0, "kind"},
		{"set beyond params", func(g *dsp.Graph) { g.Modules[1].Set |= 1 << 5 }, 0, 0, "parameter"},
		{"bad value", func(g *dsp.Graph) { _ = g.SetParam("osc1", "level", math.NaN()) }, 0, 0, "bad value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := base()
			tc.edit(&g)
			dst := make([]proto.Command, 2, 8)
			out, err := GraphCommands(&g, tc.slot, tc.channel, dst)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "engine: ") {
				t.Fatalf("err %v, want one containing %q", err, tc.want)
			}
			if len(out) != 2 {
				t.Fatalf("dst extended to %d on error", len(out))
			}
		})
	}
}

// oscGraph is the smallest graph: one oscillator at hz (0 follows the
// key), the output. Without an envelope its notes sound while held.
func oscGraph(t testing.TB, hz float64) dsp.Graph {
	t.Helper()
	var g dsp.Graph
	if err := g.AddModule("o", dsp.KindOsc); err != nil {
		t.Fatal(err)
	}
	if err := g.SetParam("o", "hz", hz); err != nil {
		t.Fatal(err)
	}
	if err := g.SetOut("o"); err != nil {
		t.Fatal(err)
	}
	return g
}

// testWorker is a worker with real shared memory and a synth but no
// process: the test feeds it commands itself.
func testWorker(t testing.TB) *worker {
	t.Helper()
	reg, err := newRegion("chronus-test", 64, dsp.Config{SampleRate: testRate, Voices: 64, BendRange: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.close)
	s, err := dsp.New(dsp.Config{SampleRate: testRate, Voices: 64})
	if err != nil {
		t.Fatal(err)
	}
	return &worker{r: reg, synth: s}
}

// feed encodes cs into wire slots and applies them as the render thread
// does.
func (w *worker) feed(cs ...proto.Command) {
	var b [proto.Size]byte
	for i := range cs {
		cs[i].Encode(&b)
		w.apply(&b)
	}
}

// render renders one 64-frame block.
func (w *worker) render() { w.synth.Render(w.left[:64], w.right[:64]) }

// TestCommitOutcomes: a worker publishes under each commit's ticket
// whether the synth took it, parked it, or refused it and why; the
// supervisor's reading of the header turns that into the error a client
// gets. Exhausting the program instances the way a player does: every
// commit of a new version gets a note held on it.
func TestCommitOutcomes(t *testing.T) {
	w := testWorker(t)
	e := &Engine{}
	e.slots[0].Store(&workerProc{reg: w.r})
	g := oscGraph(t, 0)
	burst, err := GraphCommands(&g, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.feed(burst[:len(burst)-1]...)
	commit := func(t uint16, slot uint8) proto.Command {
		return proto.Command{Op: proto.OpPatchCommit, Key: slot, Module: burst[len(burst)-1].Module, Voice: t}
	}
	outcome := func(ticket uint16) error {
		t.Helper()
		err, ok := e.commitOutcome(ticket)
		if !ok {
			t.Fatalf("ticket %d: no outcome published", ticket)
		}
		return err
	}
	// 48 versions of slot 0, each with a note held on it: every instance
	// is then named by the slot or by a sounding note.
	for k := 0; k < 48; k++ {
		tk := uint16(100 + k)
		w.feed(commit(tk, 0))
		w.render() // the commit switches the slot
		w.synth.Schedule(dsp.Event{Kind: dsp.NoteOn, Key: uint8(30 + k), Value: 0.5, Frame: w.synth.Frame()})
		w.render()
		if err := outcome(tk); err != nil {
			t.Fatalf("commit %d: %v", k, err)
		}
	}
	if n := w.synth.FreeGraphInstances(); n != 0 {
		t.Fatalf("%d instances free after 48 held versions", n)
	}
	w.feed(commit(200, 0)) // parks: taken, it waits for the oldest version to fade
	if !w.synth.GraphParked() {
		t.Fatal("the 49th commit did not park")
	}
	w.feed(commit(201, 0), commit(202, 20))
	for _, tc := range []struct {
		ticket uint16
		want   error
	}{
		{200, nil},
		{201, &CommitError{Reason: CommitNoInstance}},
		{202, &CommitError{Reason: CommitBadTarget}},
	} {
		got := outcome(tc.ticket)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Fatalf("ticket %d: %v, want %v", tc.ticket, got, tc.want)
		}
	}
	// Once the oldest version has faded the parked commit takes its
	// instance. An empty staged graph: the compile error travels with
	// its ticket.
	for i := 0; i < 50 && w.synth.GraphParked(); i++ {
		w.render()
	}
	if w.synth.GraphParked() {
		t.Fatal("the parked commit never took effect")
	}
	w.feed(proto.Command{Op: proto.OpPatchAbort}, commit(203, 1))
	err = outcome(203)
	ce, ok := err.(*CommitError)
	if !ok || ce.Reason != CommitInvalid || ce.Graph.Code != dsp.ErrUnknownOut {
		t.Fatalf("empty graph: %#v", err)
	}
	if !strings.Contains(err.Error(), "does not compile: ") {
		t.Fatalf("message %q", err)
	}
	// Not yet read, and no ticket: nothing published.
	if _, ok := e.commitOutcome(204); ok {
		t.Fatal("an outcome for a ticket never sent")
	}
}

// TestCommitOutcomeDoesNotAllocate: the render thread's commit path,
// taken or refused, allocates nothing.
func TestCommitOutcomeDoesNotAllocate(t *testing.T) {
	w := testWorker(t)
	g := oscGraph(t, 0)
	burst, err := GraphCommands(&g, 3, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.feed(burst[:len(burst)-1]...)
	var ok, bad [proto.Size]byte
	c := burst[len(burst)-1]
	c.Voice = 7
	c.Encode(&ok)
	c.Voice, c.Key = 8, 1
	if err := c.Module.Set("nope"); err != nil {
		t.Fatal(err)
	}
	c.Encode(&bad) // an output the graph does not have: refused, with an error
	if n := testing.AllocsPerRun(200, func() {
		w.apply(&ok)
		w.apply(&bad)
		w.render()
	}); n != 0 {
		t.Fatalf("%v allocations per commit", n)
	}
	if v := w.r.u64(commitEntry(7)).Load(); v != 7|commitTaken<<16 {
		t.Fatalf("outcome word %#x", v)
	}
	if v := w.r.u64(commitEntry(8)).Load(); v != 8|commitInvalid<<16 {
		t.Fatalf("outcome word %#x", v)
	}
}

// TestPatchJournal: what a cold restart replays is the last burst taken
// into each slot, then the program bindings, then every channel's last
// selection, then an abort; a burst's commit counts as a selection of its
// channel, an unbinding removes the binding, and a frame still ahead is
// kept.
func TestPatchJournal(t *testing.T) {
	g1, g2 := oscGraph(t, 220), oscGraph(t, 880)
	b1, _ := GraphCommands(&g1, 4, 2, nil)
	b2, _ := GraphCommands(&g2, 4, 3, nil)
	b3, _ := GraphCommands(&g1, 1, 0, nil)
	b2[len(b2)-1].Voice = 9
	var j patchJournal
	j.keep(b1)
	j.keep(b2) // replaces slot 4; channel 2 still selects slot 4
	j.keep(b3)
	j.keep([]proto.Command{
		{Op: proto.OpPatchSelect, Channel: 0, Value: 1},
		{Op: proto.OpPatchProgram, Key: 7, Value: 5},
		{Op: proto.OpPatchProgram, Key: 9, Value: 2},
		{Op: proto.OpPatchProgram, Key: 9, Value: 0},
		{Op: proto.OpPatchSelect, Channel: 5, Key: 1, Frame: 9000, Flags: proto.FlagAbsolute},
	})
	j.keep(b1[:2]) // not a whole burst
	got := j.commands(5000, 77)
	var want []proto.Command
	want = append(want, b3...)
	want = append(want, b2...)
	want[len(want)-1].Voice = 0
	want = append(want,
		proto.Command{Op: proto.OpPatchProgram, Key: 7, Value: 5},
		proto.Command{Op: proto.OpPatchSelect, Channel: 0, Value: 1},
		proto.Command{Op: proto.OpPatchSelect, Channel: 2, Key: 4},
		proto.Command{Op: proto.OpPatchSelect, Channel: 3, Key: 4},
		proto.Command{Op: proto.OpPatchSelect, Channel: 5, Key: 1, Frame: 9000},
		proto.Command{Op: proto.OpPatchAbort})
	for i := range want {
		if want[i].Frame == 0 {
			want[i].Frame = 5000
		}
		want[i].Flags, want[i].Seq = proto.FlagAbsolute, 77
	}
	if len(got) != len(want) {
		t.Fatalf("%d commands, want %d:\n%v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("command %d: %v\nwant %v", i, &got[i], &want[i])
		}
	}
	if j.graphs() != 2 {
		t.Fatalf("%d graphs", j.graphs())
	}
	var empty patchJournal
	if empty.commands(0, 0) != nil {
		t.Fatal("an empty journal replays commands")
	}
}

// BenchmarkApplyCommit is the render thread's cost of one ticketed commit
// (compile, queue, publish) and the block that switches to it.
func BenchmarkApplyCommit(b *testing.B) {
	w := testWorker(b)
	g := oscGraph(b, 0)
	burst, err := GraphCommands(&g, 0, 0, nil)
	if err != nil {
		b.Fatal(err)
	}
	w.feed(burst[:len(burst)-1]...)
	c := burst[len(burst)-1]
	c.Voice = 1
	var slot [proto.Size]byte
	c.Encode(&slot)
	b.ReportAllocs()
	for b.Loop() {
		w.apply(&slot)
		w.render()
	}
	if v := w.r.u64(commitEntry(1)).Load(); v != 1|commitTaken<<16 {
		b.Fatalf("outcome word %#x", v)
	}
}
