package graphfile

import (
	"io/fs"
	"reflect"
	"testing"

	"github.com/chronus-audio/chronus/dsp"
)

// FuzzParse: Parse never panics; what it accepts compiles, and encodes
// to a file that parses back to the same graph.
func FuzzParse(f *testing.F) {
	for _, src := range shippedPatches(f) {
		f.Add(src)
	}
	names, _ := fs.Glob(Shipped(), "presets/*.toml")
	for _, n := range names {
		src, _ := fs.ReadFile(Shipped(), n)
		f.Add(src)
	}
	f.Add([]byte("[patch]\nout = \"a\"\n[[module]]\nid = \"a\"\nkind = \"amp\"\n"))
	f.Add([]byte("[[module]]\nid=\"o\"\nkind=\"osc\"\nwave=\"sine\"\n[[route]]\nfrom=\"o\"\nto=\"o.semi\"\n"))
	f.Add([]byte("module = [{id = \"o\", kind = \"osc\"}, {id = \"a\", kind = \"amp\"}]\nroute = [{from = \"o\", to = \"a.in\", amount = 1e308}]\npatch.out = \"a\"\n"))
	f.Add([]byte("[patch]\nname = \"\\u0000\"\nout = \"\"\n"))
	f.Add([]byte("patch = {out = \"a\", one_shot = true, choke = 9}\nmodule = [{id = \"n\", kind = \"noise\"}, {id = \"e\", kind = \"env\", sustain = 0}, {id = \"a\", kind = \"amp\"}]\nroute = [{from = \"n\", to = \"a.in\"}, {from = \"e\", to = \"a.gain\"}]\n"))
	f.Add([]byte("fx = [{kind = \"delay\", time = 0.5}, {id = \"d\", kind = \"drive\", tone = 900}]\nmodule = [{id = \"o\", kind = \"osc\"}]\npatch.out = \"o\"\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		g, err := Parse("fuzz.toml", src)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		var p dsp.GraphProgram
		if err := dsp.Compile(&g, &p); err != nil {
			t.Fatalf("accepted a graph that does not compile: %v", err)
		}
		enc := Encode(&g)
		back, err := Parse("fuzz.toml", enc)
		if err != nil {
			t.Fatalf("encoded graph does not parse: %v\n%s", err, enc)
		}
		if back != g {
			t.Fatalf("round trip changed the graph:\n%s", enc)
		}
	})
}

// FuzzParseKit: ParseKit never panics; what it accepts has sounds that
// compile and fit a synth, and encodes to a file that parses back to
// the same kit.
func FuzzParseKit(f *testing.F) {
	src, _ := fs.ReadFile(Kits(), "kits/drums.toml")
	f.Add(src)
	f.Add([]byte(kitSrc))
	f.Add([]byte("[[template]]\nname = \"t\"\nout = \"a\"\ntemplate.module = 1\n"))
	f.Add([]byte("template = [{name = \"t\", out = \"o\", module = [{id = \"o\", kind = \"osc\"}]}]\nsound = [{keys = [\"0-127\"], template = \"t\", set = {\"o.hz\" = 1e4, \"o.wave\" = \"saw\"}}]\n"))
	f.Add([]byte("sound = [{keys = 1, out = \"o\", module = [{id = \"o\", kind = \"osc\"}], fx = [{kind = \"drive\"}]}]\n"))
	f.Add([]byte("[[sound]]\nkeys = [\"3-\", -1, 3.5]\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		k, err := ParseKit("fuzz.toml", src)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		for i := range k.Sounds {
			var p dsp.GraphProgram
			if err := dsp.Compile(&k.Sounds[i].Graph, &p); err != nil {
				t.Fatalf("sound %d does not compile: %v", i, err)
			}
		}
		enc := EncodeKit(k)
		back, err := ParseKit("fuzz.toml", enc)
		if err != nil {
			t.Fatalf("encoded kit does not parse: %v\n%s", err, enc)
		}
		if !reflect.DeepEqual(back, k) {
			t.Fatalf("round trip changed the kit:\n%s", enc)
		}
	})
}
