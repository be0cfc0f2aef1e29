package mapping

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Every kind of problem is reported at the line and column of the key (or,
// for syntax errors, the character) that causes it.
func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"toml syntax", "[[rule]\naddress = \"/a\"\n",
			"test.toml:1:7: expected ']]' to close array table name"},
		{"invalid utf-8", "a = \"\xff\"\n",
			"test.toml:1:6: invalid UTF-8 character in basic string"},
		{"unknown top-level key", "rules = 1\n[[rule]]\ncc = 1\nto = { do = \"control\" }\n",
			`test.toml:1:1: unknown key "rules" in the file; did you mean "rule"?`},
		{"unknown rule key", "[[rule]]\naddress = \"/a\"\nchanel = 3\nto = { do = \"set\", param = \"filter/cutoff\" }\n",
			`test.toml:3:1: unknown key "chanel" in a rule; did you mean "channel"?`},
		{"unknown [map] key", "[map]\ndescripton = \"x\"\n",
			`test.toml:2:1: unknown key "descripton" in [map]; did you mean "description"?`},
		{"unknown target key", "[[rule]]\ncc = 3\nto = { do = \"control\", bogus = 1 }\n",
			`test.toml:3:24: unknown key "bogus" in a target (do = "control" takes: channel, number, range, curve, steps, arg, in)`},
		{"key of another action", "[[rule]]\ncc = 3\nto = { do = \"control\", velocity = 1 }\n",
			`test.toml:3:24: velocity does not apply to do = "control" (it takes: channel, number, range, curve, steps, arg, in)`},
		{"unknown parameter", "[[rule]]\naddress = \"/a\"\nto = { do = \"set\", param = \"filter/cutof\" }\n",
			`test.toml:3:20: unknown parameter "filter/cutof"; did you mean "filter/cutoff"?`},
		{"parameter without module", "[[rule]]\naddress = \"/a\"\nto = { do = \"set\", param = \"cutoff\" }\n",
			`test.toml:3:20: param must be "module/name", e.g. "filter/cutoff", not "cutoff"`},
		{"range outside the parameter", "[[rule]]\ncc = 74\nto = { do = \"set\", param = \"filter/cutoff\", range = [0, 30000] }\n",
			"test.toml:3:45: range [0, 30000] is outside filter/cutoff (10..24000)"},
		{"range not a pair", "[[rule]]\naddress = \"/a\"\nto = [ { do = \"note\", key = 60 }, { do = \"set\", param = \"env/attack\", range = [0, \"x\"] } ]\n",
			"test.toml:3:71: range must be [low, high], two finite numbers"},
		{"empty range", "[[rule]]\ncc = 1\nto = { do = \"control\", range = [0.5, 0.5] }\n",
			"test.toml:3:24: range [0.5, 0.5] is empty"},
		{"bend range", "[[rule]]\ncc = 1\nto = { do = \"bend\", range = [-2, 1] }\n",
			"test.toml:3:21: range [-2, 1] is outside the target's -1..1 (-1..1)"},
		{"unknown curve", "[[rule]]\ncc = 74\nto = { do = \"set\", param = \"filter/cutoff\", curve = \"squiggle\" }\n",
			`test.toml:3:45: unknown curve "squiggle" (known: linear, exponential, logarithmic, inverted, stepped, none)`},
		{"curve typo", "[[rule]]\ncc = 74\nto = { do = \"set\", param = \"filter/cutoff\", curve = \"exponental\" }\n",
			`test.toml:3:45: unknown curve "exponental"; did you mean "exponential"?`},
		{"stepped without steps", "[[rule]]\ncc = 74\n[[rule.to]]\ndo = \"set\"\nparam = \"filter/cutoff\"\ncurve = \"stepped\"\n",
			`test.toml:6:1: curve = "stepped" needs steps = N (2 or more)`},
		{"steps too few", "[[rule]]\ncc = 74\n[[rule.to]]\ndo = \"set\"\nparam = \"osc1/wave\"\nsteps = 1\n",
			"test.toml:6:1: steps = 1 is out of range 2..4096"},
		{"channel 0", "[[rule]]\ncc = 74\nchannel = 0\nto = { do = \"control\" }\n",
			"test.toml:3:1: channel must be an integer 1..16 or a range [low, high] within it"},
		{"target channel 17", "[[rule]]\ncc = 74\nto = { do = \"control\", channel = 17 }\n",
			`test.toml:3:24: channel must be "event", "all" or 1..16 (MIDI channels count from 1)`},
		{"note on all channels", "[[rule]]\nnote = 60\nto = { do = \"note\", channel = \"all\" }\n",
			`test.toml:3:21: channel must be "event" or 1..16 (MIDI channels count from 1)`},
		{"backwards note range", "[[rule]]\nnote = [72, 60]\nto = { do = \"note\" }\n",
			"test.toml:2:1: note range [72, 60] runs backwards"},
		{"note key from an OSC message", "[[rule]]\naddress = \"/a\"\nto = { do = \"note\" }\n",
			"test.toml:3:1: give key: these events carry no note or controller number"},
		{"segment beyond the address", "[[rule]]\naddress = \"/a/b\"\nto = { do = \"note\", key = \"$3\" }\n",
			`test.toml:3:21: key = "$3", but the address "/a/b" has only 2 segments`},
		{"channel filter on OSC", "[[rule]]\naddress = \"/a\"\nchannel = 1\nto = { do = \"record\" }\n",
			"test.toml:3:1: channel filters MIDI events; OSC messages have none"},
		{"arg on MIDI", "[[rule]]\ncc = 1\narg = 1\nto = { do = \"control\" }\n",
			"test.toml:3:1: arg picks an OSC argument, but the rule does not match only OSC messages"},
		{"cc filter without control", "[[rule]]\nkind = \"note\"\ncc = 1\nto = { do = \"note\" }\n",
			"test.toml:3:1: cc filters control events, but the rule matches none"},
		{"unknown kind", "[[rule]]\nkind = \"notes\"\nto = { do = \"note\" }\n",
			`test.toml:2:1: unknown kind "notes"; did you mean "note"?`},
		{"no match keys", "[[rule]]\nname = \"x\"\nto = { do = \"record\" }\n",
			"test.toml:1:3: say which events the rule matches: kind, address, note, cc or program"},
		{"no targets", "[[rule]]\ncc = 1\n",
			"test.toml:1:3: the rule does nothing: add to = { do = ... }"},
		{"bad address", "[[rule]]\naddress = \"/a[\"\nto = { do = \"record\" }\n",
			`test.toml:2:1: address "/a[": '[' without a matching ']' in the same segment`},
		{"address with another kind", "[[rule]]\nkind = \"note\"\naddress = \"/a\"\nto = { do = \"note\" }\n",
			"test.toml:3:1: address only matches OSC messages, but kind says otherwise"},
		{"wrong type", "[[rule]]\nname = 5\ncc = 1\nto = { do = \"control\" }\n",
			"test.toml:2:1: name must be a string, not an integer"},
		{"trigger without value", "[[rule]]\naddress = \"/a\"\nto = { do = \"trigger\", param = \"lfo/shape\" }\n",
			`test.toml:3:1: do = "trigger" needs the value to set`},
		{"trigger value outside", "[[rule]]\naddress = \"/a\"\nto = { do = \"trigger\", param = \"lfo/shape\", value = 9 }\n",
			"test.toml:3:45: value = 9 is outside lfo/shape (0..4)"},
		{"velocity 0", "[[rule]]\naddress = \"/a\"\nto = { do = \"note\", key = 60, velocity = 0 }\n",
			`test.toml:3:31: velocity must be "value" or 1..127`},
		{"patch name with a space", "[[rule]]\naddress = \"/a\"\nto = { do = \"patch-load\", name = \"my patch\" }\n",
			"test.toml:3:27: name must be 1..16 printable ASCII characters without spaces"},
		{"unknown do, and one more", "[[rule]]\ncc = 1\nto = { do = \"control\" }\n[[rule]]\ncc=2\nto={do=\"flip\"}\n[[rule]]\ncc=3\nto={do=\"control\", bogus=1}\n",
			`test.toml:6:5: unknown do = "flip" (known: all-notes-off, `},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Compile("test.toml", []byte(tc.src))
			if err == nil {
				t.Fatalf("compiled (%d rules); want error %q", m.Len(), tc.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			if got := err.Error(); !strings.HasPrefix(got, tc.want) {
				t.Errorf("error\n got: %s\nwant: %s", got, tc.want)
			}
		})
	}
}

func TestCompileCountsMoreProblems(t *testing.T) {
	src := "[[rule]]\ncc = 1\nto = { do = \"flip\" }\n[[rule]]\ncc = 2\nto = { do = \"flop\" }\n[[rule]]\ncc = 3\nto = { do = \"flap\" }\n"
	_, err := Compile("test.toml", []byte(src))
	if err == nil || !strings.HasPrefix(err.Error(), "test.toml:3:8: ") || !strings.HasSuffix(err.Error(), "(and 2 more problems)") {
		t.Fatalf("got %v; want the first problem at 3:8 and a count of 2 more", err)
	}
}

func TestCompileTooLarge(t *testing.T) {
	src := make([]byte, MaxFileSize+1)
	if _, err := Compile("big.toml", src); err == nil || !strings.HasPrefix(err.Error(), "big.toml: the file is") {
		t.Fatalf("got %v", err)
	}
}

// The three ways TOML can write targets compile to the same map, and the
// parameter names become the synth's canonical ones.
func TestCompileTargetForms(t *testing.T) {
	forms := []string{
		"[[rule]]\naddress = \"/x\"\nto = { do = \"set\", param = \"sine/frequency\", curve = \"none\" }\n",
		"[[rule]]\naddress = \"/x\"\nto = [ { do = \"set\", param = \"sine/frequency\", curve = \"none\" } ]\n",
		"[[rule]]\naddress = \"/x\"\n[[rule.to]]\ndo = \"set\"\nparam = \"sine/frequency\"\ncurve = \"none\"\n",
		"[[rule]]\naddress = \"/x\"\nto.do = \"set\"\nto.param = \"sine/frequency\"\nto.curve = \"none\"\n",
	}
	for _, src := range forms {
		m := mustCompile(t, src)
		got := fmtCmds(m.Apply(oscEv("/x", 440.0), nil))
		if want := "set ch0 osc1/freq 440"; got != want {
			t.Errorf("%q:\n got %s\nwant %s", src, got, want)
		}
	}
}

func TestCompileEmptyAndDisabled(t *testing.T) {
	m := mustCompile(t, "")
	if m.Len() != 0 || !m.Enabled() {
		t.Fatalf("empty file: %d rules, enabled %v", m.Len(), m.Enabled())
	}
	m = mustCompile(t, "[map]\nenabled = false\ndescription = \"off\"\n")
	if m.Enabled() || m.Description() != "off" {
		t.Fatalf("enabled %v, description %q", m.Enabled(), m.Description())
	}
	if s := NewSet(m); len(s.Maps()) != 0 {
		t.Fatal("a disabled map is in the Set")
	}
}

// Positions come from a line table, not a scan per key: a map at the rule
// limit compiles in well under a second (the scan took minutes).
func TestCompileLargeMap(t *testing.T) {
	rule := "[[rule]]\ncc = 1\nto = { do = \"control\" }\n"
	src := strings.Repeat(rule, maxRules)
	start := time.Now()
	m, err := Compile("big.toml", []byte(src))
	if err != nil || m.Len() != maxRules {
		t.Fatalf("%v, %d rules", err, m.Len())
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("compiling %d rules took %v", maxRules, d)
	}
	_, err = Compile("big.toml", []byte(src+rule))
	if want := fmt.Sprintf("big.toml:%d:3: a map may hold at most %d rules", 3*maxRules+1, maxRules); err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}
