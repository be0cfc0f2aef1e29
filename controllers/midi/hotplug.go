package midi

import (
	"strconv"
	"strings"
	"time"

	"gitlab.com/gomidi/midi/v2/drivers"
)

// inPort is one entry of the input table. Only the scanner (under scanMu)
// writes it; open is also read by Ports under tableMu.
type inPort struct {
	name       string // unique name: the driver's, plus " #2" for a second port of that name
	key        string // device key
	port       drivers.In
	stop       func()
	l          *listener
	gen        uint32
	open       bool
	ever       bool // opened at least once: the next open is a re-open
	failLogged bool
}

// outPort is one entry of the output table, guarded by outMu (open also by
// tableMu).
type outPort struct {
	name       string
	key        string
	port       drivers.Out
	open       bool
	ever       bool
	failLogged bool
}

func (c *Controller) poll() {
	defer c.pollWG.Done()
	t := time.NewTimer(c.interval())
	defer t.Stop()
	for {
		select {
		case <-c.stopPoll:
			return
		case <-t.C:
			c.scan()
			t.Reset(c.interval())
		}
	}
}

// interval is Poll, or Retry while the driver cannot list ports.
func (c *Controller) interval() time.Duration {
	if c.inDown.Load() {
		return c.cfg.Retry
	}
	return c.cfg.Poll
}

// scan reads the driver's port lists once and opens, closes and re-opens
// ports to match.
func (c *Controller) scan() {
	c.scanMu.Lock()
	defer c.scanMu.Unlock()
	select {
	case <-c.stopPoll:
		return // Close has started: open nothing new
	default:
	}
	c.scanInputs()
	if !c.inDown.Load() {
		// When inputs cannot be listed, outputs cannot either, and each
		// attempt makes ALSA and RtMidi print to stderr.
		c.scanOutputs()
	}
}

func (c *Controller) scanInputs() {
	ports, err := driverIns(c.drv)
	if err != nil {
		// Keep whatever is open: a failed listing says nothing about it.
		c.inDown.Store(true)
		if !c.inDownLogged {
			c.inDownLogged = true
			c.log.Warn().Msg(msgNoMIDI)
		}
		return
	}
	c.inDown.Store(false)
	if c.inDownLogged {
		c.inDownLogged = false
		c.log.Info().Msg("MIDI is available again; looking for inputs.")
	}
	names := uniqueNames(ports)
	for i := 0; i < c.nIn; i++ {
		if c.ins[i].port != nil && !contains(names, c.ins[i].name) {
			c.unplugIn(i, true)
		}
	}
	matched := 0
	for j, p := range ports {
		name := names[j]
		if !selected(c.inSel, name, true) {
			continue
		}
		matched++
		i := c.findIn(name, names)
		if i < 0 {
			if c.nIn == MaxPorts {
				if !c.inFullLogged {
					c.inFullLogged = true
					c.log.Warn().Str("port", name).Int("max", MaxPorts).Msg("Too many MIDI inputs; this one is not opened.")
				}
				continue
			}
			i = c.nIn
			c.tableMu.Lock()
			c.ins[i] = inPort{name: name, key: deviceKey(name)}
			c.nIn++
			c.tableMu.Unlock()
		}
		if c.ins[i].port == nil {
			c.openIn(i, p)
		}
	}
	if matched > 0 {
		c.noMatchLogged = false
	} else if !c.noMatchLogged {
		c.noMatchLogged = true
		if len(c.inSel) == 0 {
			c.log.Info().Msg("No MIDI input is connected; waiting for one to be plugged in.")
		} else {
			c.log.Info().Strs("want", c.cfg.Inputs).Strs("available", names).
				Msg("No MIDI input matches the selection; waiting for one to be plugged in.")
		}
	}
}

// findIn returns the table entry for a listed input: the one with that exact
// name, or else a closed one whose name differs only in the ALSA address
// (see stableName), which then takes the new name. -1 if none.
func (c *Controller) findIn(name string, listed []string) int {
	for i := 0; i < c.nIn; i++ {
		if c.ins[i].name == name {
			return i
		}
	}
	st := stableName(name)
	for i := 0; i < c.nIn; i++ {
		p := &c.ins[i]
		if p.port == nil && stableName(p.name) == st && !contains(listed, p.name) {
			c.tableMu.Lock()
			p.name, p.key = name, deviceKey(name)
			c.tableMu.Unlock()
			return i
		}
	}
	return -1
}

// findOut is findIn for outputs. outMu must be held.
func (c *Controller) findOut(name string, listed []string) int {
	for i := 0; i < c.nOut; i++ {
		if c.outs[i].name == name {
			return i
		}
	}
	st := stableName(name)
	for i := 0; i < c.nOut; i++ {
		p := &c.outs[i]
		if p.port == nil && stableName(p.name) == st && !contains(listed, p.name) {
			c.tableMu.Lock()
			p.name, p.key = name, deviceKey(name)
			c.tableMu.Unlock()
			return i
		}
	}
	return -1
}

// stableName drops the " client:port" address that rtmididrv appends to ALSA
// port names ("Keystation 49:Keystation 49 MIDI 1 20:0"). ALSA numbers clients
// by sound card index, which can change when a device is plugged in again, so
// a device that comes back may come back under another address.
func stableName(name string) string {
	sp := strings.LastIndexByte(name, ' ')
	if sp < 0 {
		return name
	}
	addr := name[sp+1:]
	colon := strings.IndexByte(addr, ':')
	if colon <= 0 || colon == len(addr)-1 || !digits(addr[:colon]) || !digits(addr[colon+1:]) {
		return name
	}
	return name[:sp]
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func (c *Controller) openIn(i int, port drivers.In) {
	p := &c.ins[i]
	l := &listener{c: c, src: uint16(i), gen: p.gen + 1, key: p.key}
	stop, err := c.startListening(port, l)
	if err != nil {
		// The error text is not logged: rtmididrv's is garbage.
		if !p.failLogged {
			p.failLogged = true
			c.log.Warn().Str("port", p.name).Msg("Could not open the MIDI input; it will be tried again at the next poll.")
		}
		return
	}
	p.gen++
	p.port, p.stop, p.l, p.failLogged = port, stop, l, false
	c.tableMu.Lock()
	p.open = true
	c.tableMu.Unlock()
	if p.ever {
		c.stats.reopens.Add(1)
		c.log.Info().Str("port", p.name).Msg("MIDI input reconnected and re-opened.")
		return
	}
	p.ever = true
	c.log.Info().Str("port", p.name).Msg("Opened MIDI input.")
}

// startListening opens port and listens on it; driver panics become errors.
func (c *Controller) startListening(port drivers.In, l *listener) (stop func(), err error) {
	defer func() {
		if r := recover(); r != nil {
			c.stats.driverPanics.Add(1)
			c.safely(func() { _ = port.Close() })
			stop, err = nil, ErrDriverPanic
		}
	}()
	if !port.IsOpen() {
		if err = port.Open(); err != nil {
			return nil, err
		}
	}
	if stop, err = port.Listen(l.onMsg, c.listen); err != nil {
		_ = port.Close()
		return nil, err
	}
	if stop == nil {
		stop = func() {}
	}
	return stop, nil
}

// unplugIn closes input i and queues the release of its held notes, which the
// delivery goroutine handles after everything the port sent before.
func (c *Controller) unplugIn(i int, logIt bool) {
	p := &c.ins[i]
	p.l.dead.Store(true)
	c.safely(p.stop)
	port := p.port
	c.safely(func() { _ = port.Close() })
	c.tableMu.Lock()
	p.open = false
	c.tableMu.Unlock()
	p.port, p.stop, p.l = nil, nil, nil
	c.queue <- record{op: opRelease, src: uint16(i), gen: p.gen}
	if logIt {
		c.log.Warn().Str("port", p.name).Msg("MIDI input disconnected; every note it held has been released.")
	}
}

func (c *Controller) scanOutputs() {
	if len(c.outSel) == 0 {
		return
	}
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if c.closed {
		return
	}
	ports, err := driverOuts(c.drv)
	if err != nil {
		if !c.outDown.Swap(true) {
			c.log.Warn().Msg("No MIDI output is available: the ALSA sequencer could not be opened.")
		}
		return
	}
	c.outDown.Store(false)
	names := uniqueNames(ports)
	for i := 0; i < c.nOut; i++ {
		if c.outs[i].port != nil && !contains(names, c.outs[i].name) {
			c.closeOut(i)
			c.log.Warn().Str("port", c.outs[i].name).Msg("MIDI output disconnected.")
		}
	}
	for j, p := range ports {
		name := names[j]
		if !selected(c.outSel, name, false) {
			continue
		}
		i := c.findOut(name, names)
		if i < 0 {
			if c.nOut == MaxPorts {
				if !c.outFullLogged {
					c.outFullLogged = true
					c.log.Warn().Str("port", name).Int("max", MaxPorts).Msg("Too many MIDI outputs; this one is not opened.")
				}
				continue
			}
			i = c.nOut
			c.tableMu.Lock()
			c.outs[i] = outPort{name: name, key: deviceKey(name)}
			c.nOut++
			c.tableMu.Unlock()
		}
		if c.outs[i].port == nil {
			c.openOut(i, p)
		}
	}
}

func (c *Controller) openOut(i int, port drivers.Out) {
	p := &c.outs[i]
	err := c.safely(func() error {
		if port.IsOpen() {
			return nil
		}
		return port.Open()
	})
	if err != nil {
		if !p.failLogged {
			p.failLogged = true
			c.log.Warn().Str("port", p.name).Msg("Could not open the MIDI output; it will be tried again at the next poll.")
		}
		return
	}
	p.port, p.failLogged = port, false
	c.tableMu.Lock()
	p.open = true
	c.tableMu.Unlock()
	if p.ever {
		c.stats.reopens.Add(1)
		c.log.Info().Str("port", p.name).Msg("MIDI output reconnected and re-opened.")
		return
	}
	p.ever = true
	c.log.Info().Str("port", p.name).Msg("Opened MIDI output.")
}

// closeOut closes output i. outMu must be held.
func (c *Controller) closeOut(i int) {
	p := &c.outs[i]
	port := p.port
	c.safely(func() { _ = port.Close() })
	c.tableMu.Lock()
	p.open = false
	c.tableMu.Unlock()
	p.port = nil
}

// safely calls f (a func() or a func() error) and turns a panic inside the
// driver into ErrDriverPanic.
func (c *Controller) safely(f any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			c.stats.driverPanics.Add(1)
			err = ErrDriverPanic
		}
	}()
	switch f := f.(type) {
	case func():
		if f != nil {
			f()
		}
	case func() error:
		return f()
	}
	return nil
}

func driverIns(drv drivers.Driver) (ins []drivers.In, err error) {
	defer func() {
		if recover() != nil {
			ins, err = nil, ErrUnavailable
		}
	}()
	if drv == nil {
		return nil, ErrUnavailable
	}
	return drv.Ins()
}

func driverOuts(drv drivers.Driver) (outs []drivers.Out, err error) {
	defer func() {
		if recover() != nil {
			outs, err = nil, ErrUnavailable
		}
	}()
	if drv == nil {
		return nil, ErrUnavailable
	}
	return drv.Outs()
}

func portName(p drivers.Port) (name string) {
	defer func() {
		if recover() != nil {
			name = ""
		}
	}()
	return p.String()
}

// uniqueNames returns the ports' names, with " #2", " #3" … added to repeats
// so that two identical devices get separate table entries.
func uniqueNames[P drivers.Port](ports []P) []string {
	raw := make([]string, len(ports))
	names := make([]string, len(ports))
	for j, p := range ports {
		raw[j] = portName(p)
		n := 1
		for _, r := range raw[:j] {
			if r == raw[j] {
				n++
			}
		}
		names[j] = raw[j]
		if n > 1 {
			names[j] += " #" + strconv.Itoa(n)
		}
	}
	return names
}

func contains(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}
