package engine

import (
	"errors"
	"strconv"

	"github.com/chronus-audio/chronus/dsp"
	"github.com/chronus-audio/chronus/engine/proto"
)

// GraphCommands appends to dst the worker commands that send the whole of
// g and commit it into graph slot slot (0..15) for channel channel, and
// returns the extended slice: patch-abort, one patch-create per module,
// one patch-set per parameter whose Set bit is on (choice parameters by
// index), one patch-connect per route (Key = the destination port number,
// see dsp.ModuleKind.PortIndex; Voice = the dsp.RouteOp), then
// patch-commit with g.Out as the output. That is 2 + modules + set
// parameters + routes commands, at most 2+16+128+32 = 178.
//
// The commands carry Frame 0 (as soon as possible) and no flags or
// sequence numbers: the caller sends them in order, unchanged, so that a
// worker that joins later replays the same sequence. It fails when a name
// does not fit a command field or a route names a module or port the
// graph does not have; it does not compile g (call dsp.Compile first to
// report why a graph would be refused; the workers refuse an invalid graph
// at the commit and the channel keeps what it played). On error dst is
// returned unextended. Control goroutines only (it may allocate).
func GraphCommands(g *dsp.Graph, slot, channel uint8, dst []proto.Command) ([]proto.Command, error) {
	if slot >= dsp.GraphSlots {
		return dst, errors.New("engine: graph slot " + strconv.Itoa(int(slot)) + " out of range 0.." + strconv.Itoa(dsp.GraphSlots-1))
	}
	if channel > proto.MaxChannel {
		return dst, errors.New("engine: channel " + strconv.Itoa(int(channel)) + " out of range 0..15")
	}
	n, nr := int(g.NModules), int(g.NRoutes)
	if n > dsp.MaxModules || nr > dsp.MaxRoutes {
		return dst, errors.New("engine: graph has too many modules or routes")
	}
	out := dst
	out = append(out, proto.Command{Op: proto.OpPatchAbort})
	for i := 0; i < n; i++ {
		m := &g.Modules[i]
		id := m.IDString()
		c := proto.Command{Op: proto.OpPatchCreate}
		if err := c.SetModule(id); err != nil || id == "" {
			return dst, errors.New("engine: module " + strconv.Quote(id) + ": bad id")
		}
		if !m.Kind.Valid() {
			return dst, errors.New("engine: module " + id + ": unknown kind " + m.Kind.String())
		}
		_ = c.SetParam(m.Kind.String()) // kind names are short ASCII
		out = append(out, c)
	}
	for i := 0; i < n; i++ {
		m := &g.Modules[i]
		for p := 0; p < dsp.MaxParams; p++ {
			if m.Set&(1<<uint(p)) == 0 {
				continue
			}
			if p >= m.Kind.NumParams() {
				return dst, errors.New("engine: module " + m.IDString() + ": parameter " + strconv.Itoa(p) + " set but the kind has none")
			}
			c := proto.Command{Op: proto.OpPatchSet, Value: m.Param[p]}
			_ = c.SetModule(m.IDString())
			if err := c.SetParam(m.Kind.Param(p).Name); err != nil {
				return dst, errors.New("engine: module " + m.IDString() + ": " + err.Error())
			}
			out = append(out, c)
		}
	}
	for r := 0; r < nr; r++ {
		rt := &g.Routes[r]
		to := g.ModuleIndex(padded(rt.To[:]))
		from := g.ModuleIndex(padded(rt.From[:]))
		desc := padded(rt.From[:]) + " -> " + padded(rt.To[:]) + "." + padded(rt.Port[:])
		if from < 0 || to < 0 {
			return dst, errors.New("engine: route " + desc + ": unknown module")
		}
		port := g.Modules[to].Kind.PortIndex(padded(rt.Port[:]))
		if port < 0 || port > proto.MaxKey {
			return dst, errors.New("engine: route " + desc + ": unknown port")
		}
		c := proto.Command{Op: proto.OpPatchConnect, Key: uint8(port), Value: rt.Amount, Voice: uint16(rt.Op)}
		_ = c.SetModule(padded(rt.From[:]))
		_ = c.SetParam(padded(rt.To[:]))
		out = append(out, c)
	}
	c := proto.Command{Op: proto.OpPatchCommit, Key: slot, Channel: channel}
	if err := c.SetModule(g.OutString()); err != nil || g.OutString() == "" {
		return dst, errors.New("engine: the graph has no valid output module")
	}
	out = append(out, c)
	for i := len(dst); i < len(out); i++ {
		if err := out[i].Validate(); err != nil {
			return dst, errors.New("engine: " + out[i].Op.String() + " " + out[i].ModuleString() + ": " + err.Error())
		}
	}
	return out, nil
}

// padded returns a NUL-padded name without its padding.
func padded(b []byte) string {
	n := 0
	for n < len(b) && b[n] != 0 {
		n++
	}
	return string(b[:n])
}
