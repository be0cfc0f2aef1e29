package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	goosc "github.com/hypebeast/go-osc/osc"
	"gonum.org/v1/gonum/dsp/fourier"
)

// instrument is a running `chronus run` on the null device, recording.
type instrument struct {
	t    testing.TB
	cmd  *exec.Cmd
	port int
	take string
	logs chan map[string]any
}

func startInstrument(t testing.TB) *instrument { return startInstrumentWith(t, true) }

// startInstrumentWith starts `chronus run`, recording from the start to
// in.take when record is set.
func startInstrumentWith(t testing.TB, record bool) *instrument {
	t.Helper()
	return launch(t, nil, record)
}

// launch starts `chronus run` on the null device, without MIDI, on a free
// OSC port, with a fresh configuration directory holding userMaps (file
// name to TOML) in its maps folder, recording to in.take when record is
// set, with extra flags, and waits until it logs its OSC port.
func launch(t testing.TB, userMaps map[string]string, record bool, extra ...string) *instrument {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "cfg", "maps"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, src := range userMaps {
		if err := os.WriteFile(filepath.Join(dir, "cfg", "maps", name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	in := &instrument{t: t, take: filepath.Join(dir, "take.wav"), logs: make(chan map[string]any, 1000)}
	args := []string{"run", "--output", "null", "--osc-port", "0", "--no-midi",
		"--config", filepath.Join(dir, "cfg"), "--recordings", filepath.Join(dir, "rec")}
	if record {
		args = append(args, "--record", in.take)
	}
	in.cmd = exec.Command(bin, append(args, extra...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, envPrefix) {
			in.cmd.Env = append(in.cmd.Env, kv)
		}
	}
	stderr, _ := in.cmd.StderrPipe()
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.cmd.Process.Kill(); in.cmd.Wait() })
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				select {
				case in.logs <- m:
				default:
				}
			}
		}
		close(in.logs)
	}()
	deadline := time.After(20 * time.Second)
	for in.port == 0 {
		select {
		case m, ok := <-in.logs:
			if !ok {
				t.Fatal("chronus run exited before listening for OSC")
			}
			if udp, ok := m["udp"].(string); ok {
				_, p, _ := net.SplitHostPort(udp)
				fmt.Sscan(p, &in.port)
			}
		case <-deadline:
			t.Fatal("chronus run did not log its OSC port")
		}
	}
	return in
}

func (in *instrument) oscsend(args ...string) {
	in.t.Helper()
	out, err := exec.Command("oscsend", append([]string{"127.0.0.1", fmt.Sprint(in.port)}, args...)...).CombinedOutput()
	if err != nil {
		in.t.Fatalf("oscsend %v: %v %s", args, err, out)
	}
}

// stop sends SIGTERM, expects exit 0, and returns the recorded take (left).
func (in *instrument) stop() []float32 {
	in.t.Helper()
	in.terminate()
	b, err := os.ReadFile(in.take)
	if err != nil {
		in.t.Fatal(err)
	}
	st := wavFloats(in.t, b)
	left := make([]float32, len(st)/2)
	for i := range left {
		left[i] = st[2*i]
	}
	return left
}

// terminateQuiet sends SIGTERM and waits for the exit (for benchmarks,
// which have no *testing.T of their own to fail).
func (in *instrument) terminateQuiet() {
	in.cmd.Process.Signal(syscall.SIGTERM)
	in.cmd.Wait()
}

// terminate sends SIGTERM and expects a clean exit.
func (in *instrument) terminate() {
	in.t.Helper()
	in.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- in.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			in.t.Fatalf("chronus run did not exit cleanly on SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		in.t.Fatal("chronus run did not stop on SIGTERM")
	}
}

// rms of x[a:b].
func rms(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(max(len(x), 1)))
}

// onsets returns the frames where 10 ms windows first rise above thr after
// being below it.
func loudSpans(x []float32, thr float64) (spans [][2]int) {
	const w = 480
	in := false
	for i := 0; i+w <= len(x); i += w {
		loud := rms(x[i:i+w]) > thr
		if loud && !in {
			spans = append(spans, [2]int{i, i})
		}
		if loud {
			spans[len(spans)-1][1] = i + w
		}
		in = loud
	}
	return spans
}

// peakHz is the interpolated frequency of the strongest FFT bin.
func peakHz(x []float32, rate float64) float64 {
	n := 1 << 15
	if len(x) < n {
		n = 1 << int(math.Log2(float64(len(x))))
	}
	seq := make([]float64, n)
	for i := range seq {
		w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1))
		seq[i] = float64(x[i]) * w
	}
	c := fourier.NewFFT(n).Coefficients(nil, seq)
	best := 1
	for i := 1; i < len(c)-1; i++ {
		if abs(c[i]) > abs(c[best]) {
			best = i
		}
	}
	a, b, g := math.Log(abs(c[best-1])), math.Log(abs(c[best])), math.Log(abs(c[best+1]))
	return (float64(best) + 0.5*(a-g)/(a-2*b+g)) * rate / float64(n)
}

func abs(c complex128) float64 { return math.Hypot(real(c), imag(c)) }

// centroid is the power-weighted spectral centroid in Hz (Hann window, so
// leakage skirts do not dominate).
func centroid(x []float32, rate float64) float64 {
	n := 8192
	seq := make([]float64, n)
	for i := range seq {
		w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1))
		seq[i] = float64(x[i]) * w
	}
	c := fourier.NewFFT(n).Coefficients(nil, seq)
	var num, den float64
	for i := range c {
		m := abs(c[i]) * abs(c[i])
		num += m * float64(i)
		den += m
	}
	return num / den * rate / float64(n)
}

// TestRunPlaysFromOSC: a note at the right pitch from oscsend (prototype
// addresses), silence after note-off, and a filter sweep from a Go client
// over TCP moving the spectrum up.
func TestRunPlaysFromOSC(t *testing.T) {
	in := startInstrument(t)
	time.Sleep(300 * time.Millisecond)
	// Sine at a fixed 440 Hz, held, then released with "off" (the string the
	// prototype treated as true).
	// Effects dry, so "silence after note-off" is not a reverb tail.
	in.oscsend("/mod/reverb/mix", "f", "0")
	in.oscsend("/mod/delay/mix", "f", "0")
	in.oscsend("/mod/sine/wave", "i", "0")
	in.oscsend("/mod/filter/cutoff", "f", "18000")
	in.oscsend("/mod/sine/freq", "f", "440")
	in.oscsend("/gate/adsr", "i", "1")
	time.Sleep(1200 * time.Millisecond)
	in.oscsend("/gate/adsr", "s", "off")
	time.Sleep(1500 * time.Millisecond)

	// A saw with the filter swept up, from a Go client over TCP (OSC 1.0
	// size-prefix framing).
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", in.port))
	if err != nil {
		t.Fatal(err)
	}
	send := func(addr string, args ...any) {
		b, err := goosc.NewMessage(addr, args...).MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var size [4]byte
		binary.BigEndian.PutUint32(size[:], uint32(len(b)))
		if _, err := conn.Write(append(size[:], b...)); err != nil {
			t.Fatal(err)
		}
	}
	send("/mod/sine/freq", float32(110))
	send("/mod/sine/wave", int32(1))
	send("/mod/filter/resonance", float32(0.7))
	send("/mod/filter/envamount", float32(0)) // only the sweep moves the cutoff
	send("/mod/filter/cutoff", float32(300))
	send("/gate/adsr", int32(1))
	time.Sleep(600 * time.Millisecond)
	send("/mod/filter/cutoff", float32(4000))
	time.Sleep(600 * time.Millisecond)
	send("/gate/adsr", false)
	time.Sleep(800 * time.Millisecond)
	conn.Close()
	left := in.stop()

	spans := loudSpans(left, 0.005)
	if len(spans) != 2 {
		t.Fatalf("want two notes in the take, found %d loud spans: %v", len(spans), spans)
	}
	// Note 1: the pitch, measured in its steady middle.
	n1 := spans[0]
	if n1[1]-n1[0] < 48000 {
		t.Fatalf("first note lasted %d frames, want about 1.2 s", n1[1]-n1[0])
	}
	mid := (n1[0] + n1[1]) / 2
	if hz := peakHz(left[mid-16384:mid+16384], 48000); math.Abs(hz-440) > 0.5 {
		t.Fatalf("first note at %.2f Hz, want 440", hz)
	}
	// Silence after note-off: once the release (0.35 s) is over, the gap
	// before the next note is silent (effects are dry).
	gap := left[spans[1][0]-14400 : spans[1][0]-480]
	if r := rms(gap); r > 1e-6 {
		t.Fatalf("between the notes the output is %.2g RMS, want silence after note-off", r)
	}
	// Note 2: the spectrum moves up with the cutoff.
	n2 := spans[1]
	low := centroid(left[n2[0]+9600:], 48000)
	high := centroid(left[n2[0]+28800+9600:], 48000)
	t.Logf("spectral centroid %.0f Hz with the cutoff at 300 Hz, %.0f Hz at 4000 Hz", low, high)
	if !(high > 2*low) {
		t.Fatalf("spectral centroid %.0f Hz before the sweep and %.0f Hz after: the filter did not open", low, high)
	}
}

var _ = io.EOF

// TestTimetaggedBundlesAreSampleAccurate sends two bundles 200 ms ahead,
// timetagged 600 ms apart: the onsets in the output are 600 ms apart to
// within one sample.
func TestTimetaggedBundlesAreSampleAccurate(t *testing.T) {
	in := startInstrument(t)
	time.Sleep(300 * time.Millisecond)
	in.oscsend("/mod/reverb/mix", "f", "0")
	in.oscsend("/mod/delay/mix", "f", "0")
	time.Sleep(500 * time.Millisecond)
	c := goosc.NewClient("127.0.0.1", in.port)
	t0 := time.Now().Add(200 * time.Millisecond)
	for i, at := range []time.Time{t0, t0.Add(600 * time.Millisecond)} {
		b := goosc.NewBundle(at)
		b.Append(goosc.NewMessage("/2/push3", float32(1))) // closed hi-hat, channel 10
		b.Append(goosc.NewMessage("/2/push3", float32(0)))
		if err := c.Send(b); err != nil {
			t.Fatalf("bundle %d: %v", i, err)
		}
	}
	time.Sleep(1500 * time.Millisecond)
	left := in.stop()
	var onsets []int
	zeros := 0
	for i, v := range left {
		if v == 0 {
			zeros++
			continue
		}
		if zeros >= 4800 {
			onsets = append(onsets, i)
		}
		zeros = 0
	}
	if len(onsets) != 2 {
		t.Fatalf("found %d onsets after silence, want 2: %v", len(onsets), onsets)
	}
	if d := onsets[1] - onsets[0]; d < 28799 || d > 28801 {
		t.Fatalf("onsets %d frames apart, want 28800 ± 1 (600 ms at 48 kHz)", d)
	}
}
