package dsp

import (
	"slices"
	"testing"
	"time"
)

// BenchmarkSynthGraphVsHand renders 64-frame blocks through Synth.Render
// with 16 voices on channel 0 of the compiled 6-module graph (graphSub6)
// or of the equivalent preset (handSub6), Voices: 64 for both, and of a
// synth with no voice (the shared effects and the limiter, which both
// pay the same). The three synths run in rotating chunks of 200 blocks,
// so a busy moment of a shared machine hits all of them; each reports
// the median chunk's time per voice sample (the whole block over 16·64),
// net-* the same minus the empty synth's median, and the ratios.
// "steady" holds the notes in their sustain; "cycle" plays them for 0.3 s
// and releases them for 0.25 s, over and over (note starts, envelopes
// and the filter's glide in the mix).
func BenchmarkSynthGraphVsHand(b *testing.B) {
	for _, mode := range []string{"steady", "cycle"} {
		b.Run(mode, func(b *testing.B) {
			const voices = 16
			hand := synVsSynth(b, false)
			graph := synVsSynth(b, true)
			empty := synVsSynth(b, true)
			l := make([]float32, benchBlock)
			r := make([]float32, benchBlock)
			synths := [3]*Synth{hand, graph, empty}
			var blk [3]int
			notes := func(s *Synth, on bool) {
				for k := 0; k < voices; k++ {
					ev := Event{Frame: s.Frame(), Kind: NoteOff, Key: uint8(40 + 2*k)}
					if on {
						ev.Kind, ev.Value = NoteOn, 0.8
					}
					s.Schedule(ev)
				}
			}
			run := func(i, n int) time.Duration {
				s := synths[i]
				t0 := time.Now()
				for range n {
					if i != 2 {
						switch blk[i] % cycleTotal {
						case 0:
							if mode == "cycle" || blk[i] == 0 {
								notes(s, true)
							}
						case cycleHold:
							if mode == "cycle" {
								notes(s, false)
							}
						}
					}
					s.Render(l, r)
					blk[i]++
				}
				return time.Since(t0)
			}
			if mode == "steady" {
				for i := range synths {
					run(i, 600) // past attack and decay
				}
				for _, s := range synths[:2] {
					if s.ActiveVoices() != voices {
						b.Fatalf("%d voices", s.ActiveVoices())
					}
				}
			}
			chunk := min(200, b.N)
			var times [3][]time.Duration
			for i := range times {
				times[i] = make([]time.Duration, 0, b.N/chunk+1)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for done, c := 0, 0; done < b.N; c++ {
				n := min(chunk, b.N-done)
				for j := range 3 {
					i := (c + j) % 3
					times[i] = append(times[i], run(i, n)*time.Duration(chunk)/time.Duration(n))
				}
				done += n
			}
			b.StopTimer()
			if mode == "steady" {
				for _, s := range synths[:2] {
					if s.ActiveVoices() != voices {
						b.Fatalf("%d voices at the end", s.ActiveVoices())
					}
				}
			}
			var med [3]float64
			for i := range times {
				slices.Sort(times[i])
				med[i] = float64(times[i][len(times[i])/2].Nanoseconds()) / float64(chunk*voices*benchBlock)
			}
			b.ReportMetric(med[0], "hand-ns/voice-sample")
			b.ReportMetric(med[1], "graph-ns/voice-sample")
			b.ReportMetric(med[1]/med[0], "graph/hand")
			b.ReportMetric(med[0]-med[2], "hand-net-ns/voice-sample")
			b.ReportMetric(med[1]-med[2], "graph-net-ns/voice-sample")
			b.ReportMetric((med[1]-med[2])/(med[0]-med[2]), "net-graph/hand")
		})
	}
}

// synVsSynth returns a synth of 64 voices whose channel 0 plays graphSub6
// (graph) or handSub6.
func synVsSynth(b *testing.B, graph bool) *Synth {
	s, err := New(Config{Voices: 64})
	if err != nil {
		b.Fatal(err)
	}
	if graph {
		synCommit(b, s, graphSub6(b), s.Frame(), 0, 0)
	} else {
		s.SetChannelPatch(0, handSub6())
	}
	return s
}
