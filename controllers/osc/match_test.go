package osc

import (
	"strings"
	"testing"

	"github.com/chronus-audio/chronus/controllers"
)

func TestMatch(t *testing.T) {
	cases := []struct {
		pattern, addr string
		want          bool
	}{
		// LIBRARIES.md §1 item 3: go-osc gets these wrong.
		{"/synth/vol", "/synth/vol", true},
		{"/synth/vol", "/synth/volume", false},
		{"/synth/vol", "/x/synth/vol", false},
		{"/synth/vol", "/synth/vo", false},
		{"/[!a]", "/a", false},
		{"/[!a]", "/b", true},
		{"/synth/*", "/synth/a/b", false}, // '*' never crosses '/'
		{"/*", "/synth/vol", false},
		{"/*/vol", "/synth/vol", true},
		{"/*/*", "/synth/vol", true},
		// '*'
		{"/synth/*", "/synth/vol", true},
		{"/synth/*", "/synth/", true},
		{"/synth/v*", "/synth/vol", true},
		{"/synth/*l", "/synth/vol", true},
		{"/synth/*o*", "/synth/vol", true},
		{"/synth/*x*", "/synth/vol", false},
		{"/synth/v*l*", "/synth/vol", true},
		{"/synth/**", "/synth/vol", true},
		{"/a*b*c", "/aXXbYYc", true},
		{"/a*b*c", "/aXXbYYcd", false},
		{"/*a*a*a*a*a*a*a*a*b", "/" + strings.Repeat("a", 100), false},
		// '?'
		{"/synth/v?l", "/synth/vol", true},
		{"/synth/v?l", "/synth/vl", false},
		{"/synth/???", "/synth/vol", true},
		{"/synth/????", "/synth/vol", false},
		{"/?", "//", false},
		// classes
		{"/osc[12]/freq", "/osc1/freq", true},
		{"/osc[12]/freq", "/osc3/freq", false},
		{"/osc[1-3]", "/osc2", true},
		{"/osc[1-3]", "/osc4", false},
		{"/osc[!1-3]", "/osc4", true},
		{"/osc[!1-3]", "/osc2", false},
		{"/[a-cx-z]", "/y", true},
		{"/[a-cx-z]", "/m", false},
		{"/[-a]", "/-", true},
		{"/[a-]", "/-", true},
		{"/[a-]", "/b", false},
		{"/[!]", "/!", false}, // invalid: tested in TestBadPatterns
		{"/x[*]", "/x*", true},
		{"/x[*]", "/xa", false},
		{"/x[{]", "/x{", true},
		// braces
		{"/{osc1,osc2}/freq", "/osc2/freq", true},
		{"/{osc1,osc2}/freq", "/osc3/freq", false},
		{"/{osc,lfo}[12]", "/lfo2", true},
		{"/{a,ab}c", "/abc", true},
		{"/{a,ab}c", "/ac", true},
		{"/{a,ab}c", "/abbc", false},
		{"/x{,y}", "/x", true},
		{"/x{,y}", "/xy", true},
		{"/x{}", "/x", true},
		{"/{a,b}*{c,d}", "/azzd", true},
		{"/{a,b}*{c,d}", "/azze", false},
		{"/p{*}", "/p*", false}, // invalid
		// literal and segment counts
		{"/", "/", true},
		{"/a/b/c", "/a/b/c", true},
		{"/a/b/c", "/a/b", false},
		{"/a/b", "/a/b/c", false},
		{"/a/b/", "/a/b/", true},
		{"/a", "a", false},
		{"/1/fader1", "/1/fader1", true},
		{"/1/fader?", "/1/fader12", false},
		{"/1/fader*", "/1/fader12", true},
	}
	for _, c := range cases {
		got, err := Match([]byte(c.pattern), []byte(c.addr))
		if err != nil {
			if ValidPattern([]byte(c.pattern)) == nil {
				t.Errorf("Match(%q, %q): %v", c.pattern, c.addr, err)
			}
			continue
		}
		if got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pattern, c.addr, got, c.want)
		}
	}
}

func TestBadPatterns(t *testing.T) {
	bad := []string{"", "a", "synth/a", "/synth/a[", "/a[]", "/a[!]", "/a[b", "/a[b/c]", "/a]",
		"/a}", "/a{b", "/a{b/c}", "/a{b{c}}", "/a{b*}", "/a{b?}", "/a{[b]}", "/a[z-a]",
		"/" + strings.Repeat("x", maxSeg+1)}
	for _, p := range bad {
		if err := ValidPattern([]byte(p)); err != ErrBadPattern {
			t.Errorf("ValidPattern(%q) = %v, want ErrBadPattern", p, err)
		}
		if ok, err := Match([]byte(p), []byte("/a")); ok || err != ErrBadPattern {
			t.Errorf("Match(%q) = %v, %v; want false, ErrBadPattern", p, ok, err)
		}
	}
	good := []string{"/", "/a", "/a[b]", "/a[!b]", "/a[a-z]", "/a{b,c}", "/a{}", "/*", "/a,b",
		"/x", "/" + strings.Repeat("x", maxSeg)}
	for _, p := range good {
		if err := ValidPattern([]byte(p)); err != nil {
			t.Errorf("ValidPattern(%q) = %v, want nil", p, err)
		}
	}
}

func TestIsPattern(t *testing.T) {
	for s, want := range map[string]bool{"/a/b": false, "/a/*": true, "/a?": true, "/[a]": true,
		"/{a}": true, "/a]": true, "/a,b": false} {
		if IsPattern([]byte(s)) != want {
			t.Errorf("IsPattern(%q) != %v", s, want)
		}
	}
}

func event(addr string) *controllers.Event {
	ev := &controllers.Event{Kind: controllers.OSC, AddrLen: uint8(len(addr))}
	copy(ev.Addr[:], addr)
	return ev
}

func TestRouter(t *testing.T) {
	var r Router
	hits := map[string]int{}
	add := func(a string) {
		if err := r.HandleFunc(a, func(*controllers.Event) { hits[a]++ }); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []string{"/synth/osc1/freq", "/synth/osc2/freq", "/synth/osc1/gain", "/synth/vol", "/synth/volume", "/fx/vol"} {
		add(a)
	}
	var fallback []string
	r.Fallback = HandlerFunc(func(ev *controllers.Event) { fallback = append(fallback, ev.Address()) })

	cases := []struct {
		in   string
		n    int
		hits []string
		err  error
	}{
		{"/synth/vol", 1, []string{"/synth/vol"}, nil},
		{"/synth/volume", 1, []string{"/synth/volume"}, nil},
		{"/synth/vo", 0, nil, nil},
		{"/synth/*/freq", 2, []string{"/synth/osc1/freq", "/synth/osc2/freq"}, nil},
		{"/synth/osc1/*", 2, []string{"/synth/osc1/freq", "/synth/osc1/gain"}, nil},
		{"/*/vol", 2, []string{"/synth/vol", "/fx/vol"}, nil},
		{"/synth/vol*", 2, []string{"/synth/vol", "/synth/volume"}, nil},
		{"/synth/osc[!1]/freq", 1, []string{"/synth/osc2/freq"}, nil},
		{"/{synth,fx}/vol", 2, []string{"/synth/vol", "/fx/vol"}, nil},
		{"/*", 0, nil, nil},
		{"/synth/a[", 0, nil, ErrBadPattern},
	}
	for _, c := range cases {
		clear(hits)
		fallback = fallback[:0]
		n, err := r.Dispatch(event(c.in))
		if n != c.n || err != c.err {
			t.Errorf("Dispatch(%q) = %d, %v; want %d, %v", c.in, n, err, c.n, c.err)
		}
		for _, h := range c.hits {
			if hits[h] != 1 {
				t.Errorf("Dispatch(%q): %s called %d times", c.in, h, hits[h])
			}
		}
		if len(hits) != len(c.hits) {
			t.Errorf("Dispatch(%q) reached %v, want %v", c.in, hits, c.hits)
		}
		wantFallback := c.n == 0 && c.err == nil
		if (len(fallback) == 1) != wantFallback {
			t.Errorf("Dispatch(%q): fallback got %v, want called=%v", c.in, fallback, wantFallback)
		}
	}

	for _, a := range []string{"", "synth", "/synth/*", "/a{b}", "/synth/vol", "/" + strings.Repeat("a", controllers.MaxAddr)} {
		if err := r.HandleFunc(a, func(*controllers.Event) {}); err == nil {
			t.Errorf("Handle(%q) accepted", a)
		}
	}
	if err := r.Handle("/nil", nil); err == nil {
		t.Error("Handle with a nil handler accepted")
	}
}

func TestMatchAllocs(t *testing.T) {
	var r Router
	n := 0
	for _, a := range []string{"/synth/osc1/freq", "/synth/osc2/freq", "/synth/vol"} {
		r.HandleFunc(a, func(*controllers.Event) { n++ })
	}
	exact, pat := event("/synth/osc1/freq"), event("/synth/osc[12]/{freq,gain}")
	allocs := testing.AllocsPerRun(500, func() {
		r.Dispatch(exact)
		r.Dispatch(pat)
		Match([]byte("/a*b*c{x,y}[!q]"), []byte("/aaabbbcyz"))
	})
	if allocs != 0 || n == 0 {
		t.Errorf("%v allocs per dispatch, want 0 (%d calls)", allocs, n)
	}
}
