package osc

import (
	"bufio"
	"bytes"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chronus-audio/chronus/controllers"
	"github.com/rs/zerolog"
)

const (
	oscsendPath = "/usr/bin/oscsend"
	oscdumpPath = "/usr/bin/oscdump"
	waitLimit   = 10 * time.Second
)

// recorder is a Handler that copies every event into a channel.
type recorder struct{ ch chan controllers.Event }

func newRecorder() *recorder { return &recorder{ch: make(chan controllers.Event, 1<<14)} }

func (r *recorder) HandleOSC(ev *controllers.Event) { r.ch <- *ev }

func (r *recorder) next(t *testing.T) controllers.Event {
	t.Helper()
	select {
	case ev := <-r.ch:
		return ev
	case <-time.After(waitLimit):
		t.Fatal("no OSC message arrived")
		return controllers.Event{}
	}
}

// syncBuffer collects log output from the logger goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// lines returns the log lines holding sub.
func (s *syncBuffer) lines(sub string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, l := range strings.Split(s.b.String(), "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return out
}

// start starts a Controller on 127.0.0.1 with a free port and closes it when
// the test ends. It returns the log buffer too.
func start(t testing.TB, cfg Config, h Handler) (*Controller, *syncBuffer) {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	logs := new(syncBuffer)
	cfg.Logger = zerolog.New(logs)
	c, err := New(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, logs
}

// dial returns a UDP socket connected to the controller, bound to local
// (e.g. "127.0.0.2:0"; "" for any).
func dial(t testing.TB, c *Controller, local string) *net.UDPConn {
	t.Helper()
	var la *net.UDPAddr
	if local != "" {
		var err error
		if la, err = net.ResolveUDPAddr("udp", local); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := net.DialUDP("udp", la, net.UDPAddrFromAddrPort(c.UDPAddr()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// listen opens a UDP socket on 127.0.0.1 for receiving replies.
func listen(t *testing.T) *net.UDPConn {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func addrPort(conn interface{ LocalAddr() net.Addr }) netip.AddrPort {
	return netip.MustParseAddrPort(conn.LocalAddr().String())
}

// receive reads one OSC message from conn and decodes it.
func receive(t *testing.T, conn *net.UDPConn) controllers.Event {
	t.Helper()
	buf := make([]byte, MaxPacket)
	conn.SetReadDeadline(time.Now().Add(waitLimit))
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no reply: %v", err)
	}
	var ev controllers.Event
	if err := DecodeMessage(buf[:n], &ev); err != nil {
		t.Fatalf("reply % x: %v", buf[:n], err)
	}
	return ev
}

func send(t *testing.T, conn net.Conn, pkt []byte) {
	t.Helper()
	if _, err := conn.Write(pkt); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds or the wait limit passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func needTool(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s (liblo-tools) is required for this test: %v", path, err)
	}
}

func TestOscsendUDP(t *testing.T) {
	needTool(t, oscsendPath)
	t.Parallel()
	rec := newRecorder()
	c, _ := start(t, Config{NoTCP: true}, rec)
	port := strconv.Itoa(int(c.UDPAddr().Port()))
	run := func(args ...string) {
		t.Helper()
		out, err := exec.Command(oscsendPath, append([]string{"127.0.0.1", port}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("oscsend %v: %v: %s", args, err, out)
		}
	}

	run("/synth/osc1/freq", "ifs", "42", "440.5", "hello")
	ev := rec.next(t)
	want := []controllers.Arg{{Type: 'i', I: 42, F: 42}, {Type: 'f', I: 440, F: 440.5}, {Type: 's', Kept: true, I: 5}}
	if ev.Address() != "/synth/osc1/freq" || ev.NArgs != 3 || ev.String() != "hello" {
		t.Fatalf("got %s with %d args, str %q", ev.Address(), ev.NArgs, ev.String())
	}
	for i, w := range want {
		if ev.Args[i] != w {
			t.Errorf("arg %d = %+v, want %+v", i, ev.Args[i], w)
		}
	}
	cl, ok := c.Client(ev.Source)
	if ev.Source == 0 || !ok || cl.TCP || cl.Addr.Addr() != netip.MustParseAddr("127.0.0.1") || cl.Packets != 1 {
		t.Errorf("source %d: client %+v, %v", ev.Source, cl, ok)
	}
	if ev.Arrived.IsZero() || time.Since(ev.Arrived) > waitLimit || !ev.Due.IsZero() {
		t.Errorf("Arrived %v, Due %v", ev.Arrived, ev.Due)
	}

	run("/synth/misc", "hdTFNcS", "-9000000000", "-0.125", "x", "sym")
	ev = rec.next(t)
	want = []controllers.Arg{{Type: 'h', I: -9e9, F: -9e9}, {Type: 'd', I: 0, F: -0.125}, {Type: 'T', I: 1, F: 1},
		{Type: 'F'}, {Type: 'N'}, {Type: 'c', I: 'x', F: 'x'}, {Type: 'S', Kept: true, I: 3}}
	if ev.Address() != "/synth/misc" || int(ev.NArgs) != len(want) || ev.String() != "sym" {
		t.Fatalf("got %s with %d args, str %q", ev.Address(), ev.NArgs, ev.String())
	}
	for i, w := range want {
		if ev.Args[i] != w {
			t.Errorf("arg %d = %+v, want %+v", i, ev.Args[i], w)
		}
	}

	// A pattern address passes through; a malformed one is dropped.
	run("/synth/a[", "f", "1")
	run("/synth/osc[12]/gain", "f", "0.5")
	ev = rec.next(t)
	if ev.Address() != "/synth/osc[12]/gain" || ev.Args[0].F != 0.5 {
		t.Errorf("got %s %+v", ev.Address(), ev.Args[0])
	}
	if s := c.Stats(); s.Dropped[ReasonBadPattern] != 1 || s.Handled != 3 {
		t.Errorf("stats %+v", s)
	}
}

func TestOscsendTCP(t *testing.T) {
	needTool(t, oscsendPath)
	t.Parallel()
	rec := newRecorder()
	c, _ := start(t, Config{}, rec)
	url := "osc.tcp://127.0.0.1:" + strconv.Itoa(int(c.TCPAddr().Port()))
	out, err := exec.Command(oscsendPath, url, "/tcp/fader", "fi", "0.25", "-3").CombinedOutput()
	if err != nil {
		t.Fatalf("oscsend: %v: %s", err, out)
	}
	ev := rec.next(t)
	if ev.Address() != "/tcp/fader" || ev.NArgs != 2 || ev.Args[0].F != 0.25 || ev.Args[1].I != -3 {
		t.Fatalf("got %s %+v", ev.Address(), ev.Args[:ev.NArgs])
	}
	cl, ok := c.Client(ev.Source)
	if ok && !cl.TCP { // the connection may already be gone: oscsend exits at once
		t.Errorf("client %+v is not TCP", cl)
	}
}

// TestUDPInOrder sends 2000 numbered messages and checks that all arrive,
// in order. The sender keeps at most 64 messages in flight so that the
// kernel's receive buffer (whatever rmem_max allows) never overflows.
func TestUDPInOrder(t *testing.T) {
	t.Parallel()
	const total, window = 2000, 64
	var mu sync.Mutex
	var got []int32
	var n atomic.Int64
	c, _ := start(t, Config{NoTCP: true}, HandlerFunc(func(ev *controllers.Event) {
		mu.Lock()
		got = append(got, int32(ev.Args[0].I))
		mu.Unlock()
		n.Add(1)
	}))
	conn := dial(t, c, "")
	for i := 0; i < total; i++ {
		for int64(i)-n.Load() >= window {
			time.Sleep(50 * time.Microsecond)
		}
		send(t, conn, enc(t, "/seq", int32(i)))
	}
	waitFor(t, "2000 messages", func() bool { return n.Load() == total })
	mu.Lock()
	defer mu.Unlock()
	for i, v := range got {
		if v != int32(i) {
			t.Fatalf("message %d carries %d: lost or reordered", i, v)
		}
	}
	if s := c.Stats(); s.Packets != total || s.Messages != total || s.DroppedTotal() != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestUDPFlood mixes every kind of bad packet with valid ones: all valid
// ones must be handled, each bad one counted under its reason, the loop
// must survive, and the log must be rate-limited to one line a second.
func TestUDPFlood(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	c, logs := start(t, Config{NoTCP: true}, rec)
	conn := dial(t, c, "")
	longAddr := "/" + strings.Repeat("x", 200)
	bad := []struct {
		pkt    []byte
		reason Reason
	}{
		{[]byte{}, ReasonEmpty},
		{[]byte(",m\x00\x00"), ReasonNotOSC},
		{raw("/synth/m", ",m"), ReasonTruncated},
		{raw("/a", ",i", []byte{0, 0}), ReasonTruncated},
		{raw("/synth/a[", ",f", be32(0)), ReasonBadPattern},
		{[]byte("garbage\xff\x00\x01"), ReasonNotOSC},
		{raw(longAddr, ",f", be32(0)), ReasonOversized},
		{raw("/nine", ",iiiiiiiii", make([]byte, 36)), ReasonOversized},
		{raw("/z", ",z", be32(0)), ReasonBadTypeTag},
		{bundle(1, enc(t, "/ok"), []byte("/x\x00")), ReasonBadBundle},
	}
	const rounds = 40
	want := [NumReasons]uint64{}
	began := time.Now()
	for r := 0; r < rounds; r++ {
		for _, b := range bad {
			send(t, conn, b.pkt)
			want[b.reason]++
		}
		send(t, conn, enc(t, "/synth/ok", int32(r)))
		send(t, conn, raw("/synth/m", ",m", []byte{0x90, 0x40, 0x3c, 0x00})) // valid for us
		for k := 0; k < 2; k++ {
			ev := rec.next(t)
			switch ev.Address() {
			case "/synth/ok":
				if ev.Args[0].I != int64(r) {
					t.Fatalf("round %d: got /synth/ok %d", r, ev.Args[0].I)
				}
			case "/synth/m":
				if ev.Args[0] != (controllers.Arg{Type: 'm', I: 0x90403c00, F: 0x90403c00}) {
					t.Fatalf("round %d: /synth/m %+v", r, ev.Args[0])
				}
			default:
				t.Fatalf("round %d: unexpected %s", r, ev.Address())
			}
		}
	}
	s := c.Stats()
	if s.Dropped != want {
		t.Errorf("dropped %v, want %v", s.Dropped, want)
	}
	drops := uint64(rounds * len(bad))
	if s.Handled != 2*rounds || s.Packets != drops+2*rounds || s.DroppedTotal() != drops {
		t.Errorf("stats %+v", s)
	}
	cl := c.Clients()
	if len(cl) != 1 || cl[0].Dropped != drops || cl[0].Packets != s.Packets {
		t.Errorf("clients %+v", cl)
	}

	// Logging: at most one line a second for this client; every drop is
	// either logged or counted as suppressed.
	c.Close()
	lines := logs.lines("Dropped")
	if len(lines) == 0 || !strings.Contains(lines[0], `"reason":"empty"`) ||
		!strings.Contains(lines[0], `"client":"`+conn.LocalAddr().String()+`"`) {
		t.Fatalf("first drop line: %q", lines)
	}
	if uint64(len(lines))+c.Stats().LogsSuppressed != drops {
		t.Errorf("%d lines + %d suppressed != %d drops", len(lines), c.Stats().LogsSuppressed, drops)
	}
	if elapsed := time.Since(began); len(lines) > 1+int(elapsed/time.Second) {
		t.Errorf("%d drop lines in %v", len(lines), elapsed)
	}
}

func TestLimiter(t *testing.T) {
	var l limiter
	base := time.Now().UnixNano()
	steps := []struct {
		at         time.Duration
		ok         bool
		suppressed uint64
	}{
		{0, true, 0}, {10 * time.Millisecond, false, 0}, {999 * time.Millisecond, false, 0},
		{time.Second, true, 2}, {1500 * time.Millisecond, false, 0}, {3 * time.Second, true, 1},
	}
	for _, s := range steps {
		n, ok := l.allow(base + int64(s.at))
		if ok != s.ok || n != s.suppressed {
			t.Errorf("at %v: allow = %d, %v; want %d, %v", s.at, n, ok, s.suppressed, s.ok)
		}
	}
}

func TestUDPBundles(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	c, _ := start(t, Config{NoTCP: true}, rec)
	conn := dial(t, c, "")
	now := time.Now()
	future := now.Add(time.Hour).Truncate(time.Millisecond)
	later := future.Add(250 * time.Millisecond)
	past := now.Add(-time.Hour).Truncate(time.Millisecond)

	send(t, conn, bundle(NTPFromTime(future),
		enc(t, "/n/1"),
		bundle(1, enc(t, "/n/2")),
		bundle(NTPFromTime(later), enc(t, "/n/3"), bundle(NTPFromTime(later.Add(time.Second)), enc(t, "/n/4"))),
		enc(t, "/n/5")))
	send(t, conn, bundle(NTPFromTime(past), enc(t, "/late/1"), enc(t, "/late/2")))
	send(t, conn, bundle(1, enc(t, "/now")))
	send(t, conn, bundle(1, bundle(NTPFromTime(past), enc(t, "/late/3"))))
	want := []struct {
		addr string
		due  time.Time
		late bool
	}{
		{"/n/1", future, false}, {"/n/2", future, false}, {"/n/3", later, false},
		{"/n/4", later.Add(time.Second), false}, {"/n/5", future, false},
		{"/late/1", past, true}, {"/late/2", past, true}, {"/now", time.Time{}, false},
		{"/late/3", past, true},
	}
	for i, w := range want {
		ev := rec.next(t)
		if ev.Address() != w.addr || !ev.Due.Equal(w.due) || Late(&ev) != w.late {
			t.Errorf("message %d: %s due %v late %v; want %s due %v late %v",
				i, ev.Address(), ev.Due, Late(&ev), w.addr, w.due, w.late)
		}
	}
	if s := c.Stats(); s.Bundles != 4 || s.LateBundles != 2 || s.Messages != uint64(len(want)) {
		t.Errorf("stats %+v", s)
	}
}

func TestAllowList(t *testing.T) {
	t.Parallel()
	allow, err := ParseAllow("127.0.0.2/32, 10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	c, logs := start(t, Config{Addr: "0.0.0.0:0", Allow: allow}, rec)
	udp := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), c.UDPAddr().Port())
	denied, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(udp))
	if err != nil {
		t.Fatal(err)
	}
	defer denied.Close()
	allowed, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)}, net.UDPAddrFromAddrPort(udp))
	if err != nil {
		t.Fatal(err)
	}
	defer allowed.Close()
	for i := 0; i < 3; i++ {
		send(t, denied, enc(t, "/denied", int32(i)))
	}
	send(t, allowed, enc(t, "/allowed"))
	if ev := rec.next(t); ev.Address() != "/allowed" {
		t.Fatalf("got %s", ev.Address())
	}
	tcp, err := net.Dial("tcp", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), c.TCPAddr().Port()).String())
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	tcp.SetReadDeadline(time.Now().Add(waitLimit))
	if _, err := tcp.Read(make([]byte, 1)); err == nil {
		t.Error("a denied TCP connection stayed open")
	}
	s := c.Stats()
	if s.Dropped[ReasonDenied] != 4 || s.Handled != 1 {
		t.Errorf("stats %+v", s)
	}
	if len(c.Clients()) != 1 {
		t.Errorf("denied senders entered the client table: %+v", c.Clients())
	}
	c.Close()
	if l := logs.lines("allow-list"); len(l) != 1 || !strings.Contains(l[0], `"client":"127.0.0.1:`) {
		t.Errorf("denied log lines: %q", l)
	}
}

func TestParseAllow(t *testing.T) {
	p, err := ParseAllow(" 10.1.2.3/8, 192.168.1.5 ,::1,::ffff:10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.168.1.5/32", "::1/128", "10.0.0.1/32"}
	if len(p) != len(want) {
		t.Fatalf("got %v", p)
	}
	for i := range want {
		if p[i].String() != want[i] {
			t.Errorf("prefix %d = %v, want %s", i, p[i], want[i])
		}
	}
	if p, err := ParseAllow(""); err != nil || len(p) != 0 {
		t.Errorf("empty: %v %v", p, err)
	}
	for _, s := range []string{"bogus", "10.0.0.0/33", "1.2.3"} {
		if _, err := ParseAllow(s); err == nil {
			t.Errorf("ParseAllow(%q) accepted", s)
		}
	}
}

func TestPingPong(t *testing.T) {
	t.Parallel()
	replies := listen(t)
	h := newRecorder()
	c, _ := start(t, Config{NoTCP: true, ReplyPort: int(addrPort(replies).Port())}, h)
	conn := dial(t, c, "")
	send(t, conn, enc(t, "/ping", int32(7), "hi", float32(0.5)))
	ev := receive(t, replies)
	if ev.Address() != "/pong" || ev.NArgs != 3 || ev.Args[0].I != 7 || ev.String() != "hi" || ev.Args[2].F != 0.5 {
		t.Fatalf("reply %s %+v %q", ev.Address(), ev.Args[:ev.NArgs], ev.String())
	}
	send(t, conn, enc(t, "/after"))
	if got := h.next(t); got.Address() != "/after" {
		t.Fatalf("handler got %s; /ping must not reach it", got.Address())
	}
	if s := c.Stats(); s.Pings != 1 || s.Handled != 1 {
		t.Errorf("stats %+v", s)
	}

	// With ReplyToSource the pong goes back to the sending socket.
	c2, _ := start(t, Config{NoTCP: true, ReplyToSource: true}, h)
	conn2 := dial(t, c2, "")
	send(t, conn2, enc(t, "/ping"))
	if ev := receive(t, conn2); ev.Address() != "/pong" || ev.NArgs != 0 {
		t.Fatalf("reply %s", ev.Address())
	}
}

// TestSender checks feedback fan-out, SendExcept and Reply: each client
// listens on the socket it sends from (ReplyToSource).
func TestSender(t *testing.T) {
	t.Parallel()
	fixed := listen(t)
	rec := newRecorder()
	c, _ := start(t, Config{NoTCP: true, ReplyToSource: true, Feedback: []netip.AddrPort{addrPort(fixed)}}, rec)
	a, b := dial(t, c, "127.0.0.1:0"), dial(t, c, "127.0.0.1:0")
	send(t, a, enc(t, "/from/a"))
	evA := rec.next(t)
	send(t, b, enc(t, "/from/b"))
	evB := rec.next(t)
	if evA.Source == evB.Source || evA.Source == 0 || evB.Source == 0 {
		t.Fatalf("sources %d and %d", evA.Source, evB.Source)
	}
	s := c.Sender()
	if err := s.SendExcept(evA.Source, NewMessage("/fb", int32(1))); err != nil {
		t.Fatal(err)
	}
	if err := s.Reply(evB.Source, NewMessage("/only/b")); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(NewMessage("/fb", int32(2))); err != nil {
		t.Fatal(err)
	}
	// a must see /fb 2 first: the echo of its own value was suppressed.
	if ev := receive(t, a); ev.Address() != "/fb" || ev.Args[0].I != 2 {
		t.Errorf("a got %s %d first, want /fb 2", ev.Address(), ev.Args[0].I)
	}
	for _, want := range []string{"/fb 1", "/only/b", "/fb 2"} {
		ev := receive(t, b)
		if got := strings.TrimSpace(ev.Address() + " " + argString(&ev)); got != want {
			t.Errorf("b got %q, want %q", got, want)
		}
	}
	for _, want := range []string{"/fb 1", "/fb 2"} {
		ev := receive(t, fixed)
		if got := ev.Address() + " " + argString(&ev); got != want {
			t.Errorf("feedback host got %q, want %q", got, want)
		}
	}
	if st := c.Stats(); st.FeedbackSent != 2+1+3 || st.FeedbackDropped != 0 {
		t.Errorf("feedback sent %d dropped %d", st.FeedbackSent, st.FeedbackDropped)
	}
	if err := s.Reply(999, NewMessage("/x")); err == nil {
		t.Error("Reply to an unknown source succeeded")
	}
	if err := s.Send(NewMessage("/bad", 1)); err == nil {
		t.Error("a Go int argument was encoded")
	}
}

func argString(ev *controllers.Event) string {
	if ev.NArgs == 0 {
		return ""
	}
	return strconv.FormatInt(ev.Args[0].I, 10)
}

// TestSenderOscdump checks what Sender sends with liblo's oscdump as the
// outside decoder.
func TestSenderOscdump(t *testing.T) {
	needTool(t, oscdumpPath)
	t.Parallel()
	probe := listen(t)
	port := addrPort(probe).Port()
	probe.Close() // free the port for oscdump
	cmd := exec.Command(oscdumpPath, "-L", strconv.Itoa(int(port)))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	s, err := NewSender()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dst := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
	msg := NewMessage("/fb/test", int32(1), float32(2.5), "hello", 3.25, true, int64(9))
	deadline := time.After(waitLimit)
	for {
		// Repeat until oscdump is up: UDP sent before it binds is lost.
		if err := s.SendTo(dst, msg); err != nil {
			t.Fatal(err)
		}
		select {
		case l := <-lines:
			_, rest, _ := strings.Cut(l, " ") // drop oscdump's timetag column
			if want := `/fb/test ifsdTh 1 2.500000 "hello" 3.250000 #T 9`; rest != want {
				t.Fatalf("oscdump printed %q, want %q", rest, want)
			}
			return
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatal("oscdump printed nothing")
		}
	}
}

func TestConfig(t *testing.T) {
	h := HandlerFunc(func(*controllers.Event) {})
	if _, err := New(Config{}, nil); err == nil {
		t.Error("nil handler accepted")
	}
	for _, cfg := range []Config{{Addr: "nonsense"}, {ReplyPort: 70000}, {Feedback: []netip.AddrPort{{}}}} {
		if _, err := New(cfg, h); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	c, err := New(Config{}, h)
	if err != nil {
		t.Fatal(err)
	}
	if c.cfg.Addr != ":8000" || c.cfg.ReplyPort != 9000 || c.cfg.QueueLen != DefaultQueueLen {
		t.Errorf("defaults %+v", c.cfg)
	}
	// Both transports share the chosen port when it is free on both.
	c2, _ := start(t, Config{}, h)
	if c2.UDPAddr().Port() == 0 || c2.TCPAddr().Port() == 0 {
		t.Errorf("ports %v %v", c2.UDPAddr(), c2.TCPAddr())
	}
	if c2.Start() == nil {
		t.Error("second Start succeeded")
	}
	if st := c2.Stats(); st.RecvBuffer <= 0 {
		t.Errorf("RecvBuffer %d", st.RecvBuffer)
	}
	// Close stops everything and can be repeated; the socket is released.
	addr := c2.UDPAddr()
	c2.Close()
	c2.Close()
	again, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		t.Fatalf("port not released after Close: %v", err)
	}
	again.Close()
}

// TestHandlerPanic checks that a panicking handler costs only its message.
func TestHandlerPanic(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	c, logs := start(t, Config{NoTCP: true}, HandlerFunc(func(ev *controllers.Event) {
		if ev.Address() == "/boom" {
			panic("boom")
		}
		rec.HandleOSC(ev)
	}))
	conn := dial(t, c, "")
	send(t, conn, enc(t, "/boom"))
	send(t, conn, enc(t, "/fine"))
	if ev := rec.next(t); ev.Address() != "/fine" {
		t.Fatalf("got %s", ev.Address())
	}
	if s := c.Stats(); s.HandlerPanics != 1 {
		t.Errorf("panics %d", s.HandlerPanics)
	}
	c.Close()
	if l := logs.lines("panicked"); len(l) != 1 || !strings.Contains(l[0], `"address":"/boom"`) {
		t.Errorf("panic log %q", l)
	}
}

// TestInputPathAllocs checks that the reader side (decode, Source and time
// stamps, queueing) and the dispatcher side allocate nothing per message.
func TestInputPathAllocs(t *testing.T) {
	var n int
	c, err := New(Config{QueueLen: 16}, HandlerFunc(func(*controllers.Event) { n++ }))
	if err != nil {
		t.Fatal(err)
	}
	in := new(input)
	from := netip.MustParseAddrPort("127.0.0.1:5000")
	var cache udpCache
	msg := enc(t, "/1/fader1", float32(0.5))
	bnd := bundle(NTPFromTime(time.Now().Add(time.Second)), msg, msg, msg)
	bad := raw("/synth/a[", ",f", be32(0))
	ev := new(controllers.Event)
	allocs := testing.AllocsPerRun(500, func() {
		now := time.Now()
		id := cache.lookup(&c.clients, from, now.UnixNano())
		c.packet(in, msg, id, from, false, now)
		c.packet(in, bnd, id, from, false, now)
		c.packet(in, bad, id, from, false, now)
		for len(c.queue) > 0 {
			*ev = <-c.queue
			c.dispatch(ev)
		}
	})
	if allocs != 0 || n == 0 {
		t.Errorf("%v allocs per round (%d handled), want 0", allocs, n)
	}
}
