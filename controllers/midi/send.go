package midi

import (
	"fmt"
	"time"
)

// Send writes one complete MIDI message (a gomidi midi.Message works as is)
// to output out, an index from Ports or Output. It may be called from any
// goroutine, the handler included: calls are serialised, because drivers are
// not thread-safe. Not from the audio thread: it locks and makes a system call.
//
// The message is remembered for loop suppression (see the package doc). A
// driver error gives ErrSend and a driver panic ErrDriverPanic, never the
// driver's own text.
//
// With a driver that loops Send back into an input synchronously (testdrv),
// a handler that sends while the queue is full would wait for itself; real
// drivers deliver input on their own threads.
func (c *Controller) Send(out int, msg []byte) error {
	if len(msg) == 0 {
		return ErrEmpty
	}
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if out < 0 || out >= c.nOut {
		return ErrNoOutput
	}
	p := &c.outs[out]
	if p.port == nil {
		return ErrNotConnected
	}
	// Recorded before sending: a loopback driver echoes inside the call.
	c.echo.record(p.key, msg, time.Since(c.epoch))
	if err := c.send(p, msg); err != nil {
		c.stats.sendErrors.Add(1)
		return err
	}
	c.stats.sent.Add(1)
	return nil
}

// send calls the driver. A panic inside it (testdrv: gomidi's reader
// overflowing on a SysEx longer than SysExMax) is recovered here, on our
// goroutine, and the message is dropped.
func (c *Controller) send(p *outPort, msg []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			c.stats.driverPanics.Add(1)
			// A Go runtime error, so its text is safe to show, unlike the
			// driver's error strings.
			c.log.Warn().Str("port", p.name).Int("bytes", len(msg)).Str("panic", fmt.Sprint(r)).
				Msg("The MIDI driver panicked while sending; the message was dropped.")
			err = ErrDriverPanic
		}
	}()
	if p.port.Send(msg) != nil {
		return ErrSend
	}
	return nil
}
