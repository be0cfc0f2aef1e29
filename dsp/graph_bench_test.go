package dsp

import (
	"testing"
	"time"
)

// The graph-versus-hand-written voice benchmark. Both render one voice of
// the same sound in 64-frame blocks into a stereo pair: two detuned saws,
// a resonant low-pass opened by an envelope, the same envelope on the
// amplitude. The hand-written voice runs Synth.runVoice (voice.go) on the
// preset-style Patch; the graph voice runs GraphRenderer.Render on
// graphSub6 with RenderAdd, which adds the voice to left and right with
// constant pan gains in its last loop (as the hand-written voice does). "steady" holds the note in its
// sustain; "cycle" plays it for 0.3 s, releases it for 0.25 s and starts
// it again, so envelopes, glides and note starts are in the mix.

const benchBlock = 64

// handSub6 is graphSub6 as a Patch for the hand-written voice.
func handSub6() Patch {
	env := ADSRConfig{Attack: 0.01, Decay: 0.3, Sustain: 0.6, Release: 0.2, Curve: Exponential}
	return Patch{
		Osc:       [2]OscParams{{Wave: Saw, Level: 0.5, Detune: -8}, {Wave: Saw, Level: 0.5, Detune: 8}},
		Filter:    FilterParams{Type: LowPass, Cutoff: 1400, Resonance: 0.9, EnvAmount: 2},
		AmpEnv:    env,
		FilterEnv: env,
		Gain:      0.35,
	}
}

// cycleBlocks is the length of the "cycle" benchmark's note cycle.
const (
	cycleHold  = 225 // 0.3 s of 64-frame blocks at 48 kHz
	cycleTotal = 412 // 0.55 s
)

// reportVoice reports the wall-clock and the process CPU time per voice
// sample (the CPU time is less inflated by a busy machine).
func reportVoice(b *testing.B, cpu0 time.Duration) {
	cpu := synCPUTime() - cpu0
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchBlock, "ns/voice-sample")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/benchBlock, "cpu-ns/voice-sample")
}

func BenchmarkHandVoice(b *testing.B) {
	for _, mode := range []string{"steady", "cycle"} {
		b.Run(mode, func(b *testing.B) {
			s, err := New(Config{Voices: 1})
			if err != nil {
				b.Fatal(err)
			}
			s.SetChannelPatch(0, handSub6())
			l := make([]float32, benchBlock)
			r := make([]float32, benchBlock)
			s.noteOn(0, 57, 1)
			v := &s.voices[0]
			if mode == "steady" {
				for range 600 { // past attack and decay
					s.runVoice(v, l, r)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := synCPUTime()
			for i := 0; i < b.N; i++ {
				if mode == "cycle" {
					switch i % cycleTotal {
					case 0:
						s.noteOn(0, 57, 1)
					case cycleHold:
						s.noteOff(0, 57)
					}
				}
				s.runVoice(v, l, r)
			}
			b.StopTimer()
			if mode == "steady" && !v.on {
				b.Fatal("voice ended")
			}
			reportVoice(b, cpu0)
		})
	}
}

func BenchmarkGraphVoice6(b *testing.B) {
	p := mustCompile(b, graphSub6(b))
	for _, mode := range []string{"steady", "cycle"} {
		b.Run(mode, func(b *testing.B) {
			var r GraphRenderer
			r.Init(48000)
			var v GraphVoice
			mono := make([]float32, benchBlock)
			l := make([]float32, benchBlock)
			rr := make([]float32, benchBlock)
			gl, gr := float32(0.7), float32(0.7)
			r.NoteOn(p, &v, 57, 1, 1)
			if mode == "steady" {
				for range 600 {
					r.Render(p, &v, VoiceInput{}, mono)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := synCPUTime()
			for i := 0; i < b.N; i++ {
				if mode == "cycle" {
					switch i % cycleTotal {
					case 0:
						r.NoteOn(p, &v, 57, 1, uint64(i))
					case cycleHold:
						r.NoteOff(p, &v)
					}
				}
				r.RenderAdd(p, &v, VoiceInput{}, l, rr, gl, gr)
			}
			b.StopTimer()
			if mode == "steady" && v.Done() {
				b.Fatal("voice ended")
			}
			reportVoice(b, cpu0)
		})
	}
}

// BenchmarkGraphVsHand renders the "steady" and "cycle" cases of both
// voices in alternating chunks of 1000 blocks and reports, for each, the
// fastest chunk's time per voice sample and the ratio graph/hand: on a
// shared machine the fastest of many interleaved chunks is a far steadier
// estimate than one long average.
func BenchmarkGraphVsHand(b *testing.B) {
	for _, mode := range []string{"steady", "cycle"} {
		b.Run(mode, func(b *testing.B) {
			s, err := New(Config{Voices: 1})
			if err != nil {
				b.Fatal(err)
			}
			s.SetChannelPatch(0, handSub6())
			hv := &s.voices[0]
			p := mustCompile(b, graphSub6(b))
			var r GraphRenderer
			r.Init(48000)
			var gv GraphVoice
			l := make([]float32, benchBlock)
			rr := make([]float32, benchBlock)
			s.noteOn(0, 57, 1)
			r.NoteOn(p, &gv, 57, 1, 1)
			if mode == "steady" {
				for range 600 {
					s.runVoice(hv, l, rr)
					r.RenderAdd(p, &gv, VoiceInput{}, l, rr, 0.7, 0.7)
				}
			}
			const chunk = 1000
			hi, gi := 0, 0
			hand := func() {
				for range chunk {
					if mode == "cycle" {
						switch hi % cycleTotal {
						case 0:
							s.noteOn(0, 57, 1)
						case cycleHold:
							s.noteOff(0, 57)
						}
					}
					s.runVoice(hv, l, rr)
					hi++
				}
			}
			graph := func() {
				for range chunk {
					if mode == "cycle" {
						switch gi % cycleTotal {
						case 0:
							r.NoteOn(p, &gv, 57, 1, uint64(gi))
						case cycleHold:
							r.NoteOff(p, &gv)
						}
					}
					r.RenderAdd(p, &gv, VoiceInput{}, l, rr, 0.7, 0.7)
					gi++
				}
			}
			best := func(f func(), cur time.Duration) time.Duration {
				t0 := time.Now()
				f()
				if d := time.Since(t0); cur == 0 || d < cur {
					return d
				}
				return cur
			}
			var bh, bg time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				bh = best(hand, bh)
				bg = best(graph, bg)
			}
			per := float64(chunk * benchBlock)
			b.ReportMetric(float64(bh.Nanoseconds())/per, "hand-ns/voice-sample")
			b.ReportMetric(float64(bg.Nanoseconds())/per, "graph-ns/voice-sample")
			b.ReportMetric(float64(bg)/float64(bh), "graph/hand")
		})
	}
}
