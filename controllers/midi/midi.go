// Package midi reads MIDI input ports into controllers.Event values and sends
// feedback (LEDs, motor faders, external synths) to MIDI output ports. It works
// through whatever gomidi driver it is given: cmd passes rtmididrv, tests pass
// testdrv or a fake. This package never imports a driver, so drivers.Get is
// never ambiguous.
//
// # Threads
//
// A driver calls back on its own threads (rtmididrv: one RtMidi C thread per
// port). That callback only decodes the message into an Event, stamps it with
// time.Now and puts it on one queue. A single goroutine of the Controller takes
// events off the queue and calls the Handler. So the handler never runs
// concurrently with itself, sees each port's messages in arrival order, and may
// call Send. If the handler falls Config.Queue events behind, the driver's
// thread waits for room: MIDI is back-pressured, never dropped, because a lost
// note-off is a stuck note. Nothing from the driver callback to the handler
// allocates; gomidi's reader allocates the message slice it hands us.
//
// # Hotplug
//
// The driver's port list is read every Config.Poll. A selected input that
// disappears is closed, and every note it still held gets a NoteOff event (and a
// sustain pedal it held down gets CC 64 = 0), delivered after everything that
// port sent before, so nothing sticks. When a port of the same name is listed
// again it is re-opened and keeps its Source index; "same name" ignores the
// " 20:0" ALSA address at the end of rtmididrv's names, which can change on
// replug. Outputs are re-opened the same way. Each change is one log line
// with the port name.
//
// # No MIDI at all
//
// When the driver cannot list ports (rtmididrv without /dev/snd/seq) or is nil,
// the Controller logs one warning, runs with no ports, and keeps polling every
// Config.Retry, so a sequencer that appears later is picked up. The driver's
// error text is never shown: rtmididrv's is read from freed memory.
//
// # SysEx and its bound
//
// SysEx is off by default. The driver is then told to ignore it (RtMidi drops
// it; gomidi's reader never buffers it), so a SysEx of any length is harmless.
// With Config.SysEx on, a SysEx of at most Config.SysExMax bytes counting F0
// and F7 (default and maximum 65535, the largest Event.RawLen) is delivered; a
// longer one is dropped. Where it is dropped depends on the driver:
//
//   - a driver whose In hands the listener whole messages (cmd wraps
//     rtmididrv so: RtMidi joins ALSA's 256-byte chunks into one message, and
//     gomidi's reader is bypassed) delivers it to the callback, which drops it
//     and counts it in Stats.Oversized;
//   - through gomidi's reader (testdrv, and any driver's own Listen) the
//     reader collects each SysEx in a buffer of SysExMax bytes, allocated
//     afresh at every F0, and gomidi v2.3.22's reader (drivers/reader.go)
//     indexes past it and panics before any code of ours runs. With testdrv
//     that happens inside the sender's Send call: if that is our Send, it
//     recovers, the message is dropped, Send returns ErrDriverPanic and
//     Stats.DriverPanics counts it. Plain rtmididrv would panic on RtMidi's C
//     thread, where nothing can recover, which is why cmd does not use its
//     Listen with SysEx on.
//
// An Event keeps the first controllers.MaxRaw bytes in RawMsg and the full
// length in RawLen.
//
// # Loop suppression
//
// An output and an input belong to the same device when their names are equal
// after lower-casing and removing a trailing direction word ("in", "out",
// "input", "output" after a space, '-', '_' or ':'). rtmididrv gives both
// directions of an ALSA port the same name; testdrv's "x-in" and "x-out" are
// device "x". When an input delivers a message whose bytes equal a message Send
// wrote to an output of the same device at most Config.EchoWindow earlier, it is
// an echo: it is dropped and counted in Stats.Echoes. Each send cancels at most
// one echo, so a user who repeats the value by hand is heard the second time.
//
// # Realtime messages
//
// Clock, start, stop and continue pass through (the listener sets the
// equivalent of midi.UseTimeCode, without which rtmididrv drops the clock).
// Active sensing is filtered by the driver. MTC quarter frames, song position,
// song select, tune request and reset have no Event kind: they are counted in
// Stats.Ignored.
//
// Nothing in this package may be called from the audio thread.
package midi

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"gitlab.com/gomidi/midi/v2/drivers"

	"github.com/chronus-audio/chronus/controllers"
)

// Limits and defaults.
const (
	// MaxPorts is the number of inputs, and separately of outputs, a Controller
	// keeps in its tables. Event.Source indexes the input table.
	MaxPorts = 64
	// MaxSysEx is the largest Config.SysExMax: Event.RawLen is 16 bits.
	MaxSysEx = 65535

	DefaultPoll       = time.Second
	DefaultRetry      = 10 * time.Second
	DefaultEchoWindow = 50 * time.Millisecond
	DefaultQueue      = 1024
)

// Errors returned by Send and ListPorts. They never carry the driver's own
// error text, which rtmididrv fills from freed memory.
var (
	ErrClosed       = errors.New("midi: controller is closed")
	ErrNoOutput     = errors.New("midi: no such output")
	ErrNotConnected = errors.New("midi: output is not connected")
	ErrEmpty        = errors.New("midi: empty message")
	ErrSend         = errors.New("midi: the driver could not send the message")
	ErrDriverPanic  = errors.New("midi: the driver panicked; the message was dropped")
	ErrUnavailable  = errors.New("midi: the ALSA sequencer could not be opened")
)

// The warning logged when the driver lists no ports. Fixed text on purpose.
const msgNoMIDI = "No MIDI input is available: the ALSA sequencer could not be opened; OSC keeps working."

// Handler receives the Controller's events.
//
// Contract: HandleEvent is called from one goroutine at a time (the
// Controller's delivery goroutine, never a driver thread), never concurrently
// with itself, and sees each port's messages in the order the port delivered
// them. ev points into the Controller's own buffer and is valid only until
// HandleEvent returns; copy *ev to keep it. HandleEvent may call Send, Ports,
// PortName and Stats. It must not call Close, and it should return quickly:
// while it runs, further MIDI waits in the queue.
type Handler interface {
	HandleEvent(ev *controllers.Event)
}

// HandlerFunc adapts a plain function to Handler.
type HandlerFunc func(ev *controllers.Event)

// HandleEvent calls f(ev).
func (f HandlerFunc) HandleEvent(ev *controllers.Event) { f(ev) }

// Config chooses ports and tunes the Controller. The zero value opens every
// input, no output, and uses the defaults below.
type Config struct {
	// Inputs selects input ports by name: a port is opened when its name
	// contains one of these strings, ignoring case (--midi Keystation). Empty
	// opens every input.
	Inputs []string
	// Outputs selects output ports the same way. Empty opens none, so feedback
	// only goes where it was asked for.
	Outputs []string
	// Poll is how often the port list is read to notice devices that come and
	// go. 0 means DefaultPoll (1 s).
	Poll time.Duration
	// Retry is the poll interval while the driver cannot list ports at all. It
	// is longer than Poll because each failed attempt makes ALSA and RtMidi
	// print to stderr (rtmididrv: three lines). 0 means DefaultRetry (10 s).
	Retry time.Duration
	// SysEx lets system-exclusive messages through. See the package doc for
	// why it is off by default.
	SysEx bool
	// SysExMax is the longest SysEx, in bytes including F0 and F7, that can be
	// received with SysEx on. 0 means MaxSysEx (65535), which is also the limit.
	SysExMax int
	// EchoWindow is how long after a Send an identical message from the same
	// device counts as its echo. 0 means DefaultEchoWindow (50 ms); negative
	// turns loop suppression off.
	EchoWindow time.Duration
	// Queue is the number of events that may wait for the handler. 0 means
	// DefaultQueue (1024).
	Queue int
}

// Dir is a port's direction.
type Dir uint8

// Port directions.
const (
	In Dir = iota
	Out
)

// String returns "in" or "out".
func (d Dir) String() string {
	if d == Out {
		return "out"
	}
	return "in"
}

// PortInfo describes one port.
type PortInfo struct {
	// Index is Event.Source for an input and the out argument of Send for an
	// output. From ListPorts it is the position in the driver's list.
	Index int
	Name  string
	Dir   Dir
	// Open says whether the port is connected and open now (always false
	// from ListPorts).
	Open bool
}

// Stats are the Controller's counters since New.
type Stats struct {
	Messages     uint64 // input messages passed to the handler
	Dropped      uint64 // input messages not passed on: echoes, stragglers from a port already released
	Echoes       uint64 // of Dropped: echoes of our own sends
	Ignored      uint64 // input messages with no Event kind (MTC, song position, tune request, reset, malformed)
	Released     uint64 // NoteOff and sustain-off events made up for ports that went away
	Reopens      uint64 // ports re-opened after they came back
	Sent         uint64 // messages Send handed to the driver
	SendErrors   uint64 // Send calls the driver refused or panicked on
	DriverPanics uint64 // driver panics recovered on our goroutines (testdrv: an oversized SysEx looping back)
	Oversized    uint64 // SysEx messages longer than Config.SysExMax that reached the callback whole, dropped
}

type counters struct {
	messages, dropped, echoes, ignored, released, reopens,
	sent, sendErrors, driverPanics, oversized atomic.Uint64
}

// Controller owns the MIDI ports of one driver. Create it with New and stop it
// with Close. Its methods may be called from any goroutine except the audio
// thread.
type Controller struct {
	drv    drivers.Driver
	cfg    Config
	h      Handler
	log    zerolog.Logger
	inSel  []string // lower-cased
	outSel []string
	epoch  time.Time // monotonic origin for echo times
	listen drivers.ListenConfig

	queue    chan record
	done     chan struct{} // closed at the end of Close: late callbacks return at once
	stopPoll chan struct{}
	pollWG   sync.WaitGroup
	runWG    sync.WaitGroup
	closing  sync.Once

	// scanMu serialises scans and Close. All input-side driver calls happen
	// under it; it is never taken by anything the handler may call, because a
	// scan can wait for a driver thread that waits for the handler.
	scanMu sync.Mutex
	ins    [MaxPorts]inPort
	nIn    int
	// scanner-only log latches
	inDownLogged, noMatchLogged, inFullLogged, outFullLogged bool
	inDown, outDown                                          atomic.Bool

	// tableMu guards the name/open fields read by Ports and PortName.
	tableMu sync.RWMutex

	// outMu serialises every output-side driver call (drivers are not
	// thread-safe) and guards the output table.
	outMu  sync.Mutex
	outs   [MaxPorts]outPort
	nOut   int
	closed bool

	echo  echoRing
	stats counters

	// Delivery goroutine only.
	cur   record
	state [MaxPorts]srcState
}

// New starts a Controller on drv: it opens the selected ports at once, then
// polls for changes in the background. drv may be nil when the driver could not
// be created; the Controller then logs that MIDI is unavailable and runs with no
// ports. Events go to h; log receives one line per port change. New returns an
// error only for an invalid cfg or a nil h.
func New(drv drivers.Driver, cfg Config, h Handler, log zerolog.Logger) (*Controller, error) {
	if h == nil {
		return nil, errors.New("midi: nil handler")
	}
	if cfg.SysExMax < 0 || cfg.SysExMax > MaxSysEx {
		return nil, errors.New("midi: SysExMax must be between 0 and 65535 bytes")
	}
	if cfg.Queue < 0 || cfg.Poll < 0 || cfg.Retry < 0 {
		return nil, errors.New("midi: negative Queue, Poll or Retry")
	}
	if cfg.Poll == 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Retry == 0 {
		cfg.Retry = DefaultRetry
	}
	if cfg.Retry < cfg.Poll {
		cfg.Retry = cfg.Poll
	}
	if cfg.SysExMax == 0 {
		cfg.SysExMax = MaxSysEx
	}
	if cfg.EchoWindow == 0 {
		cfg.EchoWindow = DefaultEchoWindow
	}
	if cfg.Queue == 0 {
		cfg.Queue = DefaultQueue
	}
	c := &Controller{
		drv:      drv,
		cfg:      cfg,
		h:        h,
		log:      log,
		inSel:    lowerAll(cfg.Inputs),
		outSel:   lowerAll(cfg.Outputs),
		epoch:    time.Now(),
		queue:    make(chan record, cfg.Queue),
		done:     make(chan struct{}),
		stopPoll: make(chan struct{}),
	}
	c.echo.window = int64(cfg.EchoWindow)
	c.listen = drivers.ListenConfig{TimeCode: true, SysEx: cfg.SysEx, SysExBufferSize: uint32(cfg.SysExMax)}
	if !cfg.SysEx {
		// gomidi's reader allocates this buffer at every F0 even when it
		// ignores SysEx; one byte is all it then writes.
		c.listen.SysExBufferSize = 1
	}
	c.runWG.Add(1)
	go c.run()
	if drv == nil {
		c.inDown.Store(true)
		c.log.Warn().Msg(msgNoMIDI)
		return c, nil
	}
	c.scan()
	c.pollWG.Add(1)
	go c.poll()
	return c, nil
}

// Close stops polling, closes every port (releasing the notes inputs held, as
// an unplug would), waits until the handler has seen every event, and returns.
// It does not close the driver, which belongs to the caller. Close must not be
// called from the handler. Calling it again does nothing.
func (c *Controller) Close() error {
	c.closing.Do(func() {
		close(c.stopPoll)
		c.pollWG.Wait()
		c.scanMu.Lock()
		for i := 0; i < c.nIn; i++ {
			if c.ins[i].port != nil {
				c.unplugIn(i, false)
			}
		}
		c.scanMu.Unlock()
		c.outMu.Lock()
		for i := 0; i < c.nOut; i++ {
			if c.outs[i].port != nil {
				c.closeOut(i)
			}
		}
		c.closed = true
		c.outMu.Unlock()
		c.queue <- record{op: opStop}
		c.runWG.Wait()
		close(c.done)
	})
	return nil
}

// Stats returns the counters. Any goroutine.
func (c *Controller) Stats() Stats {
	s := &c.stats
	return Stats{
		Messages:     s.messages.Load(),
		Dropped:      s.dropped.Load(),
		Echoes:       s.echoes.Load(),
		Ignored:      s.ignored.Load(),
		Released:     s.released.Load(),
		Reopens:      s.reopens.Load(),
		Sent:         s.sent.Load(),
		SendErrors:   s.sendErrors.Load(),
		DriverPanics: s.driverPanics.Load(),
		Oversized:    s.oversized.Load(),
	}
}

// Ports lists the Controller's tables: every input and output it has opened
// since New, connected or not, inputs first. Any goroutine, the handler too.
func (c *Controller) Ports() []PortInfo {
	c.tableMu.RLock()
	defer c.tableMu.RUnlock()
	ps := make([]PortInfo, 0, c.nIn+c.nOut)
	for i := 0; i < c.nIn; i++ {
		ps = append(ps, PortInfo{Index: i, Name: c.ins[i].name, Dir: In, Open: c.ins[i].open})
	}
	for i := 0; i < c.nOut; i++ {
		ps = append(ps, PortInfo{Index: i, Name: c.outs[i].name, Dir: Out, Open: c.outs[i].open})
	}
	return ps
}

// PortName returns the name of input src (an Event.Source), or "" if there is
// none. Any goroutine, the handler too.
func (c *Controller) PortName(src uint16) string {
	c.tableMu.RLock()
	defer c.tableMu.RUnlock()
	if int(src) >= c.nIn {
		return ""
	}
	return c.ins[src].name
}

// Output returns the index for Send of the first output in the table whose
// name contains sub, ignoring case. Any goroutine.
func (c *Controller) Output(sub string) (int, bool) {
	sub = strings.ToLower(sub)
	c.tableMu.RLock()
	defer c.tableMu.RUnlock()
	for i := 0; i < c.nOut; i++ {
		if strings.Contains(strings.ToLower(c.outs[i].name), sub) {
			return i, true
		}
	}
	return 0, false
}

// ListPorts returns every port drv lists, inputs first, without opening any
// (for `chronus devices`). It returns ErrUnavailable, never the driver's own
// error text, when drv is nil or cannot list its ports.
func ListPorts(drv drivers.Driver) ([]PortInfo, error) {
	if drv == nil {
		return nil, ErrUnavailable
	}
	var ps []PortInfo
	ins, err := driverIns(drv)
	if err != nil {
		return nil, ErrUnavailable
	}
	for i, p := range ins {
		ps = append(ps, PortInfo{Index: i, Name: portName(p), Dir: In})
	}
	outs, err := driverOuts(drv)
	if err != nil {
		return nil, ErrUnavailable
	}
	for i, p := range outs {
		ps = append(ps, PortInfo{Index: i, Name: portName(p), Dir: Out})
	}
	return ps, nil
}

func lowerAll(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s = strings.ToLower(strings.TrimSpace(s)); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// selected reports whether name matches one of sel; an empty sel matches all.
func selected(sel []string, name string, all bool) bool {
	if len(sel) == 0 {
		return all
	}
	n := strings.ToLower(name)
	for _, s := range sel {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// deviceKey names the device a port belongs to, for loop suppression.
func deviceKey(name string) string {
	k := strings.ToLower(strings.TrimSpace(name))
	for _, suf := range [...]string{"input", "output", "in", "out"} {
		if !strings.HasSuffix(k, suf) {
			continue
		}
		base := k[:len(k)-len(suf)]
		if base == "" || !strings.ContainsRune(" -_:", rune(base[len(base)-1])) {
			continue
		}
		if base = strings.TrimRight(base, " -_:"); base != "" {
			return base
		}
	}
	return k
}
