package osc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chronus-audio/chronus/controllers"
)

// sink records what a framer reports.
type sink struct {
	frames [][]byte
	bad    []Reason
}

func (s *sink) frame(p []byte)      { s.frames = append(s.frames, bytes.Clone(p)) }
func (s *sink) badFrame(why Reason) { s.bad = append(s.bad, why) }

func sizeFrame(p []byte) []byte { return appendFrame(nil, p, framingSize) }
func slipFrame(p []byte) []byte { return appendFrame(nil, p, framingSLIP) }

// feedChunks feeds stream to a new framer cut at the given chunk sizes
// (cycled) and returns what it found.
func feedChunks(t *testing.T, stream []byte, chunks []int) (*sink, *framer, error) {
	t.Helper()
	var f framer
	s := new(sink)
	for i := 0; len(stream) > 0; i++ {
		n := min(chunks[i%len(chunks)], len(stream))
		if err := f.feed(stream[:n], s); err != nil {
			return s, &f, err
		}
		stream = stream[n:]
	}
	return s, &f, nil
}

func TestFramer(t *testing.T) {
	big := enc(t, "/blob", make([]byte, 60<<10))
	special := enc(t, "/special", []byte{slipEnd, slipEsc, slipEnd, 0, slipEscEnd, slipEscEsc})
	msgs := [][]byte{enc(t, "/a", int32(1)), special, big, enc(t, "/b", "x")}
	oversized := make([]byte, MaxPacket+1)

	var sizeStream, slipStream []byte
	for _, m := range msgs[:2] {
		sizeStream = append(sizeStream, sizeFrame(m)...)
		slipStream = append(slipStream, slipFrame(m)...)
	}
	sizeStream = append(sizeStream, 0, 0, 0, 0)                  // empty frame
	sizeStream = append(sizeStream, sizeFrame(oversized)...)     // skipped
	slipStream = append(slipStream, slipEnd, slipEnd)            // empty frames: ignored
	slipStream = append(slipStream, slipFrame(oversized)...)     // dropped
	slipStream = append(slipStream, slipEsc, 0x01, 'x', slipEnd) // bad escape
	for _, m := range msgs[2:] {
		sizeStream = append(sizeStream, sizeFrame(m)...)
		slipStream = append(slipStream, slipFrame(m)...)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]int, 100)
	for i := range random {
		random[i] = 1 + rng.IntN(3000)
	}
	for _, c := range []struct {
		name   string
		stream []byte
		bad    []Reason
	}{
		{"size", sizeStream, []Reason{ReasonEmpty, ReasonOversized}},
		{"slip", slipStream, []Reason{ReasonOversized, ReasonBadFrame}},
	} {
		for _, chunks := range [][]int{{len(c.stream)}, {1}, {3, 5, 7}, random, {tcpReadBuf}} {
			t.Run(fmt.Sprintf("%s/%d", c.name, chunks[0]), func(t *testing.T) {
				s, f, err := feedChunks(t, c.stream, chunks)
				if err != nil {
					t.Fatal(err)
				}
				if len(s.frames) != len(msgs) {
					t.Fatalf("%d frames, want %d", len(s.frames), len(msgs))
				}
				for i := range msgs {
					if !bytes.Equal(s.frames[i], msgs[i]) {
						t.Errorf("frame %d differs (%d vs %d bytes)", i, len(s.frames[i]), len(msgs[i]))
					}
				}
				if fmt.Sprint(s.bad) != fmt.Sprint(c.bad) {
					t.Errorf("bad frames %v, want %v", s.bad, c.bad)
				}
				if f.open || cap(f.frame) != MaxPacket {
					t.Errorf("open %v, buffer capacity %d (must stay %d)", f.open, cap(f.frame), MaxPacket)
				}
			})
		}
	}

	// A negative size cannot be skipped: the stream is lost.
	if _, _, err := feedChunks(t, []byte{0xff, 0xff, 0xff, 0xf0}, []int{4}); err == nil {
		t.Error("negative size accepted")
	}
}

// tcpDial connects to the controller's TCP port.
func tcpDial(t *testing.T, c *Controller) *net.TCPConn {
	t.Helper()
	conn, err := net.DialTCP("tcp", nil, net.TCPAddrFromAddrPort(c.TCPAddr()))
	if err != nil {
		t.Fatal(err)
	}
	conn.SetNoDelay(true)
	t.Cleanup(func() { conn.Close() })
	return conn
}

// readFrame reads one framed reply from conn.
func readFrame(t *testing.T, conn net.Conn, mode framing) controllers.Event {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(waitLimit))
	var f framer
	f.mode = mode
	s := new(sink)
	buf := make([]byte, 1024)
	for len(s.frames) == 0 {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("reading reply: %v", err)
		}
		if err := f.feed(buf[:n], s); err != nil {
			t.Fatal(err)
		}
	}
	var ev controllers.Event
	if err := DecodeMessage(s.frames[0], &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestTCPFramings(t *testing.T) {
	for _, mode := range []framing{framingSize, framingSLIP} {
		t.Run(map[framing]string{framingSize: "size", framingSLIP: "slip"}[mode], func(t *testing.T) {
			t.Parallel()
			rec := newRecorder()
			c, _ := start(t, Config{}, rec)
			conn := tcpDial(t, c)
			frame := func(p []byte) []byte { return appendFrame(nil, p, mode) }

			// Several messages in one write.
			var burst []byte
			for i := 0; i < 3; i++ {
				burst = append(burst, frame(enc(t, "/burst", int32(i)))...)
			}
			send(t, conn, burst)
			// One message split across writes (and reads).
			split := frame(enc(t, "/split", "across", float32(1.5)))
			for _, part := range [][]byte{split[:3], split[3:9], split[9:]} {
				send(t, conn, part)
				time.Sleep(20 * time.Millisecond)
			}
			// A 60 KiB blob, with bytes SLIP must escape, then a message.
			blob := bytes.Repeat([]byte{slipEnd, 1, slipEsc, 2}, 15<<10)
			send(t, conn, append(frame(enc(t, "/blob", blob, int32(77))), frame(enc(t, "/after"))...))

			for i := 0; i < 3; i++ {
				if ev := rec.next(t); ev.Address() != "/burst" || ev.Args[0].I != int64(i) {
					t.Fatalf("burst %d: %s %d", i, ev.Address(), ev.Args[0].I)
				}
			}
			if ev := rec.next(t); ev.Address() != "/split" || ev.String() != "across" || ev.Args[1].F != 1.5 {
				t.Fatalf("split: %s %q %+v", ev.Address(), ev.String(), ev.Args[1])
			}
			ev := rec.next(t)
			if ev.Address() != "/blob" || ev.Args[0] != (controllers.Arg{Type: 'b', I: 60 << 10}) || ev.Args[1].I != 77 {
				t.Fatalf("blob: %s %+v", ev.Address(), ev.Args[:ev.NArgs])
			}
			if ev := rec.next(t); ev.Address() != "/after" {
				t.Fatalf("after blob: %s", ev.Address())
			}
			cl, ok := c.Client(ev.Source)
			if !ok || !cl.TCP || cl.Packets != 6 {
				t.Errorf("client %+v %v", cl, ok)
			}

			// /ping is answered on the connection, in the client's framing.
			send(t, conn, frame(enc(t, "/ping", int32(5))))
			if ev := readFrame(t, conn, mode); ev.Address() != "/pong" || ev.Args[0].I != 5 {
				t.Fatalf("reply %s %+v", ev.Address(), ev.Args[0])
			}
			// Feedback reaches TCP clients too.
			if err := c.Sender().Send(NewMessage("/fb", int32(3))); err != nil {
				t.Fatal(err)
			}
			if ev := readFrame(t, conn, mode); ev.Address() != "/fb" || ev.Args[0].I != 3 {
				t.Fatalf("feedback %s", ev.Address())
			}
			if s := c.Stats(); s.TCPAccepted != 1 || s.TCPOpen != 1 || s.DroppedTotal() != 0 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

// TestTCPBadClients: clients that send garbage sizes, stall inside a frame,
// or exceed the connection limit are cut off; others keep working.
func TestTCPBadClients(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	c, logs := start(t, Config{MaxTCPConns: 3, FrameTimeout: 300 * time.Millisecond}, rec)
	good := tcpDial(t, c)

	closed := func(conn net.Conn) bool {
		conn.SetReadDeadline(time.Now().Add(waitLimit))
		_, err := conn.Read(make([]byte, 1))
		return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err)
	}

	// A negative size prefix: the stream cannot be resynchronised.
	neg := tcpDial(t, c)
	send(t, neg, []byte{0x80, 0, 0, 0})
	if !closed(neg) {
		t.Error("connection with a negative size stayed open")
	}
	waitFor(t, "the bad connection to be released", func() bool { return c.Stats().TCPOpen == 1 })

	// An oversized frame is skipped; the connection goes on.
	over := sizeFrame(make([]byte, MaxPacket+100))
	send(t, good, append(over, sizeFrame(enc(t, "/good", int32(1)))...))
	if ev := rec.next(t); ev.Address() != "/good" {
		t.Fatalf("got %s", ev.Address())
	}

	// A client that starts a frame and stalls is closed after FrameTimeout;
	// one that is merely idle stays.
	stall := tcpDial(t, c)
	idle := tcpDial(t, c)
	began := time.Now()
	send(t, stall, []byte{0, 0, 0, 40, '/', 's'})
	if !closed(stall) {
		t.Error("stalled connection stayed open")
	}
	if d := time.Since(began); d < 250*time.Millisecond {
		t.Errorf("stalled connection closed after %v, before the frame timeout", d)
	}
	time.Sleep(100 * time.Millisecond)
	send(t, idle, sizeFrame(enc(t, "/idle")))
	if ev := rec.next(t); ev.Address() != "/idle" {
		t.Fatalf("idle connection: got %s", ev.Address())
	}

	// Connection limit: good and idle are open; one more fits, the next not.
	third := tcpDial(t, c)
	send(t, third, sizeFrame(enc(t, "/third")))
	if ev := rec.next(t); ev.Address() != "/third" {
		t.Fatalf("got %s", ev.Address())
	}
	fourth := tcpDial(t, c)
	if !closed(fourth) {
		t.Error("connection over the limit stayed open")
	}
	send(t, good, sizeFrame(enc(t, "/still", int32(2))))
	if ev := rec.next(t); ev.Address() != "/still" {
		t.Fatalf("got %s", ev.Address())
	}
	s := c.Stats()
	if s.TCPRejected != 1 || s.Dropped[ReasonOversized] != 1 || s.Dropped[ReasonBadFrame] != 1 {
		t.Errorf("stats %+v", s)
	}
	c.Close()
	if l := logs.lines("did not finish a frame in time"); len(l) != 1 {
		t.Errorf("timeout log lines %q", l)
	}
	if l := logs.lines("too many are open"); len(l) != 1 {
		t.Errorf("limit log lines %q", l)
	}
}

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && !ne.Timeout()
}

// TestTCPSlowReader: a TCP client that never reads must not block
// feedback to the others: sends never wait for it, its queue is bounded,
// and it is cut off once a write to it has waited WriteTimeout.
func TestTCPSlowReader(t *testing.T) {
	t.Parallel()
	const writeTimeout = time.Second
	fixed := listen(t)
	c, _ := start(t, Config{WriteTimeout: writeTimeout, Feedback: []netip.AddrPort{addrPort(fixed)}}, newRecorder())
	slow := tcpDial(t, c)
	slow.SetReadBuffer(4 << 10)
	send(t, slow, sizeFrame(enc(t, "/hello")))
	waitFor(t, "the TCP client", func() bool { return c.Stats().TCPOpen == 1 })

	// Send until the kernel buffers towards the client are full, the
	// writer blocks, and its deadline cuts the client off.
	payload := make([]byte, 60<<10)
	deadline := time.Now().Add(waitLimit)
	var sends, failed int
	var slowest time.Duration
	for c.Stats().TCPOpen > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the slow client was never cut off (%d sends, %d failed)", sends, failed)
		}
		began := time.Now()
		err := c.Sender().Send(NewMessage("/big", payload, int32(sends)))
		slowest = max(slowest, time.Since(began))
		sends++
		if err != nil {
			failed++
			// Only the TCP client may fail; a UDP failure names its address.
			if strings.Contains(err.Error(), addrPort(fixed).String()) {
				t.Fatalf("UDP feedback failed: %v", err)
			}
		}
	}
	t.Logf("%d sends, %d did not fit the slow client's queue, slowest send %v", sends, failed, slowest)
	if slowest > writeTimeout/2 {
		t.Errorf("a send took %v: it waited for the slow client", slowest)
	}
	if failed == 0 {
		t.Error("no send failed: the slow client's queue is unbounded")
	}
	if s := c.Stats(); s.FeedbackDropped == 0 || s.FeedbackSent < uint64(sends) {
		t.Errorf("stats %+v", s)
	}
	// The UDP host still gets feedback (its own buffer may have dropped
	// some of the big packets; that is UDP).
	if err := c.Sender().SendTo(addrPort(fixed), NewMessage("/final")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, MaxPacket)
	for {
		fixed.SetReadDeadline(time.Now().Add(waitLimit))
		n, err := fixed.Read(buf)
		if err != nil {
			t.Fatalf("feedback host: %v", err)
		}
		var ev controllers.Event
		if DecodeMessage(buf[:n], &ev) == nil && ev.Address() == "/final" {
			break
		}
	}
}

// TestTCPManyClients: 20 clients send concurrently; every message arrives
// and each client's messages stay in order.
func TestTCPManyClients(t *testing.T) {
	t.Parallel()
	const clients, each = 20, 50
	var mu sync.Mutex
	last := map[uint16]int64{}
	var n atomic.Int64
	var bad atomic.Value
	c, _ := start(t, Config{}, HandlerFunc(func(ev *controllers.Event) {
		mu.Lock()
		defer mu.Unlock()
		if prev, ok := last[ev.Source]; ok && ev.Args[0].I != prev+1 {
			bad.Store(fmt.Sprintf("source %d: %d after %d", ev.Source, ev.Args[0].I, prev))
		}
		last[ev.Source] = ev.Args[0].I
		n.Add(1)
	}))
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		conn := tcpDial(t, c)
		mode := []framing{framingSize, framingSLIP}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < each; k++ {
				b, _ := NewMessage("/c", int32(k)).MarshalBinary()
				conn.Write(appendFrame(nil, b, mode))
			}
		}()
	}
	wg.Wait()
	waitFor(t, "all messages", func() bool { return n.Load() == clients*each })
	if v := bad.Load(); v != nil {
		t.Error(v)
	}
	if len(last) != clients {
		t.Errorf("%d sources, want %d", len(last), clients)
	}
}
