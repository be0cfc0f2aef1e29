package main

import (
	"math"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/chronus-audio/chronus/controllers"
	"github.com/chronus-audio/chronus/controllers/osc"
	"github.com/chronus-audio/chronus/engine"
	"github.com/chronus-audio/chronus/engine/proto"
)

// The /stats diagnostics: what the throughput and latency benchmarks
// (throughput_test.go) need to see inside a running instrument. Over OSC:
//
//	/stats          reply /stats with name/value pairs (int64 values)
//	/stats/reset    start the callback-gap sampler (once), clear its maximum,
//	                arm the note-order check, then reply as /stats
//	/stats/probe    also read the output tap and time every note onset (not
//	                while recording: the tap has one reader), then reply
//
// Counters are absolute; a client subtracts two replies. The reply goes to
// the asking client only (over TCP if it asked over TCP).
//
// The note-order check follows the throughput benchmark's pattern: note-ons
// whose sequence number key*127 + velocity-1 (velocity 1..127 as Value*127)
// counts up by one, each followed by the note-off of the same key. A note-on
// that goes back counts as reordered, one that skips ahead as a gap (lost
// events); a note-off of another key as stray.

// orderMod is the period of the note-order check's sequence numbers.
const orderMod = 128 * 127

// flowStats counts the commands the player hands to the engine. It is
// updated and read on the player's dispatch goroutine; sent and refused are
// atomic so that any goroutine may read them.
type flowStats struct {
	sent, refused atomic.Uint64

	orderOn                               bool
	next                                  int // expected sequence number; -1: take the first as it comes
	lastKey                               uint8
	inOrder, backward, skipped, strayOffs uint64
}

// sentCmd records one engine.Send of c that returned err. Dispatch
// goroutine only; it never allocates.
func (f *flowStats) sentCmd(c *proto.Command, err error) {
	if err != nil {
		f.refused.Add(1)
		return
	}
	f.sent.Add(1)
	if !f.orderOn {
		return
	}
	switch c.Op {
	case proto.OpNoteOn:
		vel := int(math.Round(c.Value * 127))
		s := int(c.Key)*127 + vel - 1
		switch d := ((s-f.next)%orderMod + orderMod) % orderMod; {
		case f.next < 0 || d == 0:
			f.inOrder++
		case d < orderMod/2:
			f.skipped++
		default:
			f.backward++
		}
		f.next, f.lastKey = (s+1)%orderMod, c.Key
	case proto.OpNoteOff:
		if c.Key != f.lastKey {
			f.strayOffs++
		}
	}
}

// gapRing is how many recent callbacks the sampler remembers for timing
// note onsets.
const gapRing = 1024

// callbackObs is one callback end the sampler observed.
type callbackObs struct {
	frames uint64 // frames played after it
	mono   int64  // CLOCK_MONOTONIC ns when it ended
	exact  bool   // the previous observation was the callback just before it
}

// sampler polls the engine's play position every 250 µs: it measures the
// gaps between callback ends and, when probing, times note onsets in the
// output tap. It runs on its own goroutine until the process ends; its
// results are read under mu.
type sampler struct {
	eng  *engine.Engine
	recs *recordings

	mu sync.Mutex
	// Gaps between consecutive callback ends, when the sampler saw both
	// (step == the smallest step seen); missed counts steps of more than
	// one callback, whose gaps are unknown.
	gapMax         int64
	clean, missed  uint64
	probing        bool
	onsets         uint64
	onsetFrame     uint64
	onsetMono      int64
	onsetExact     bool
	probeStopped   bool // the probe ended because a recording started
	resetRequested bool
}

// samplerOnce starts the one sampler lazily.
var (
	samplerOnce sync.Once
	theSampler  *sampler
)

func startSampler(eng *engine.Engine, recs *recordings) *sampler {
	samplerOnce.Do(func() {
		theSampler = &sampler{eng: eng, recs: recs}
		go theSampler.run()
	})
	return theSampler
}

// quietFrames of exact zeros must precede a sample for it to count as an
// onset (100 ms at 48 kHz).
const quietFrames = 4800

func (s *sampler) run() {
	var (
		ring     [gapRing]callbackObs
		n        int // observations in ring (up to gapRing)
		head     int
		lastF    uint64
		lastMono int64
		minStep  = uint64(math.MaxUint64)
		tapOn    bool
		tapFrame uint64 // engine frame of the next tap frame read
		zeros    = 0
		pending  = make([]uint64, 0, 64) // onset frames not yet timed
		buf      = make([]float32, 2*4096)
	)
	tap := s.eng.Tap()
	for {
		ts := unix.NsecToTimespec(250_000)
		_ = unix.Nanosleep(&ts, nil)
		f, mono := s.eng.PlayPosition()
		s.mu.Lock()
		if s.resetRequested {
			s.gapMax, s.clean, s.missed, s.resetRequested = 0, 0, 0, false
			lastF = 0 // the next observation starts afresh
		}
		if f != lastF {
			step := f - lastF
			if lastF != 0 && step < minStep {
				minStep = step
			}
			exact := lastF != 0 && step == minStep
			if exact {
				s.clean++
				s.gapMax = max(s.gapMax, mono-lastMono)
			} else if lastF != 0 {
				s.missed++
			}
			ring[head] = callbackObs{frames: f, mono: mono, exact: exact}
			head = (head + 1) % gapRing
			n = min(n+1, gapRing)
			lastF, lastMono = f, mono
		}
		probing := s.probing
		s.mu.Unlock()

		if probing && !tapOn {
			if _, rec := s.recs.status(); rec {
				s.stopProbe()
				continue
			}
			// Half a second ahead, so the capture starts at that frame
			// exactly and tap frames map to engine frames.
			tapFrame = f + uint64(s.eng.SampleRate()/2)
			tap.EnableFrom(tapFrame)
			tapOn, zeros, pending = true, 0, pending[:0]
		}
		if !tapOn {
			continue
		}
		if _, rec := s.recs.status(); rec {
			// A recording took the tap: stop reading it at once.
			tapOn = false
			s.stopProbe()
			continue
		}
		for {
			got := tap.Read(buf)
			for i := 0; i < got; i++ {
				if buf[2*i] == 0 && buf[2*i+1] == 0 {
					zeros++
				} else {
					if zeros >= quietFrames && len(pending) < cap(pending) {
						pending = append(pending, tapFrame)
					}
					zeros = 0
				}
				tapFrame++
			}
			if got < len(buf)/2 {
				break
			}
		}
		// Time each onset by the end of the callback that played it: the
		// first observation whose frame count passed it.
		kept := pending[:0]
		for _, of := range pending {
			var hit *callbackObs
			for k := 0; k < n; k++ {
				o := &ring[(head-1-k+2*gapRing)%gapRing]
				if o.frames <= of {
					break
				}
				hit = o
			}
			if hit == nil {
				kept = append(kept, of) // its callback end is not observed yet
				continue
			}
			s.mu.Lock()
			s.onsets++
			s.onsetFrame, s.onsetMono, s.onsetExact = of, hit.mono, hit.exact
			s.mu.Unlock()
		}
		pending = kept
	}
}

func (s *sampler) stopProbe() {
	s.mu.Lock()
	s.probing, s.probeStopped = false, true
	s.mu.Unlock()
}

// statsOSC answers /stats, /stats/reset and /stats/probe (see above).
// Dispatch goroutine only.
func (p *player) statsOSC(ev *controllers.Event) {
	s := startSampler(p.eng, p.recs)
	switch ev.Address() {
	case "/stats/reset":
		s.mu.Lock()
		s.resetRequested = true
		s.mu.Unlock()
		p.flow.orderOn, p.flow.next = true, -1
		p.flow.inOrder, p.flow.backward, p.flow.skipped, p.flow.strayOffs = 0, 0, 0, 0
	case "/stats/probe":
		if _, rec := p.recs.status(); rec {
			p.reply(ev, osc.NewMessage("/stats/error", "the probe reads the output tap, which the recording uses"))
			return
		}
		s.mu.Lock()
		s.probing, s.probeStopped = true, false
		s.mu.Unlock()
	}
	p.reply(ev, p.statsMessage(s))
}

// statsMessage builds the /stats reply. It allocates (dispatch goroutine,
// on request only).
func (p *player) statsMessage(s *sampler) *osc.Message {
	args := make([]any, 0, 64)
	add := func(name string, v int64) { args = append(args, name, v) }
	if p.in != nil && p.in.osc != nil {
		st := p.in.osc.Stats()
		add("osc_packets", int64(st.Packets))
		add("osc_messages", int64(st.Messages))
		add("osc_handled", int64(st.Handled))
		add("osc_dropped", int64(st.DroppedTotal()))
		add("osc_recv_buffer", int64(st.RecvBuffer))
	}
	add("cmds_sent", int64(p.flow.sent.Load()))
	add("cmds_refused", int64(p.flow.refused.Load()))
	add("order_in", int64(p.flow.inOrder))
	add("order_backward", int64(p.flow.backward))
	add("order_skipped", int64(p.flow.skipped))
	add("order_stray_offs", int64(p.flow.strayOffs))
	es := p.eng.Stats()
	add("underruns", int64(es.Underruns))
	add("busy_drops", int64(es.BusyDrops))
	add("late_commands", int64(es.LateCommands))
	add("failovers", int64(es.Failovers))
	add("callback_max_ns", int64(es.CallbackMax))
	add("callback_p99_ns", int64(es.CallbackP99))
	f, mono := p.eng.PlayPosition()
	add("play_frames", int64(f))
	add("play_mono_ns", mono)
	s.mu.Lock()
	add("gap_max_ns", s.gapMax)
	add("gap_clean", int64(s.clean))
	add("gap_missed", int64(s.missed))
	add("probing", b2i(s.probing))
	add("probe_stopped", b2i(s.probeStopped))
	add("onsets", int64(s.onsets))
	add("onset_frame", int64(s.onsetFrame))
	add("onset_mono_ns", s.onsetMono)
	add("onset_exact", b2i(s.onsetExact))
	s.mu.Unlock()
	return osc.NewMessage("/stats", args...)
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
