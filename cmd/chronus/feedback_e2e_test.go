package main

import (
	"fmt"
	"math"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	goosc "github.com/hypebeast/go-osc/osc"
)

// startInstrumentArgs starts `chronus run` on the null device, without
// recording, with extra flags and the user maps given (file name → TOML),
// and returns it once it logged its OSC port.
func startInstrumentArgs(t *testing.T, userMaps map[string]string, extra ...string) *instrument {
	t.Helper()
	return launch(t, userMaps, false, extra...)
}

// udpClient is a Go OSC client that sends from, and receives on, one UDP
// socket, and keeps everything it receives.
type udpClient struct {
	t    *testing.T
	name string
	conn *net.UDPConn
	mu   sync.Mutex
	got  []*goosc.Message
	news chan struct{}
}

func newUDPClient(t *testing.T, name, addr string) *udpClient {
	t.Helper()
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenUDP("udp", ua)
	if err != nil {
		t.Fatalf("client %s: %v", name, err)
	}
	c := &udpClient{t: t, name: name, conn: conn, news: make(chan struct{}, 1)}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			p, err := goosc.ParsePacket(string(buf[:n]))
			if m, ok := p.(*goosc.Message); ok && err == nil {
				c.mu.Lock()
				c.got = append(c.got, m)
				c.mu.Unlock()
				select {
				case c.news <- struct{}{}:
				default:
				}
			}
		}
	}()
	return c
}

func (c *udpClient) port() int { return c.conn.LocalAddr().(*net.UDPAddr).Port }

func (c *udpClient) send(port int, addr string, args ...any) {
	c.t.Helper()
	b, err := goosc.NewMessage(addr, args...).MarshalBinary()
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.conn.WriteToUDP(b, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}); err != nil {
		c.t.Fatal(err)
	}
}

// wait returns the first message received (since from) on addr that ok
// accepts, or fails after timeout.
func (c *udpClient) wait(addr string, timeout time.Duration, ok func(m *goosc.Message) bool) *goosc.Message {
	c.t.Helper()
	deadline := time.After(timeout)
	seen := 0
	for {
		c.mu.Lock()
		got := c.got
		c.mu.Unlock()
		for ; seen < len(got); seen++ {
			if m := got[seen]; m.Address == addr && (ok == nil || ok(m)) {
				return m
			}
		}
		select {
		case <-c.news:
		case <-deadline:
			c.t.Fatalf("client %s did not receive a matching %s in %v; it received %s", c.name, addr, timeout, c.summary())
		}
	}
}

// count returns how many messages on addr were received.
func (c *udpClient) count(addr string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, m := range c.got {
		if m.Address == addr {
			n++
		}
	}
	return n
}

func (c *udpClient) summary() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var s []string
	for _, m := range c.got {
		s = append(s, m.String())
	}
	if len(s) > 30 {
		s = append(s[:30], fmt.Sprintf("... (%d in all)", len(s)))
	}
	return "[" + strings.Join(s, "; ") + "]"
}

func argF(m *goosc.Message, i int) float64 {
	if i >= len(m.Arguments) {
		return math.NaN()
	}
	switch v := m.Arguments[i].(type) {
	case float32:
		return float64(v)
	case float64:
		return v
	case int32:
		return float64(v)
	case int64:
		return float64(v)
	}
	return math.NaN()
}

// TestRunSendsFeedback: a real `chronus run` with two OSC clients on two
// loopback hosts (127.0.0.1 and 127.0.0.2, both listening on the reply
// port) and one configured feedback host. /ping is answered; a fader moved
// on client A reaches B and the feedback host, on A's address and as the
// parameter it set, but never comes back to A; a held note raises the voice
// count and the level and its release lowers them; a recording reports its
// status every second.
func TestRunSendsFeedback(t *testing.T) {
	a := newUDPClient(t, "A", "127.0.0.1:0")
	reply := a.port()
	b := newUDPClient(t, "B", fmt.Sprintf("127.0.0.2:%d", reply))
	host := newUDPClient(t, "feedback host", "127.0.0.1:0")
	bridge := `
[[rule]]
address = "/bridge/*"
to = [
  { do = "osc-out", address = "event", args = "event" },
  { do = "osc-out", address = "/bridge/ack", args = "none", dest = "sender" },
]
`
	in := startInstrumentArgs(t, map[string]string{"bridge.toml": bridge}, "--osc-reply-port", fmt.Sprint(reply), "--osc-feedback", fmt.Sprintf("127.0.0.1:%d", host.port()))

	// /ping, answered to each client (this also makes both known clients).
	a.send(in.port, "/ping", int32(7), "a")
	b.send(in.port, "/ping", int32(8))
	if m := a.wait("/pong", 5*time.Second, nil); len(m.Arguments) != 2 || argF(m, 0) != 7 || m.Arguments[1] != "a" {
		t.Fatalf("A's /ping 7 \"a\" was answered with %v", m)
	}
	if m := b.wait("/pong", 5*time.Second, nil); argF(m, 0) != 8 {
		t.Fatalf("B's /ping 8 was answered with %v", m)
	}

	// A moves fader 1 (TouchOSC Simple: the filter cutoff, 40..16000 Hz,
	// exponential).
	a.send(in.port, "/1/fader1", float32(0.7))
	for _, c := range []*udpClient{b, host} {
		if m := c.wait("/1/fader1", 3*time.Second, nil); math.Abs(argF(m, 0)-0.7) > 1e-6 {
			t.Fatalf("client %s saw /1/fader1 %v, want 0.7", c.name, m.Arguments)
		}
		cut := 40 * math.Pow(16000.0/40, 0.7)
		m := c.wait("/param/filter/cutoff", 3*time.Second, nil)
		if math.Abs(argF(m, 0)-cut) > 1e-3*cut || argF(m, 1) != 1 {
			t.Fatalf("client %s saw %v, want /param/filter/cutoff %.1f on channel 1", c.name, m, cut)
		}
	}

	// A user map forwards /bridge/* to the other clients with its
	// arguments, and acknowledges to the sender.
	a.send(in.port, "/bridge/x", float32(0.25), "word", int32(3))
	if m := b.wait("/bridge/x", 3*time.Second, nil); len(m.Arguments) != 3 || argF(m, 0) != 0.25 || m.Arguments[1] != "word" || argF(m, 2) != 3 {
		t.Fatalf("B received %v, want /bridge/x 0.25 \"word\" 3", m)
	}
	a.wait("/bridge/ack", 3*time.Second, nil)

	// A held note: the prototype map's gate, on the sine at 440 Hz.
	a.send(in.port, "/mod/sine/freq", float32(440))
	a.send(in.port, "/gate/adsr", int32(1))
	for _, c := range []*udpClient{a, b} {
		c.wait("/status/voices", 5*time.Second, func(m *goosc.Message) bool { return argF(m, 0) >= 1 })
	}
	m := b.wait("/status/level", 5*time.Second, func(m *goosc.Message) bool { return argF(m, 0) > -40 })
	if l, r := argF(m, 0), argF(m, 1); l > 0 || r > 0 || math.Abs(l-r) > 6 {
		t.Fatalf("the level of a centred note is %v, %v dBFS", l, r)
	}
	a.send(in.port, "/gate/adsr", "off")
	b.wait("/status/voices", 10*time.Second, func(m *goosc.Message) bool { return argF(m, 0) == 0 })
	b.wait("/status/level", 10*time.Second, func(m *goosc.Message) bool { return argF(m, 0) <= -100 })

	// A recording, started from B: /record/status once a second with the
	// time growing, to everyone.
	b.send(in.port, "/record/start", "fb")
	var last float64 = -1
	for range 3 {
		m := a.wait("/record/status", 5*time.Second, func(m *goosc.Message) bool { return argF(m, 0) == 1 && argF(m, 2) > last })
		last = argF(m, 2)
	}
	if last < 1 {
		t.Fatalf("after three /record/status messages the recording is %.2f s long, want the periodic ones a second apart", last)
	}
	b.send(in.port, "/record/stop")
	a.wait("/record/status", 5*time.Second, func(m *goosc.Message) bool { return argF(m, 0) == 0 })

	// A never got its own fader, or the parameter it set, back.
	if n := a.count("/1/fader1") + a.count("/param/filter/cutoff") + a.count("/bridge/x"); n != 0 {
		t.Fatalf("client A got its own messages back %d times: %s", n, a.summary())
	}
	if n := b.count("/bridge/ack"); n != 0 {
		t.Fatalf("the acknowledgement for A went to B too")
	}
	in.terminate()
}
