package osc

import (
	"bytes"
	"net/netip"
	"time"
)

// logKind says what a logRec reports.
type logKind uint8

const (
	logDrop logKind = iota
	logPanic
	logReadErr
	logAcceptErr
	logRefused
	logConnected
	logDisconnected
	logPongErr
)

// logRec is one line for the logger goroutine. Readers fill it without
// allocating and never wait for the log writer: a full queue drops the
// record and counts it in Stats.LogsSuppressed.
type logRec struct {
	kind       logKind
	reason     Reason
	tcp        bool
	source     uint16
	from       netip.AddrPort
	offset     int
	size       int
	suppressed uint64
	pattern    [64]byte
	patternLen uint8
	err        error
	why        string
	addr       string
}

var dropSentences = [NumReasons]string{
	ReasonEmpty:      "Dropped an empty OSC packet.",
	ReasonTruncated:  "Dropped a truncated OSC packet.",
	ReasonBadTypeTag: "Dropped an OSC message with a bad or unsupported type tag.",
	ReasonBadPattern: "Dropped an OSC message whose address pattern is malformed.",
	ReasonOversized:  "Dropped an OSC packet that exceeds a size limit.",
	ReasonNotOSC:     "Dropped a packet that is not OSC.",
	ReasonBadBundle:  "Dropped an OSC bundle whose element sizes do not match their content.",
	ReasonBadFrame:   "Dropped a TCP frame with bad framing.",
	ReasonDenied:     "Ignored OSC input from an address outside the allow-list.",
}

// logf queues r for the logger goroutine without blocking.
func (c *Controller) logf(r logRec) {
	select {
	case c.logq <- r:
	default:
		c.stats.logsSuppressed.Add(1)
	}
}

// drop counts a dropped packet and logs it, at most once a second per
// client (per host for denied senders, which get no Source id). pkt and off
// locate the bad message, for showing a bad pattern. It allocates nothing.
func (c *Controller) drop(r Reason, id uint16, from netip.AddrPort, tcp bool, pkt []byte, off, size int, now time.Time) {
	c.stats.dropped[r].Add(1)
	var lim *limiter
	if id != 0 {
		s := &c.clients.slots[id]
		s.dropped.Add(1)
		lim = &s.log
	} else {
		lim = &c.denied[hostHash(from.Addr())%uint32(len(c.denied))]
	}
	n, ok := lim.allow(now.UnixNano())
	if !ok {
		c.stats.logsSuppressed.Add(1)
		return
	}
	rec := logRec{kind: logDrop, reason: r, tcp: tcp, source: id, from: from,
		offset: off, size: size, suppressed: n}
	if r == ReasonBadPattern && off < len(pkt) {
		a := pkt[off:]
		if i := bytes.IndexByte(a, 0); i >= 0 {
			a = a[:i]
		}
		rec.patternLen = uint8(copy(rec.pattern[:], a))
	}
	c.logf(rec)
}

// hostHash is FNV-1a of the address bytes.
func hostHash(a netip.Addr) uint32 {
	b := a.As16()
	h := uint32(2166136261)
	for _, x := range b {
		h = (h ^ uint32(x)) * 16777619
	}
	return h
}

// logLoop writes queued records until every other goroutine has stopped,
// then the ones left.
func (c *Controller) logLoop() {
	defer c.logWG.Done()
	for {
		select {
		case r := <-c.logq:
			c.write(&r)
		case <-c.logStop:
			for {
				select {
				case r := <-c.logq:
					c.write(&r)
				default:
					return
				}
			}
		}
	}
}

func transport(tcp bool) string {
	if tcp {
		return "tcp"
	}
	return "udp"
}

func (c *Controller) write(r *logRec) {
	switch r.kind {
	case logDrop:
		e := c.log.Warn()
		if r.reason == ReasonDenied {
			e = c.log.Info()
		}
		e = e.Str("reason", r.reason.String()).Str("client", r.from.String()).Str("transport", transport(r.tcp))
		if r.source != 0 {
			e = e.Uint16("source", r.source)
		}
		if r.size > 0 {
			e = e.Int("size", r.size).Int("offset", r.offset)
		}
		if r.patternLen > 0 {
			e = e.Bytes("address", r.pattern[:r.patternLen])
		}
		e.Uint64("suppressed", r.suppressed).Msg(dropSentences[r.reason])
	case logPanic:
		c.log.Error().Str("address", r.addr).Uint16("source", r.source).Str("panic", r.why).
			Msg("The OSC handler panicked on a message; the message was skipped.")
	case logReadErr:
		c.log.Error().Err(r.err).Msg("Reading the OSC UDP socket failed; retrying.")
	case logAcceptErr:
		c.log.Error().Err(r.err).Msg("Accepting an OSC TCP connection failed; retrying.")
	case logRefused:
		c.log.Warn().Str("client", r.from.String()).Int("limit", c.cfg.MaxTCPConns).
			Msg("Refused an OSC TCP connection because too many are open.")
	case logConnected:
		c.log.Info().Str("client", r.from.String()).Uint16("source", r.source).
			Msg("An OSC TCP client connected.")
	case logDisconnected:
		if r.why != "" {
			c.log.Warn().Str("client", r.from.String()).Uint16("source", r.source).Str("because", r.why).
				Msg("Closed an OSC TCP connection.")
		} else {
			c.log.Info().Str("client", r.from.String()).Uint16("source", r.source).
				Msg("An OSC TCP client disconnected.")
		}
	case logPongErr:
		c.log.Warn().Uint16("source", r.source).Err(r.err).Msg("Could not answer an OSC /ping.")
	}
}
