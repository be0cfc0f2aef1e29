package mapping

import (
	"io/fs"
	"testing"

	"github.com/chronus-audio/chronus/controllers"
	"github.com/chronus-audio/chronus/engine/proto"
	"github.com/chronus-audio/chronus/maps"
)

func shippedMap(b *testing.B, name string) *Map {
	src, err := fs.ReadFile(maps.FS(), name)
	if err != nil {
		b.Fatal(err)
	}
	m, err := Compile(name, src)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

func benchApply(b *testing.B, m *Map, ev *controllers.Event, want int) {
	dst := make([]proto.Command, 0, 64)
	if got := len(m.Apply(ev, dst)); got != want {
		b.Fatalf("%d commands, want %d", got, want)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		dst = m.Apply(ev, dst[:0])
	}
}

func BenchmarkApplyGenericNote(b *testing.B) {
	benchApply(b, shippedMap(b, "generic-keyboard.toml"), midiEv(controllers.NoteOn, 0, 60, 100), 1)
}

func BenchmarkApplyGenericCC(b *testing.B) {
	benchApply(b, shippedMap(b, "generic-keyboard.toml"), midiEv(controllers.Control, 0, 73, 64), 1)
}

func BenchmarkApplyTouchOSCFader(b *testing.B) {
	benchApply(b, shippedMap(b, "touchosc-simple.toml"), oscEv("/1/fader1", 0.5), 1)
}

func BenchmarkApplyTouchOSCGrid(b *testing.B) {
	benchApply(b, shippedMap(b, "touchosc-simple.toml"), oscEv("/4/multitoggle/5/8", 1.0), 1)
}

func BenchmarkApplyTouchOSCNote(b *testing.B) {
	benchApply(b, shippedMap(b, "touchosc-simple.toml"), oscEv("/2/push1", 1.0), 1)
}

func BenchmarkSessionApplyAllMaps(b *testing.B) {
	var all []*Map
	names, _ := fs.Glob(maps.FS(), "*.toml")
	for _, n := range names {
		all = append(all, shippedMap(b, n))
	}
	s := NewSession(NewLive(NewSet(all...)), nil)
	ev := oscEv("/1/fader1", 0.5)
	dst := make([]proto.Command, 0, 64)
	s.Apply(ev, dst)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		dst = s.Apply(ev, dst[:0])
	}
}
