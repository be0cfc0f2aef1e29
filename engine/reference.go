package engine

import (
	"fmt"

	"github.com/chronus-audio/chronus/dsp"
	"github.com/chronus-audio/chronus/engine/proto"
)

// Reference renders cmds in this process exactly as the workers would and
// returns frames interleaved stereo frames: what an engine with cfg plays
// when every command carries an absolute frame (FlagAbsolute) far enough
// ahead and no sample is lost. Tests and the failover demonstration compare
// captured output with it. cmds must be sorted by frame. Normal goroutines
// only (it allocates).
func Reference(cfg Config, cmds []proto.Command, frames int) ([]float32, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	s, err := dsp.New(dsp.Config{SampleRate: cfg.SampleRate, Voices: cfg.Voices, BendRange: cfg.BendRange})
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	bf := cfg.BlockFrames
	var pt paramTable
	out := make([]float32, 0, 2*(frames+bf))
	l, r := make([]float32, bf), make([]float32, bf)
	next := 0
	for b := 0; len(out) < 2*frames; b++ {
		// A worker drains its ring before block b; the supervisor stamped
		// each command at least one synth latency before its frame, so a
		// command whose frame falls before the end of block b (plus that
		// latency) is in the synth's queue by then.
		end := uint64((b+1)*bf + s.Latency())
		for next < len(cmds) && cmds[next].Frame < end {
			c := cmds[next]
			pt.apply(s, &c, 0) // as a worker applies it (patch edits too)
			next++
		}
		for off := 0; off < bf; off += dsp.MaxBlock {
			m := min(dsp.MaxBlock, bf-off)
			s.Render(l[off:off+m], r[off:off+m])
		}
		for i := range l {
			out = append(out, l[i], r[i])
		}
	}
	return out[:2*frames], nil
}
