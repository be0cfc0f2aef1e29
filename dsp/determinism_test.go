package dsp

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// synScript returns a pseudo-random but reproducible performance of the
// given length starting at frame start: program changes, notes on four
// melodic channels and the drum channel, bends, pressure, mod wheel,
// volume, pan, expression, sustain pedal, CC71/74, SetParams on channels
// and effects, all-notes-off, all-sound-off and reset-controllers. The
// master gain is kept low so the limiter never limits. Events are on
// average gap/2 frames apart.
func synScript(seed uint64, start uint64, frames, gap int) []Event {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	var evs []Event
	add := func(f uint64, e Event) {
		e.Frame = f
		evs = append(evs, e)
	}
	add(start, Event{Kind: SetParam, Param: ParamMasterGain, Value: 0.2})
	add(start, Event{Kind: SetParam, Param: ParamDelayMix, Value: 0.2})
	add(start, Event{Kind: SetParam, Param: ParamDelayTime, Value: 0.21})
	add(start, Event{Kind: SetParam, Param: ParamReverbMix, Value: 0.25})
	melodic := []uint8{0, 1, 2, 3}
	for _, ch := range melodic {
		add(start, Event{Kind: Program, Channel: ch, Key: uint8(rng.IntN(128))})
	}
	end := start + uint64(frames)
	for f := start + 1; f < end; f += 1 + uint64(rng.IntN(gap)) {
		switch r := rng.IntN(100); {
		case r < 55: // a note
			ch := melodic[rng.IntN(len(melodic))]
			key := uint8(36 + rng.IntN(48))
			if rng.IntN(4) == 0 {
				ch, key = DrumChannel, uint8(35+rng.IntN(47))
			}
			add(f, Event{Kind: NoteOn, Channel: ch, Key: key, Value: 0.2 + 0.8*rng.Float64()})
			add(f+1+uint64(rng.IntN(40000)), Event{Kind: NoteOff, Channel: ch, Key: key})
		case r < 62:
			add(f, Event{Kind: PitchBend, Channel: melodic[rng.IntN(4)], Value: 2*rng.Float64() - 1})
		case r < 66:
			add(f, Event{Kind: Pressure, Channel: melodic[rng.IntN(4)], Value: rng.Float64()})
		case r < 84:
			cc := []uint8{1, 7, 10, 11, 64, 71, 74}[rng.IntN(7)]
			add(f, Event{Kind: Control, Channel: melodic[rng.IntN(4)], Key: cc, Value: rng.Float64()})
		case r < 92:
			p := []Param{ParamFilterCutoff, ParamFilterResonance, ParamLFORate, ParamLFODepth, ParamOsc2Detune, ParamAmpRelease, ParamVoicePan}[rng.IntN(7)]
			lo, hi := p.Range()
			hi = min(hi, lo+(hi-lo)/4) // keep values musical
			add(f, Event{Kind: SetParam, Channel: melodic[rng.IntN(4)], Param: p, Value: lo + (hi-lo)*rng.Float64()})
		case r < 95:
			p := []Param{ParamDelayTime, ParamDelayFeedback, ParamReverbSize, ParamReverbMix}[rng.IntN(4)]
			add(f, Event{Kind: SetParam, Param: p, Value: 0.05 + 0.5*rng.Float64()})
		case r < 97:
			add(f, Event{Kind: AllNotesOff, Channel: melodic[rng.IntN(4)]})
		case r < 98:
			add(f, Event{Kind: AllSoundOff, Channel: melodic[rng.IntN(4)]})
		default:
			add(f, Event{Kind: ResetControllers, Channel: melodic[rng.IntN(4)]})
		}
	}
	return evs
}

// synPlay schedules evs shifted by shift frames and renders n frames in
// caller blocks from sizes (cycled). It fails if the limiter ever limits.
func synPlay(t testing.TB, evs []Event, shift uint64, n int, sizes []int) (l, r []float32) {
	t.Helper()
	s := synNew(t, 0)
	if len(evs) > MaxPending {
		t.Fatalf("script of %d events overflows the queue", len(evs))
	}
	for _, e := range evs {
		e.Frame += shift
		if !s.Schedule(e) {
			t.Fatal("Schedule failed")
		}
	}
	l = make([]float32, n)
	r = make([]float32, n)
	for i, k := 0, 0; i < n; k++ {
		e := min(i+sizes[k%len(sizes)], n)
		s.Render(l[i:e], r[i:e])
		if g := s.limiter.Gain(); g != 1 {
			t.Fatalf("limiter gain %v at frame %d: the script is too loud for an invariance test", g, e)
		}
		i = e
	}
	if st := s.Stats(); st.Late != 0 || st.NonFinite != 0 || st.Applied+uint64(s.Pending()) != uint64(len(evs)) {
		t.Fatalf("stats %+v, %d pending, for %d events", st, s.Pending(), len(evs))
	}
	return l, r
}

func synHash(l, r []float32) [32]byte {
	h := sha256.New()
	var b [8]byte
	for i := range l {
		binary.LittleEndian.PutUint32(b[:4], math.Float32bits(l[i]))
		binary.LittleEndian.PutUint32(b[4:], math.Float32bits(r[i]))
		h.Write(b[:])
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

func synEqual(t *testing.T, what string, a, b []float32) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: lengths %d and %d", what, len(a), len(b))
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("%s: first difference at frame %d: %v vs %v", what, i, a[i], b[i])
		}
	}
}

// The same events shifted by D frames (D not a multiple of the block size
// or the control period) give the same output shifted by D frames, bit for
// bit; and the caller's block sizes do not matter.
func TestSynthTimeInvariance(t *testing.T) {
	const n = 5 * 48000
	const D = 1237
	evs := synScript(1, 100, n-20000, 2500)
	l1, r1 := synPlay(t, evs, 0, n, []int{64})
	if synRMS(l1) < 0.01 {
		t.Fatalf("script too quiet: rms %v", synRMS(l1))
	}
	l2, r2 := synPlay(t, evs, D, n+D, []int{64})
	if !synAllZero(l2[:D]) || !synAllZero(r2[:D]) {
		t.Fatal("sound before the shifted script starts")
	}
	synEqual(t, "left shifted", l1, l2[D:])
	synEqual(t, "right shifted", r1, r2[D:])
	l3, r3 := synPlay(t, evs, 0, n, []int{1, 7, 64, 255, 256, 300, 3, 1000, 17})
	synEqual(t, "left irregular blocks", l1, l3)
	synEqual(t, "right irregular blocks", r1, r3)
}

const synDetEnv = "CHRONUS_DSP_DETERMINISM_CHILD"

// The same script rendered in two processes gives bit-identical output.
func TestSynthDeterminismAcrossProcesses(t *testing.T) {
	evs := synScript(7, 100, 3*48000, 2500)
	l, r := synPlay(t, evs, 0, 3*48000+24000, []int{64})
	sum := hex.EncodeToString(func() []byte { h := synHash(l, r); return h[:] }())
	if os.Getenv(synDetEnv) == "1" {
		os.Stdout.WriteString("SYNTHSHA256=" + sum + "\n")
		return
	}
	if synRMS(l) == 0 {
		t.Fatal("silent script")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSynthDeterminismAcrossProcesses$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), synDetEnv+"=1", "GOMAXPROCS=1", "GOGC=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var child string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "SYNTHSHA256="); ok {
			child = v
		}
	}
	if child == "" {
		t.Fatalf("child printed no hash:\n%s", out)
	}
	t.Logf("parent %s, child %s", sum, child)
	if child != sum {
		t.Errorf("output differs between processes")
	}
}

// A snapshot taken with CopyFrom at a random block continues exactly like
// the original for 10,000 blocks, pending events included. The seed comes
// from the clock (or CHRONUS_SYNTH_SEED) and is printed.
func TestSynthSnapshot(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("CHRONUS_SYNTH_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("seed %d (rerun with CHRONUS_SYNTH_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	const blk, after = 64, 10000
	at := 1 + rng.IntN(2000)
	evs := synScript(seed, 100, (at+after)*blk, 8000)
	a := synNew(t, 0)
	for _, e := range evs {
		if !a.Schedule(e) {
			t.Fatal("Schedule failed")
		}
	}
	la := make([]float32, blk)
	ra := make([]float32, blk)
	for i := 0; i < at; i++ {
		a.Render(la, ra)
	}
	b := new(Synth)
	b.CopyFrom(a)
	t.Logf("snapshot at block %d: %d voices, %d events pending", at, a.ActiveVoices(), a.Pending())
	lb := make([]float32, blk)
	rb := make([]float32, blk)
	loud := 0
	for i := 0; i < after; i++ {
		a.Render(la, ra)
		b.Render(lb, rb)
		for k := range la {
			if math.Float32bits(la[k]) != math.Float32bits(lb[k]) || math.Float32bits(ra[k]) != math.Float32bits(rb[k]) {
				t.Fatalf("block %d after the snapshot, frame %d: %v,%v vs %v,%v", i, k, la[k], ra[k], lb[k], rb[k])
			}
		}
		if synRMS(la) > 0.001 {
			loud++
		}
	}
	if loud < after/2 {
		t.Errorf("only %d of %d blocks had sound", loud, after)
	}
	if a.Stats() != b.Stats() || a.Frame() != b.Frame() {
		t.Errorf("stats or frame differ: %+v %+v", a.Stats(), b.Stats())
	}
}
