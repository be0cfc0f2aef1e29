package main

import (
	"fmt"
	"math"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goosc "github.com/hypebeast/go-osc/osc"
	"gonum.org/v1/gonum/dsp/fourier"
)

// TestPatchLiveOverOSC: a real `chronus run` loads the shipped patches
// into slots, then receives a graph over UDP while a note is held. The
// held note finishes on the preset it started with (440 Hz); a commit of a
// broken graph is refused with the reason and changes nothing; the next
// note on the channel plays the committed graph, a sine at a fixed 1 kHz.
func TestPatchLiveOverOSC(t *testing.T) {
	client := newUDPClient(t, "editor", "127.0.0.1:0")
	take := filepath.Join(t.TempDir(), "take.wav")
	in := startInstrumentArgs(t, map[string]string{"load.toml": patchLoadMap}, "--osc-reply-port", fmt.Sprint(client.port()), "--record", take)
	in.take = take
	deadline := time.After(10 * time.Second)
	for loaded := false; !loaded; {
		select {
		case m := <-in.logs:
			if m["message"] == "Graph patches are loaded into the synth's slots." {
				if s := fmt.Sprint(m["slots"]); !strings.Contains(s, "pad") || !strings.Contains(s, "pluck") {
					t.Fatalf("slots %s, want the shipped patches", s)
				}
				loaded = true
			}
		case <-deadline:
			t.Fatal("chronus run did not log its patch slots")
		}
	}
	send := func(addr string, args ...any) { client.send(in.port, addr, args...) }
	time.Sleep(300 * time.Millisecond)
	send("/mod/reverb/mix", float32(0))
	send("/mod/delay/mix", float32(0))
	send("/mod/sine/wave", int32(0))
	send("/mod/filter/cutoff", float32(18000))
	send("/mod/sine/freq", float32(440))
	time.Sleep(200 * time.Millisecond)
	send("/gate/adsr", int32(1)) // channel 1, the preset, a 440 Hz sine
	time.Sleep(600 * time.Millisecond)

	for _, m := range []struct {
		addr string
		args []any
	}{
		{"/patch/create/o", []any{"osc"}},
		{"/patch/set/o/wave", []any{"sine"}},
		{"/patch/set/o/hz", []any{float32(1000)}},
		{"/patch/set/o/level", []any{float32(0.3)}},
		{"/patch/create/a", []any{"amp"}},
		{"/patch/create/e", []any{"env"}},
		{"/patch/connect/o", []any{"a.in"}},
		{"/patch/connect/e/a.gain", []any{float32(1), "mul"}},
	} {
		client.send(in.port, m.addr, m.args...)
	}
	for i, m := range patchReplies(t, client, 8) {
		if m.Address != "/patch/ok" {
			t.Fatalf("edit %d: %s", i, msgText(m))
		}
	}
	send("/patch/commit", int32(1), "beep")
	// The 16 shipped patches fill the 16 slots, in name order and bound to
	// no program: the commit takes the first that no channel plays, 0.
	if m := patchReplies(t, client, 9)[8]; msgText(m) != "/patch/ok commit 1 0 beep" {
		t.Fatalf("commit: %s", msgText(m))
	}
	time.Sleep(700 * time.Millisecond) // the held note goes on after the commit
	send("/gate/adsr", int32(0))
	time.Sleep(800 * time.Millisecond)

	// A broken graph is refused; the committed one stays.
	send("/patch/create/f", "filter")
	send("/patch/out/f")
	send("/patch/commit/1")
	r := patchReplies(t, client, 12)
	if msgText(r[11]) != `/patch/error commit: module "f": input in is not connected` {
		t.Fatalf("broken commit: %s", msgText(r[11]))
	}
	send("/chronus/keyboard", float32(60), float32(1)) // a new note on channel 1
	time.Sleep(1000 * time.Millisecond)
	send("/chronus/keyboard", float32(60), float32(0))
	time.Sleep(600 * time.Millisecond)
	send("/patch/remove/f") // the staged graph is good again: save it
	send("/patch/save", "beep")
	send("/patch/list")
	r = patchReplies(t, client, 15)
	if msgText(r[13]) != "/patch/ok save beep" || msgText(r[14]) != "/patch/ok list "+shippedNames(t, "beep", "drums") {
		t.Fatalf("save and list: %s, %s", msgText(r[13]), msgText(r[14]))
	}
	// A map rule loads the saved patch onto channel 2 (slot 1: the live
	// commit in slot 0 is not the library's "beep"); a note there plays it.
	send("/test/load", int32(1))
	if m := patchReplies(t, client, 16)[15]; msgText(m) != "/patch/ok load beep 2 1" {
		t.Fatalf("mapped load: %s", msgText(m))
	}
	send("/test/note", int32(1))
	time.Sleep(800 * time.Millisecond)
	send("/test/note", int32(0))
	time.Sleep(600 * time.Millisecond)
	left := in.stop()

	spans := loudSpans(left, 0.005)
	if len(spans) != 3 {
		t.Fatalf("want three notes in the take, found %d loud spans: %v", len(spans), spans)
	}
	const rate = 48000
	n1, n2 := spans[0], spans[1]
	if n1[1]-n1[0] < rate*12/10 {
		t.Fatalf("the held note lasted %d frames, want at least 1.2 s", n1[1]-n1[0])
	}
	// The held note's last stretch before its release, after the commit.
	end := n1[1] - rate*4/10
	if hz := peakHz(left[end-16384:end], rate); math.Abs(hz-440) > 1 {
		t.Fatalf("the held note played %.1f Hz after the commit, want 440 (the preset it started on)", hz)
	}
	mid := (n2[0] + n2[1]) / 2
	if hz := peakHz(left[mid-8192:mid+8192], rate); math.Abs(hz-1000) > 1 {
		t.Fatalf("the new note played %.1f Hz, want the committed graph's 1000", hz)
	}
	mid = (spans[2][0] + spans[2][1]) / 2
	if hz := peakHz(left[mid-8192:mid+8192], rate); math.Abs(hz-1000) > 1 {
		t.Fatalf("the note on channel 2 played %.1f Hz, want the loaded patch's 1000", hz)
	}
}

// patchLoadMap loads the patch "beep" onto channel 2 and plays a note
// there.
const patchLoadMap = `
[map]
channel = 2

[[rule]]
address = "/test/load"
to = { do = "patch-load", name = "beep" }

[[rule]]
address = "/test/note"
to = { do = "note", key = 60 }
`

// patchReplies waits until c has received n /patch/ replies and returns
// them in order.
func patchReplies(t *testing.T, c *udpClient, n int) []*goosc.Message {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		var got []*goosc.Message
		c.mu.Lock()
		for _, m := range c.got {
			if strings.HasPrefix(m.Address, "/patch/") {
				got = append(got, m)
			}
		}
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-c.news:
		case <-deadline:
			var s []string
			for _, m := range got {
				s = append(s, msgText(m))
			}
			t.Fatalf("%d /patch/ replies, want %d: %q", len(got), n, s)
		}
	}
}

// msgText is "address arg arg ...".
func msgText(m *goosc.Message) string {
	s := m.Address
	for _, a := range m.Arguments {
		s += " " + fmt.Sprint(a)
	}
	return s
}

// sendBundle sends msgs in one bundle timetagged at.
func (c *udpClient) sendBundle(port int, at time.Time, msgs ...*goosc.Message) {
	c.t.Helper()
	b := goosc.NewBundle(at)
	for _, m := range msgs {
		if err := b.Append(m); err != nil {
			c.t.Fatal(err)
		}
	}
	p, err := b.MarshalBinary()
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.conn.WriteToUDP(p, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}); err != nil {
		c.t.Fatal(err)
	}
}

// bandPower is the power of x within lo..hi Hz (Hann window).
func bandPower(x []float32, rate, lo, hi float64) float64 {
	n := len(x)
	seq := make([]float64, n)
	for i := range seq {
		seq[i] = float64(x[i]) * (0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1)))
	}
	c := fourier.NewFFT(n).Coefficients(nil, seq)
	var p float64
	for i := range c {
		if f := float64(i) * rate / float64(n); f >= lo && f <= hi {
			p += abs(c[i]) * abs(c[i])
		}
	}
	return p
}

// TestPatchCommitInBundleAtItsTime: a real `chronus run` gets three
// bundles timetagged about 200 ms ahead: a note 1.5 frames before the
// time T, a commit of a fixed 1 kHz sine graph at T, and a note 1.5
// frames after T. The commit is confirmed long before T, and it takes
// effect between the notes: the first plays the preset, the second the
// graph. Sent without its timetag it would have changed both notes, and a
// commit late by two frames neither. (The engine applies it at exactly
// the frame the timetag names, TestPatchCommitAtFrame; the notes are
// 1.5 frames away because each message's time is turned into a frame on
// its own, rounded.)
func TestPatchCommitInBundleAtItsTime(t *testing.T) {
	client := newUDPClient(t, "editor", "127.0.0.1:0")
	in := launch(t, nil, true, "--osc-reply-port", fmt.Sprint(client.port()))
	deadline := time.After(10 * time.Second)
	for loaded := false; !loaded; {
		select {
		case m := <-in.logs:
			loaded = m["message"] == "Graph patches are loaded into the synth's slots."
		case <-deadline:
			t.Fatal("chronus run did not log its patch slots")
		}
	}
	send := func(addr string, args ...any) { client.send(in.port, addr, args...) }
	send("/mod/reverb/mix", float32(0))
	send("/mod/delay/mix", float32(0))
	for _, m := range [][]any{{"/patch/create/o", "osc"}, {"/patch/set/o/wave", "sine"},
		{"/patch/set/o/hz", float32(1000)}, {"/patch/set/o/level", float32(0.3)}} {
		send(m[0].(string), m[1:]...)
	}
	for i, m := range patchReplies(t, client, 4) {
		if m.Address != "/patch/ok" {
			t.Fatalf("edit %d: %s", i, msgText(m))
		}
	}
	time.Sleep(300 * time.Millisecond)
	const frame = time.Second / 48000
	at := time.Now().Add(200 * time.Millisecond)
	key := func(k, vel float32) *goosc.Message { return goosc.NewMessage("/chronus/keyboard", k, vel) }
	client.sendBundle(in.port, at.Add(-3*frame/2), key(69, 1)) // A4 on the preset
	client.sendBundle(in.port, at, goosc.NewMessage("/patch/commit/1"))
	client.sendBundle(in.port, at.Add(3*frame/2), key(62, 1)) // D4, on the graph
	client.sendBundle(in.port, at.Add(700*time.Millisecond), key(69, 0), key(62, 0))
	if m := patchReplies(t, client, 5)[4]; msgText(m) != "/patch/ok commit 1 0 " {
		t.Fatalf("commit: %s", msgText(m))
	}
	if early := time.Until(at); early < 50*time.Millisecond {
		t.Logf("the commit was confirmed only %v before its time", early)
	}
	time.Sleep(time.Until(at) + 1500*time.Millisecond)
	left := in.stop()

	spans := loudSpans(left, 0.005)
	if len(spans) != 1 {
		t.Fatalf("want the two notes as one loud span, found %v", spans)
	}
	const rate = 48000
	x := left[spans[0][0]+rate/10 : spans[0][0]+rate/10+16384]
	total := bandPower(x, rate, 20, 20000)
	sine := bandPower(x, rate, 985, 1015) / total
	t.Logf("the 1 kHz graph holds %.2f of the power", sine)
	switch {
	case sine > 0.95:
		t.Fatal("both notes play the graph: the commit took effect before its time")
	case sine < 0.05:
		t.Fatal("neither note plays the graph: the commit took effect after its time")
	}
}

// TestKitLoadOverOSC: a real `chronus run` loads the shipped drum kit onto
// channel 10 over OSC and says so; the kit's hi-hat (TouchOSC's /2/push3
// on the percussion channel) then sounds and ends.
func TestKitLoadOverOSC(t *testing.T) {
	client := newUDPClient(t, "editor", "127.0.0.1:0")
	take := filepath.Join(t.TempDir(), "take.wav")
	in := startInstrumentArgs(t, nil, "--osc-reply-port", fmt.Sprint(client.port()), "--record", take)
	in.take = take
	send := func(addr string, args ...any) { client.send(in.port, addr, args...) }
	time.Sleep(300 * time.Millisecond)
	send("/mod/reverb/mix", float32(0))
	send("/mod/delay/mix", float32(0))
	send("/patch/load", "drums")
	if m := patchReplies(t, client, 1)[0]; msgText(m) != "/patch/ok load drums 10 kit" {
		t.Fatalf("load: %s", msgText(m))
	}
	deadline := time.After(5 * time.Second)
	for logged := false; !logged; {
		select {
		case m := <-in.logs:
			logged = m["message"] == "A drum kit was loaded." && fmt.Sprint(m["kit"]) == "drums"
		case <-deadline:
			t.Fatal("no log line for the kit")
		}
	}
	time.Sleep(200 * time.Millisecond)
	send("/2/push3", float32(1))
	time.Sleep(100 * time.Millisecond)
	send("/2/push3", float32(0))
	time.Sleep(800 * time.Millisecond)
	left := in.stop()
	spans := loudSpans(left, 0.005)
	if len(spans) != 1 {
		t.Fatalf("want one hi-hat in the take, found %d loud spans: %v", len(spans), spans)
	}
	if n := spans[0][1] - spans[0][0]; n > 48000/2 {
		t.Fatalf("the closed hi-hat rang for %d frames", n)
	}
}
