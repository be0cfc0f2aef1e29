package engine

import (
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
			err = g.SetParam(c.ModuleString(), c.ParamString(), c.Value)
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
	for name, g := range shippedGraphs(t) {
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
			if want := 2 + int(g.NModules) + sets + int(g.NRoutes); len(cs) != want {
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
