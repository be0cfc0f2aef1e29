package graphfile

import (
	"strings"
	"testing"
)

// TestPatchProgram: [patch] program is read (0..127), refused with its
// position when it is not a program number, and survives EncodePatch.
func TestPatchProgram(t *testing.T) {
	const body = "\n[[module]]\nid = \"o\"\nkind = \"osc\"\n"
	cases := []struct {
		name, head string
		want       int
		err        string
	}{
		{"none", "[patch]\nout = \"o\"\n", NoProgram, ""},
		{"zero", "[patch]\nout = \"o\"\nprogram = 0\n", 0, ""},
		{"top", "[patch]\nprogram = 127\nout = \"o\"\n", 127, ""},
		{"too high", "[patch]\nout = \"o\"\nprogram = 128\n", 0, "p.toml:3:1: patch.program must be a MIDI program number 0..127"},
		{"negative", "[patch]\nout = \"o\"\nprogram = -1\n", 0, "p.toml:3:1: patch.program must be"},
		{"float", "[patch]\nout = \"o\"\n  program = 1.5\n", 0, "p.toml:3:3: patch.program must be"},
		{"string", "[patch]\nout = \"o\"\nprogram = \"80\"\n", 0, "p.toml:3:1: patch.program must be"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := ParsePatch("p.toml", []byte(c.head+body))
			if c.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Program != c.want {
				t.Fatalf("program %d, want %d", p.Program, c.want)
			}
			g, err := Parse("p.toml", []byte(c.head+body))
			if err != nil || g != p.Graph {
				t.Fatalf("Parse and ParsePatch disagree: %v", err)
			}
			enc := EncodePatch(&p)
			back, err := ParsePatch("p.toml", enc)
			if err != nil {
				t.Fatalf("%v\n%s", err, enc)
			}
			if back != p {
				t.Fatalf("round trip changed the patch:\n%s", enc)
			}
			if has := strings.Contains(string(Encode(&p.Graph)), "program"); has {
				t.Fatalf("Encode wrote a program line:\n%s", Encode(&p.Graph))
			}
		})
	}
}

// FuzzParsePatch: what ParsePatch accepts has a program in 0..127 or
// none, agrees with Parse, and survives EncodePatch.
func FuzzParsePatch(f *testing.F) {
	for _, src := range shippedPatches(f) {
		f.Add(src)
	}
	f.Add([]byte("[patch]\nout = \"o\"\nprogram = 80\n[[module]]\nid = \"o\"\nkind = \"osc\"\n"))
	f.Add([]byte("patch = {out = \"o\", program = 0}\nmodule = [{id = \"o\", kind = \"osc\"}]\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := ParsePatch("fuzz.toml", src)
		if err != nil {
			return
		}
		if p.Program < NoProgram || p.Program > 127 {
			t.Fatalf("program %d", p.Program)
		}
		if g, err := Parse("fuzz.toml", src); err != nil || g != p.Graph {
			t.Fatalf("Parse disagrees: %v", err)
		}
		enc := EncodePatch(&p)
		back, err := ParsePatch("fuzz.toml", enc)
		if err != nil || back != p {
			t.Fatalf("round trip: %v\n%s", err, enc)
		}
	})
}
