package dsp

import (
	"strconv"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// synCPUTime returns the user+system CPU time of the process so far.
func synCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// synBenchSynth returns a synth with n voices held on sustaining presets
// spread over 8 channels (pad, strings, brass, lead, organ, flute, bass,
// sine), the effects on at their defaults.
func synBenchSynth(b *testing.B, n int) *Synth {
	s, err := New(Config{Voices: max(n, 1)})
	if err != nil {
		b.Fatal(err)
	}
	names := []string{"pad", "strings", "brass", "lead", "organ", "flute", "bass", "sine"}
	for ch, name := range names {
		s.SetChannelPatch(ch, Preset(mustPreset(name)))
	}
	for i := 0; i < n; i++ {
		ch := uint8(i % len(names))
		s.Schedule(Event{Frame: uint64(s.Latency() + i), Kind: NoteOn, Channel: ch, Key: uint8(36 + i/len(names)%48), Value: 0.8})
	}
	l := make([]float32, MaxBlock)
	r := make([]float32, MaxBlock)
	for i := 0; i < 200; i++ { // past every attack
		s.Render(l, r)
	}
	if got := s.ActiveVoices(); got != n {
		b.Fatalf("%d voices active, want %d", got, n)
	}
	return s
}

// BenchmarkSynthRender renders 64-frame blocks with 16, 64 and 256 voices
// sounding. ns/voice-sample = ns/op / (voices · 64); cpu%@48k is the share
// of one core that rendering in real time at 48 kHz takes.
func BenchmarkSynthRender(b *testing.B) {
	for _, n := range []int{0, 16, 64, 256} {
		b.Run("voices="+strconv.Itoa(n), func(b *testing.B) {
			s := synBenchSynth(b, n)
			l := make([]float32, 64)
			r := make([]float32, 64)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := synCPUTime()
			for i := 0; i < b.N; i++ {
				s.Render(l, r)
			}
			cpu := synCPUTime() - cpu0
			b.StopTimer()
			if s.ActiveVoices() != n {
				b.Fatalf("%d voices at the end, want %d", s.ActiveVoices(), n)
			}
			nsPerBlock := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			if n > 0 {
				b.ReportMetric(nsPerBlock/float64(n*64), "ns/voice-sample")
			}
			b.ReportMetric(100*nsPerBlock/(64/48000.0*1e9), "cpu%@48k")
			// The same from the process's CPU time, which a busy machine
			// inflates less than the wall clock.
			b.ReportMetric(100*float64(cpu.Nanoseconds())/float64(b.N)/(64/48000.0*1e9), "cputime%@48k")
		})
	}
}

// BenchmarkSynthSnapshot measures CopyFrom (the whole-state copy).
func BenchmarkSynthSnapshot(b *testing.B) {
	s := synBenchSynth(b, 64)
	d := new(Synth)
	b.ReportAllocs()
	b.SetBytes(int64(unsafe.Sizeof(*s)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.CopyFrom(s)
	}
}
