package osc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chronus-audio/chronus/controllers"
	"github.com/rs/zerolog"
)

// Defaults of Config's zero fields.
const (
	DefaultPort         = 8000
	DefaultQueueLen     = 1024
	DefaultMaxTCPConns  = 64
	DefaultReadBuffer   = 4 << 20
	DefaultFrameTimeout = 5 * time.Second
	DefaultWriteTimeout = time.Second
)

// Config configures a Controller. The zero value listens on UDP and TCP
// port 8000 on every interface, accepts every sender and replies on port
// 9000.
type Config struct {
	// Addr is the "host:port" both the UDP socket and the TCP listener bind;
	// "" means ":8000". Port 0 picks a free port (the TCP listener tries the
	// UDP port first); UDPAddr and TCPAddr tell which after Start.
	Addr string
	// NoTCP turns the TCP listener off.
	NoTCP bool
	// ReplyPort is the port on a UDP client's host that replies and
	// feedback go to; 0 means DefaultReplyPort (9000).
	ReplyPort int
	// ReplyToSource sends replies and feedback to the port a UDP client
	// sends from instead of ReplyPort, for clients that listen on the
	// socket they send from.
	ReplyToSource bool
	// Feedback lists hosts that always receive the Sender's Send and
	// SendExcept, whether or not they have sent anything.
	Feedback []netip.AddrPort
	// Allow, if not empty, is the only networks packets and connections
	// are accepted from (--osc-allow; see ParseAllow).
	Allow []netip.Prefix
	// QueueLen is how many events may wait between the readers and the
	// dispatcher; 0 means DefaultQueueLen. When it is full the readers wait,
	// so packets queue in the kernel instead of being reordered or lost here.
	QueueLen int
	// MaxTCPConns bounds open TCP connections; 0 means DefaultMaxTCPConns.
	MaxTCPConns int
	// ReadBuffer is the UDP receive buffer asked of the kernel; 0 means
	// DefaultReadBuffer. Linux caps it at net.core.rmem_max unless the
	// process may raise it (CAP_NET_ADMIN); Stats.RecvBuffer shows the result.
	ReadBuffer int
	// FrameTimeout is how long a TCP client may take to finish a frame it
	// started; 0 means DefaultFrameTimeout. Idle connections are kept.
	FrameTimeout time.Duration
	// WriteTimeout bounds one TCP write of feedback; 0 means
	// DefaultWriteTimeout. A client that does not read is disconnected.
	WriteTimeout time.Duration
	// Logger receives the controller's log lines; the zero Logger discards
	// them.
	Logger zerolog.Logger
}

// ParseAllow parses a comma-separated list of CIDR prefixes and bare IP
// addresses (a host prefix), as given to --osc-allow. An empty string gives
// an empty list, which allows everyone.
func ParseAllow(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, fmt.Errorf("osc: bad allow-list entry %q: %w", f, err)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("osc: bad allow-list entry %q: %w", f, err)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

var errNilHandler = errors.New("osc: nil handler")

// input is one reader goroutine's decoding state, allocated once.
type input struct {
	dec Decoder
	ev  controllers.Event
}

// Controller receives OSC over UDP and TCP and hands every message, in
// arrival order, to one Handler on its dispatcher goroutine. It answers
// "/ping" with "/pong" itself (echoing the ping's numbers and first string)
// and does not pass /ping on.
//
// Goroutines: one UDP reader, one TCP acceptor, two per TCP client (reader,
// writer), one dispatcher (the only one that calls the Handler) and one
// logger. Readers block when the dispatcher's queue is full rather than drop
// or reorder.
type Controller struct {
	cfg     Config
	h       Handler
	log     zerolog.Logger
	stats   counters
	clients clientTable
	sender  Sender

	udp     *net.UDPConn
	tcp     *net.TCPListener
	udpAddr netip.AddrPort
	tcpAddr netip.AddrPort

	queue   chan controllers.Event
	logq    chan logRec
	done    chan struct{} // closed by Close: readers and dispatcher stop
	logStop chan struct{} // closed after they stopped: the logger drains and stops
	wg      sync.WaitGroup
	logWG   sync.WaitGroup

	started   atomic.Bool
	closing   atomic.Bool
	closeOnce sync.Once

	connMu sync.Mutex
	conns  map[*tcpConn]struct{}

	denied  [64]limiter // per denied host (hashed)
	refused limiter     // TCP connections over the limit
	readErr limiter     // socket read errors
}

// New checks cfg and returns a Controller that will pass messages to h.
// Nothing is opened until Start.
func New(cfg Config, h Handler) (*Controller, error) {
	if h == nil {
		return nil, errNilHandler
	}
	if cfg.Addr == "" {
		cfg.Addr = fmt.Sprintf(":%d", DefaultPort)
	}
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return nil, fmt.Errorf("osc: listen address %q: %w", cfg.Addr, err)
	}
	if cfg.ReplyPort == 0 {
		cfg.ReplyPort = DefaultReplyPort
	}
	if cfg.ReplyPort < 1 || cfg.ReplyPort > 65535 {
		return nil, fmt.Errorf("osc: reply port %d is not in 1..65535", cfg.ReplyPort)
	}
	for _, f := range cfg.Feedback {
		if !f.IsValid() || f.Port() == 0 {
			return nil, fmt.Errorf("osc: feedback address %v needs a host and a port", f)
		}
	}
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = DefaultQueueLen
	}
	if cfg.MaxTCPConns <= 0 {
		cfg.MaxTCPConns = DefaultMaxTCPConns
	}
	if cfg.ReadBuffer <= 0 {
		cfg.ReadBuffer = DefaultReadBuffer
	}
	if cfg.FrameTimeout <= 0 {
		cfg.FrameTimeout = DefaultFrameTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	cfg.Allow = append([]netip.Prefix(nil), cfg.Allow...)
	cfg.Feedback = append([]netip.AddrPort(nil), cfg.Feedback...)
	c := &Controller{
		cfg:     cfg,
		h:       h,
		log:     cfg.Logger,
		queue:   make(chan controllers.Event, cfg.QueueLen),
		logq:    make(chan logRec, 64),
		done:    make(chan struct{}),
		logStop: make(chan struct{}),
		conns:   make(map[*tcpConn]struct{}),
	}
	c.sender = Sender{
		clients:   &c.clients,
		stats:     &c.stats,
		replyPort: uint16(cfg.ReplyPort),
		toSource:  cfg.ReplyToSource,
		targets:   cfg.Feedback,
	}
	return c, nil
}

// Start opens the UDP socket and the TCP listener and starts the
// goroutines. It returns once the sockets are bound, so UDPAddr and TCPAddr
// are valid after it. A Controller starts at most once.
func (c *Controller) Start() error {
	if !c.started.CompareAndSwap(false, true) {
		return errors.New("osc: controller started twice")
	}
	ua, err := net.ResolveUDPAddr("udp", c.cfg.Addr)
	if err != nil {
		return fmt.Errorf("osc: listen address %q: %w", c.cfg.Addr, err)
	}
	udp, err := net.ListenUDP("udp", ua)
	if err != nil {
		return fmt.Errorf("osc: listen on UDP %s: %w", c.cfg.Addr, err)
	}
	got := setReadBuffer(udp, c.cfg.ReadBuffer)
	c.stats.recvBuffer.Store(int64(got))
	c.udp = udp
	c.udpAddr = udp.LocalAddr().(*net.UDPAddr).AddrPort()
	if !c.cfg.NoTCP {
		ta := &net.TCPAddr{IP: ua.IP, Port: int(c.udpAddr.Port()), Zone: ua.Zone}
		ln, err := net.ListenTCP("tcp", ta)
		if err != nil && ua.Port == 0 {
			ta.Port = 0
			ln, err = net.ListenTCP("tcp", ta)
		}
		if err != nil {
			udp.Close()
			return fmt.Errorf("osc: listen on TCP %s: %w", ta, err)
		}
		c.tcp = ln
		c.tcpAddr = ln.Addr().(*net.TCPAddr).AddrPort()
	}
	c.sender.conn.Store(udp)

	c.logWG.Add(1)
	go c.logLoop()
	c.wg.Add(2)
	go c.dispatchLoop()
	go c.udpLoop()
	if c.tcp != nil {
		c.wg.Add(1)
		go c.acceptLoop()
	}

	ev := c.log.Info().Str("udp", c.udpAddr.String()).Int("recv_buffer", got)
	if c.tcp != nil {
		ev = ev.Str("tcp", c.tcpAddr.String())
	}
	ev.Msg("OSC input is listening.")
	if got > 0 && got < c.cfg.ReadBuffer {
		c.log.Warn().Int("asked", c.cfg.ReadBuffer).Int("got", got).
			Msg("The kernel gave the OSC socket a smaller receive buffer than asked; raise net.core.rmem_max if bursts get lost.")
	}
	return nil
}

// Close stops the readers, the dispatcher and every TCP connection, closes
// the sockets and waits for the goroutines to end (including a Handler call
// in progress). Events still queued are discarded. It is safe to call more
// than once.
func (c *Controller) Close() error {
	c.closeOnce.Do(func() {
		c.closing.Store(true)
		close(c.done)
		c.sender.conn.Store(nil)
		if c.udp != nil {
			c.udp.Close()
		}
		if c.tcp != nil {
			c.tcp.Close()
		}
		c.connMu.Lock()
		conns := c.conns
		c.conns = nil
		c.connMu.Unlock()
		for t := range conns {
			t.close("")
		}
		c.wg.Wait()
		c.stats.tcpOpen.Store(0)
		close(c.logStop)
		c.logWG.Wait()
	})
	return nil
}

// Run starts c, waits until ctx is done and closes c. It returns Start's
// error, or nil after a clean shutdown.
func (c *Controller) Run(ctx context.Context) error {
	if err := c.Start(); err != nil {
		return err
	}
	<-ctx.Done()
	return c.Close()
}

// UDPAddr returns the bound UDP address (valid after Start).
func (c *Controller) UDPAddr() netip.AddrPort { return c.udpAddr }

// TCPAddr returns the bound TCP address (valid after Start; invalid with
// NoTCP).
func (c *Controller) TCPAddr() netip.AddrPort { return c.tcpAddr }

// Sender returns the Controller's Sender, which sends from the listening
// UDP socket to the clients and configured feedback hosts.
func (c *Controller) Sender() *Sender { return &c.sender }

// Stats returns a snapshot of the counters. Any goroutine may call it.
func (c *Controller) Stats() Stats { return c.stats.snapshot() }

// Client returns the client with the given Source id, for replies and for
// `chronus monitor`. Any goroutine may call it.
func (c *Controller) Client(source uint16) (Client, bool) {
	if source == 0 || int(source) >= MaxClients {
		return Client{}, false
	}
	c.clients.mu.Lock()
	defer c.clients.mu.Unlock()
	if !c.clients.slots[source].used {
		return Client{}, false
	}
	return c.clients.client(source), true
}

// Clients lists the known clients in Source order. Any goroutine may call
// it.
func (c *Controller) Clients() []Client {
	c.clients.mu.Lock()
	defer c.clients.mu.Unlock()
	var out []Client
	for i := 1; i < MaxClients; i++ {
		if c.clients.slots[i].used {
			out = append(out, c.clients.client(uint16(i)))
		}
	}
	return out
}

func (c *Controller) isClosing() bool { return c.closing.Load() }

// allowed applies the allow-list to an (unmapped) address.
func (c *Controller) allowed(a netip.Addr) bool {
	if len(c.cfg.Allow) == 0 {
		return true
	}
	for _, p := range c.cfg.Allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// udpLoop reads datagrams into one reused buffer until the socket closes.
func (c *Controller) udpLoop() {
	defer c.wg.Done()
	buf := make([]byte, MaxPacket)
	in := new(input)
	var cache udpCache
	for {
		n, from, err := c.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if c.isClosing() || errors.Is(err, net.ErrClosed) {
				return
			}
			c.stats.readErrors.Add(1)
			if _, ok := c.readErr.allow(time.Now().UnixNano()); ok {
				c.logf(logRec{kind: logReadErr, err: err})
			}
			time.Sleep(time.Millisecond) // do not spin on a persistent error
			continue
		}
		now := time.Now()
		c.stats.packets.Add(1)
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		if !c.allowed(from.Addr()) {
			c.drop(ReasonDenied, 0, from, false, nil, 0, n, now)
			continue
		}
		id := cache.lookup(&c.clients, from, now.UnixNano())
		if id != 0 {
			s := &c.clients.slots[id]
			s.packets.Add(1)
			s.last.Store(now.UnixNano())
		}
		c.packet(in, buf[:n], id, from, false, now)
	}
}

// packet decodes one datagram or TCP frame and queues its messages. It
// allocates nothing.
func (c *Controller) packet(in *input, pkt []byte, id uint16, from netip.AddrPort, tcp bool, now time.Time) {
	if err := in.dec.Decode(pkt); err != nil {
		c.drop(ReasonOf(err), id, from, tcp, pkt, in.dec.ErrOffset(), len(pkt), now)
		return
	}
	late := false
	for in.dec.Next(&in.ev) {
		in.ev.Source = id
		in.ev.Arrived = now
		if !in.ev.Due.IsZero() && in.ev.Due.Before(now) {
			late = true
		}
		select {
		case c.queue <- in.ev:
			c.stats.messages.Add(1)
		case <-c.done:
			return
		}
	}
	if in.dec.Bundle() {
		c.stats.bundles.Add(1)
		if late {
			c.stats.late.Add(1)
		}
	}
}

// Late reports whether ev came in a bundle whose time had already passed
// when it arrived. The engine should play such an event at once.
func Late(ev *controllers.Event) bool {
	return !ev.Due.IsZero() && ev.Due.Before(ev.Arrived)
}

// dispatchLoop is the one goroutine that calls the Handler.
func (c *Controller) dispatchLoop() {
	defer c.wg.Done()
	ev := new(controllers.Event)
	for {
		select {
		case *ev = <-c.queue:
			c.dispatch(ev)
		case <-c.done:
			return
		}
	}
}

func (c *Controller) dispatch(ev *controllers.Event) {
	if string(ev.AddrBytes()) == "/ping" {
		c.pong(ev)
		return
	}
	defer c.recoverHandler(ev)
	c.stats.handled.Add(1)
	c.h.HandleOSC(ev)
}

// recoverHandler confines a Handler panic to its message.
func (c *Controller) recoverHandler(ev *controllers.Event) {
	if r := recover(); r != nil {
		c.stats.panics.Add(1)
		c.logf(logRec{kind: logPanic, source: ev.Source, why: fmt.Sprint(r), addr: ev.Address()})
	}
}

// pong answers a /ping with /pong, echoing its arguments.
func (c *Controller) pong(ev *controllers.Event) {
	c.stats.pings.Add(1)
	m := MessageFromArgs("/pong", ev.Args[:ev.NArgs], ev.Str[:])
	if err := c.sender.Reply(ev.Source, m); err != nil {
		c.logf(logRec{kind: logPongErr, source: ev.Source, err: err})
	}
}

// Forward returns a Handler that copies every event into out, blocking
// while out is full, for wiring a Controller to a channel of events.
func Forward(out chan<- controllers.Event) Handler {
	return HandlerFunc(func(ev *controllers.Event) { out <- *ev })
}
