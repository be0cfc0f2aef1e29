package tomlpos

import "testing"

// TestPositions: the same keys written as headers, inline tables, dotted
// keys and arrays of tables are found where they are written, and a path
// that was never written falls back to its nearest written parent.
func TestPositions(t *testing.T) {
	src := []byte(`top = 1
[map]
channel = 2

[[rule]]
name = "a"
to = { do = "note", channel = 3 }

[[rule]]
x.y = 4
[[rule.to]]
do = "set"
`)
	idx := Build(src)
	for _, tc := range []struct {
		path string
		want Position
	}{
		{"top", Position{1, 1}},
		{"map", Position{2, 2}},
		{"map.channel", Position{3, 1}},
		{"rule.0.name", Position{6, 1}},
		{"rule.0.to", Position{7, 1}},
		{"rule.0.to.channel", Position{7, 21}},
		{"rule.1.x.y", Position{10, 3}},
		{"rule.1.to.0.do", Position{12, 1}},
		{"rule.1.to.0.nothing", Position{11, 3}}, // never written: its [[rule.to]] header
		{"nowhere", Position{1, 1}},
	} {
		if got := idx.Lookup(tc.path); got != tc.want {
			t.Errorf("Lookup(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
	if Join("", "a") != "a" || Join("a", "b") != "a.b" {
		t.Error("Join")
	}
}
