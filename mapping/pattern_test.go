package mapping

import (
	"strings"
	"testing"
	"time"
)

func TestMatchAddress(t *testing.T) {
	tests := []struct {
		pat, addr string
		want      bool
	}{
		{"/1/fader1", "/1/fader1", true},
		{"/1/fader1", "/1/fader10", false},
		{"/1/fader?", "/1/fader5", true},
		{"/1/fader?", "/1/fader", false},
		{"/1/*", "/1/fader1", true},
		{"/1/*", "/1/fader1/z", false}, // '*' never crosses '/'
		{"/*", "/1/fader1", false},     // same number of segments
		{"/*/*", "/1/fader1", true},
		{"/1/fader*", "/1/fader", true}, // '*' matches the empty string
		{"/1/*1", "/1/fader1", true},
		{"/1/*1", "/1/fader2", false},
		{"/1/*a*e*", "/1/fader", true},
		{"/1/fader[1-5]", "/1/fader3", true},
		{"/1/fader[1-5]", "/1/fader6", false},
		{"/1/fader[!1-5]", "/1/fader6", true},
		{"/1/fader[!1-5]", "/1/fader1", false},
		{"/1/[ft]oggle1", "/1/toggle1", true},
		{"/1/[-a]x", "/1/-x", true}, // leading '-' is literal
		{"/1/[a-]x", "/1/-x", true}, // trailing '-' is literal
		{"/1/[]a]x", "/1/]x", true}, // ']' right after '[' is a member
		{"/mod/{sine,osc1}/freq", "/mod/osc1/freq", true},
		{"/mod/{sine,osc1}/freq", "/mod/sin/freq", false},
		{"/mod/{sine,osc1}/freq", "/mod/sine1/freq", false},
		{"/a/{x,xy}z", "/a/xyz", true}, // the longer alternative after a failed shorter one
		{"/a/{,pre}fix", "/a/fix", true},
		{"/a/{b,c}*{d,e}", "/a/bqqe", true},
		{"/4/multitoggle/[1-8]/3", "/4/multitoggle/8/3", true},
		{"/4/multitoggle/[1-8]/3", "/4/multitoggle/9/3", false},
		{"/", "/", true},
		{"/a", "/", false},
	}
	for _, tc := range tests {
		if msg := checkPattern([]byte(tc.pat)); msg != "" {
			t.Errorf("checkPattern(%q) = %q, want valid", tc.pat, msg)
			continue
		}
		if got := matchAddress([]byte(tc.pat), []byte(tc.addr)); got != tc.want {
			t.Errorf("matchAddress(%q, %q) = %v, want %v", tc.pat, tc.addr, got, tc.want)
		}
	}
}

func TestCheckPatternRejects(t *testing.T) {
	for _, p := range []string{
		"", "fader", "/a//b", "/a/", "/a b", "/a#", "/a[", "/a[]", "/a[z-a]", "/a]",
		"/a{b", "/a{b/c}", "/a}", "/a{b*}", "/a,b", "/a[b/c]", "/" + strings.Repeat("x", 256),
	} {
		if msg := checkPattern([]byte(p)); msg == "" {
			t.Errorf("checkPattern(%q) accepted an invalid pattern", p)
		}
	}
}

// A pattern that makes naive backtracking exponential must still finish
// quickly (the step budget), and simply not match.
func TestMatchBudget(t *testing.T) {
	pat := []byte("/" + strings.Repeat("*a", 40) + "b")
	addr := []byte("/" + strings.Repeat("a", 120))
	start := time.Now()
	if matchAddress(pat, addr) {
		t.Fatal("pathological pattern matched")
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("match took %v; the budget should bound it", d)
	}
}

func TestSegment(t *testing.T) {
	for _, tc := range []struct {
		addr string
		n    int
		want string
	}{
		{"/4/multitoggle/3/7", 1, "4"},
		{"/4/multitoggle/3/7", 3, "3"},
		{"/4/multitoggle/3/7", 4, "7"},
		{"/4/multitoggle/3/7", 5, ""},
		{"/4/multitoggle/3/7", 0, ""},
		{"nope", 1, ""},
	} {
		if got := string(segment([]byte(tc.addr), tc.n)); got != tc.want {
			t.Errorf("segment(%q, %d) = %q, want %q", tc.addr, tc.n, got, tc.want)
		}
	}
}
