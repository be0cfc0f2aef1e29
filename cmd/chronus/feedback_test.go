package main

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/chronus-audio/chronus/controllers"
	"github.com/chronus-audio/chronus/controllers/osc"
	"github.com/chronus-audio/chronus/dsp"
	"github.com/chronus-audio/chronus/engine/proto"
)

type fakeEngine struct {
	voices int
	l, r   float32
}

func (e *fakeEngine) ActiveVoices() int                 { return e.voices }
func (e *fakeEngine) PeakLevels() (left, right float32) { return e.l, e.r }

func oscEvent(src uint16, addr string, v float64) *controllers.Event {
	ev := &controllers.Event{Kind: controllers.OSC, Source: src, NArgs: 1}
	ev.AddrLen = uint8(copy(ev.Addr[:], addr))
	ev.Args[0] = controllers.Arg{Type: 'f', F: v}
	return ev
}

func setCmd(ch uint8, module, param string, v float64) proto.Command {
	c := proto.Command{Op: proto.OpSet, Channel: ch, Value: v}
	_ = c.SetModule(module)
	_ = c.SetParam(param)
	return c
}

func TestFeedbackMirrorsAndCoalesces(t *testing.T) {
	fo := &fakeOSC{}
	f := newFeedback(fo, &fakeEngine{}, nil)
	// A fader from client 3: many moves in one tick, the last one wins.
	for i := 1; i <= 50; i++ {
		v := float64(i) / 50
		f.observe(oscEvent(3, "/1/fader1", v), []proto.Command{setCmd(0, "filter", "cutoff", 10+v*1000)})
	}
	// A note from an OSC pad changes no parameter: nothing to mirror.
	f.observe(oscEvent(5, "/2/push1", 1), []proto.Command{{Op: proto.OpNoteOn, Channel: 9, Key: 36, Value: 0.8}})
	// A CC from MIDI: its parameter goes to every client.
	midiEv := &controllers.Event{Kind: controllers.Control, Source: 3, Number: 1, Raw: 64}
	f.observe(midiEv, []proto.Command{setCmd(1, "lfo", "depth", 0.5), {Op: proto.OpControl, Key: 1, Value: 0.5}})
	// Preset changes: a program change on channel 1 and on the drum channel,
	// and a preset set directly on channel 3.
	f.observe(midiEv, []proto.Command{{Op: proto.OpProgram, Channel: 0, Key: 0}, {Op: proto.OpProgram, Channel: dsp.DrumChannel, Key: 0}})
	f.observe(oscEvent(4, "/preset", 2), []proto.Command{setCmd(2, "channel", "preset", 2)})
	f.flush()
	drums, _ := dsp.PresetIndex("drums")
	p0, p2 := dsp.Preset(dsp.GMPreset(0)), dsp.Preset(2)
	want := []string{
		"except3 /1/fader1 1",
		"except4 /preset 2",
		"except3 /param/filter/cutoff 1010 1",
		"except0 /param/lfo/depth 0.5 2",
		"all /status/preset 1 " + strconv.Itoa(dsp.GMPreset(0)) + " " + p0.NameString(),
		"all /status/preset 3 2 " + p2.NameString(),
		"all /status/preset 10 " + strconv.Itoa(drums) + " drums",
	}
	if got := fo.take(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("sent\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Nothing new: nothing sent.
	f.flush()
	if got := fo.take(); len(got) != 0 {
		t.Fatalf("an idle tick sent %q", got)
	}
}

func TestFeedbackStatusOnlyWhenChanged(t *testing.T) {
	fo := &fakeOSC{}
	eng := &fakeEngine{}
	f := newFeedback(fo, eng, nil)
	f.status()
	if got := fo.take(); len(got) != 0 {
		t.Fatalf("silence with no voices sent %q", got)
	}
	eng.voices, eng.l, eng.r = 2, 0.5, 0.25
	f.status()
	wantL, wantR := math.Round(40*math.Log10(0.5))/2, math.Round(40*math.Log10(0.25))/2
	want := "all /status/voices 2|all /status/level " + fmtF(wantL) + " " + fmtF(wantR)
	if got := strings.Join(fo.take(), "|"); got != want {
		t.Fatalf("sent %s, want %s", got, want)
	}
	f.status() // the same tone: nothing
	if got := fo.take(); len(got) != 0 {
		t.Fatalf("an unchanged state was sent again: %q", got)
	}
	eng.voices, eng.l, eng.r = 0, 0, 0
	f.status()
	if got := strings.Join(fo.take(), "|"); got != "all /status/voices 0|all /status/level -120 -120" {
		t.Fatalf("after the release: %s", got)
	}
}

func fmtF(v float64) string { return fmtPacket(osc.NewMessage("", float32(v)))[1:] }

// observe is on the dispatch goroutine: it must not allocate, and a full
// table drops (and counts) rather than grows.
func TestFeedbackObserveDoesNotAllocate(t *testing.T) {
	f := newFeedback(&fakeOSC{}, &fakeEngine{}, nil)
	cmds := []proto.Command{setCmd(0, "filter", "cutoff", 1000), {Op: proto.OpProgram, Key: 3}}
	evs := make([]*controllers.Event, 300)
	for i := range evs {
		evs[i] = oscEvent(1, "/grid/"+strconv.Itoa(i/10)+"/"+strconv.Itoa(i%10), 1)
	}
	i := 0
	if n := testing.AllocsPerRun(1000, func() { f.observe(evs[i%len(evs)], cmds); i++ }); n != 0 {
		t.Fatalf("observe: %v allocations", n)
	}
	if f.nEcho != echoSlots || f.dropped == 0 {
		t.Fatalf("%d addresses pending, %d dropped: want a full table and drops", f.nEcho, f.dropped)
	}
	var nilFB *feedback
	nilFB.observe(evs[0], cmds) // no OSC: a nil feedback is fine
}
