package midi

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"gitlab.com/gomidi/midi/v2/drivers"

	"github.com/chronus-audio/chronus/controllers"
)

// fakeDriver is a drivers.Driver whose port list the test changes, to play
// hotplug. Its inputs parse bytes with gomidi's own drivers.Reader, as
// rtmididrv does.
type fakeDriver struct {
	mu     sync.Mutex
	ins    []*fakeIn
	outs   []*fakeOut
	err    error // when set, Ins and Outs fail with it
	outErr error // when set, Outs fails with it
}

func (d *fakeDriver) String() string { return "fake" }
func (d *fakeDriver) Close() error   { return nil }

func (d *fakeDriver) Ins() ([]drivers.In, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return nil, d.err
	}
	ps := make([]drivers.In, len(d.ins))
	for i, p := range d.ins {
		ps[i] = p
	}
	return ps, nil
}

func (d *fakeDriver) Outs() ([]drivers.Out, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return nil, d.err
	}
	if d.outErr != nil {
		return nil, d.outErr
	}
	ps := make([]drivers.Out, len(d.outs))
	for i, p := range d.outs {
		ps[i] = p
	}
	return ps, nil
}

func (d *fakeDriver) setErr(err error) {
	d.mu.Lock()
	d.err = err
	d.mu.Unlock()
}

func (d *fakeDriver) plugIn(name string) *fakeIn {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := &fakeIn{name: name, num: len(d.ins)}
	d.ins = append(d.ins, p)
	return p
}

func (d *fakeDriver) plugOut(name string) *fakeOut {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := &fakeOut{name: name, num: len(d.outs)}
	d.outs = append(d.outs, p)
	return p
}

// unplug removes a port from the list. Like a real device, an unplugged input
// sends nothing more.
func (d *fakeDriver) unplug(port drivers.Port) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, p := range d.ins {
		if drivers.Port(p) == port {
			d.ins = append(d.ins[:i:i], d.ins[i+1:]...)
			p.mu.Lock()
			p.gone = true
			p.mu.Unlock()
		}
	}
	for i, p := range d.outs {
		if drivers.Port(p) == port {
			d.outs = append(d.outs[:i:i], d.outs[i+1:]...)
		}
	}
}

type fakeIn struct {
	name string
	num  int

	mu      sync.Mutex
	open    bool
	gone    bool
	rd      *drivers.Reader
	onMsg   func([]byte, int32) // what Listen was given, for benchmarks
	cfg     drivers.ListenConfig
	listens int
	stops   int
}

func (p *fakeIn) String() string  { return p.name }
func (p *fakeIn) Number() int     { return p.num }
func (p *fakeIn) Underlying() any { return nil }
func (p *fakeIn) IsOpen() bool    { p.mu.Lock(); defer p.mu.Unlock(); return p.open }
func (p *fakeIn) Open() error     { p.mu.Lock(); defer p.mu.Unlock(); p.open = true; return nil }
func (p *fakeIn) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.open, p.rd = false, nil
	return nil
}
func (p *fakeIn) listening() bool    { p.mu.Lock(); defer p.mu.Unlock(); return p.rd != nil }
func (p *fakeIn) counts() (int, int) { p.mu.Lock(); defer p.mu.Unlock(); return p.listens, p.stops }

func (p *fakeIn) Listen(onMsg func([]byte, int32), cfg drivers.ListenConfig) (func(), error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.open {
		return nil, drivers.ErrPortClosed
	}
	p.rd = drivers.NewReader(cfg, onMsg)
	p.onMsg, p.cfg = onMsg, cfg
	p.listens++
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.rd = nil
		p.stops++
	}, nil
}

// emit feeds raw bytes to the listener, as the driver's reading thread would.
// It reports false when nobody listens.
func (p *fakeIn) emit(b ...byte) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rd == nil || p.gone {
		return false
	}
	p.rd.EachMessage(b, 0)
	return true
}

// fakeOut records what it is sent. Send has no lock on purpose: -race then
// catches any unserialised call.
type fakeOut struct {
	name   string
	num    int
	open   bool
	sent   [][]byte
	n      int
	count  bool // count only, do not keep copies (allocation tests)
	fail   error
	panics bool
}

func (p *fakeOut) String() string  { return p.name }
func (p *fakeOut) Number() int     { return p.num }
func (p *fakeOut) Underlying() any { return nil }
func (p *fakeOut) IsOpen() bool    { return p.open }
func (p *fakeOut) Open() error     { p.open = true; return nil }
func (p *fakeOut) Close() error    { p.open = false; return nil }

func (p *fakeOut) Send(b []byte) error {
	if !p.open {
		return drivers.ErrPortClosed
	}
	if p.panics {
		var none []byte
		_ = none[len(b)] // a driver bug
	}
	if p.fail != nil {
		return p.fail
	}
	p.n++
	if !p.count {
		p.sent = append(p.sent, append([]byte(nil), b...))
	}
	return nil
}

// collector is a Handler that keeps every event and notices overlapping calls.
type collector struct {
	mu      sync.Mutex
	evs     []controllers.Event
	inside  atomic.Int32
	overlap atomic.Bool
	n       atomic.Int64
}

func (h *collector) HandleEvent(ev *controllers.Event) {
	if h.inside.Add(1) != 1 {
		h.overlap.Store(true)
	}
	h.mu.Lock()
	h.evs = append(h.evs, *ev)
	h.mu.Unlock()
	h.n.Add(1)
	h.inside.Add(-1)
}

// take returns and forgets the events so far.
func (h *collector) take() []controllers.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	evs := h.evs
	h.evs = nil
	return evs
}

// logBuf is a zerolog sink safe for the poller goroutine and the test.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type logLine struct {
	Level   string `json:"level"`
	Message string `json:"message"`
	Port    string `json:"port"`
}

func (l *logBuf) lines(t *testing.T) []logLine {
	t.Helper()
	var out []logLine
	for _, s := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		if s == "" {
			continue
		}
		var x logLine
		if err := json.Unmarshal([]byte(s), &x); err != nil {
			t.Fatalf("log line %q is not JSON: %v", s, err)
		}
		out = append(out, x)
	}
	return out
}

// count returns how many lines have this message (and port, if not "").
func (l *logBuf) count(t *testing.T, msg, port string) int {
	n := 0
	for _, x := range l.lines(t) {
		if x.Message == msg && (port == "" || x.Port == port) {
			n++
		}
	}
	return n
}

// start makes a Controller that only scans when the test says so (Poll is
// an hour) unless cfg sets Poll, and closes it at the end of the test.
func start(t *testing.T, drv drivers.Driver, cfg Config) (*Controller, *collector, *logBuf) {
	t.Helper()
	if cfg.Poll == 0 {
		cfg.Poll = time.Hour
	}
	h := &collector{}
	lb := &logBuf{}
	c, err := New(drv, cfg, h, zerolog.New(lb))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		c.Close()
		if h.overlap.Load() {
			t.Error("the handler ran concurrently with itself")
		}
	})
	return c, h, lb
}

// waitFor polls cond until it holds or 2 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func zeroLog() zerolog.Logger { return zerolog.Nop() }

var errGarbage = errors.New("can't open default MIDI in: \x88\xa3H\x7f\x01")
