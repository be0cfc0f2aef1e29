package main

import (
	"context"
	"errors"
	"math"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/chronus-audio/chronus/controllers"
	"github.com/chronus-audio/chronus/controllers/osc"
	"github.com/chronus-audio/chronus/engine"
	"github.com/chronus-audio/chronus/engine/proto"
	"github.com/chronus-audio/chronus/mapping"
	"github.com/chronus-audio/chronus/maps"
)

// player connects the controllers to the engine: every event goes through
// one goroutine (so notes keep their order across MIDI and OSC), through the
// live maps, and out as protocol-v2 commands; host commands (recording,
// status) are answered here.
type player struct {
	a      *app
	eng    *engine.Engine
	recs   *recordings
	in     *inputs
	events chan controllers.Event
	live   *mapping.Live
	sess   *mapping.Session
	cmds   []proto.Command
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// frameAt's clock anchor (dispatch goroutine only).
	anchorFrame uint64
	anchorNs    int64
	// Map outputs and OSC feedback (feedback.go, forward.go).
	fwd  *forwarder
	fb   *feedback
	outs []mapping.Output
	// flow counts the commands sent to the engine (stats.go).
	flow flowStats
	// patches is the graph patch library and the staged graph (patch.go).
	patches *patchHost
}

func startPlayer(ctx context.Context, a *app, eng *engine.Engine, recs *recordings, f inputFlags) (*player, error) {
	ctx, cancel := context.WithCancel(ctx)
	p := &player{a: a, eng: eng, recs: recs, events: make(chan controllers.Event, 4096),
		live: mapping.NewLive(nil), cmds: make([]proto.Command, 0, 64), cancel: cancel}
	userMaps := mapping.UserDir(a.configDir)
	if err := os.MkdirAll(userMaps, 0o755); err != nil {
		a.log.Warn().Err(err).Str("dir", userMaps).Msg("The user map directory could not be created; only the shipped maps are used.")
	}
	loaded := make(chan struct{})
	var once sync.Once
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		err := mapping.Watch(ctx, maps.FS(), []string{userMaps}, func(s *mapping.Set) {
			p.live.Store(s)
			once.Do(func() { close(loaded) })
		}, func(err error) {}, a.log.With().Str("role", "maps").Logger())
		if err != nil {
			a.log.Warn().Err(err).Msg("Map files are not watched for changes; the shipped maps are used as they are.")
			s, lerr := mapping.Load(maps.FS())
			if lerr != nil {
				a.log.Error().Err(lerr).Msg("A shipped map is broken.")
			}
			p.live.Store(s)
			once.Do(func() { close(loaded) })
		}
	}()
	<-loaded
	set := p.live.Load()
	names := make([]string, 0, len(set.Maps()))
	for _, m := range set.Maps() {
		names = append(names, m.Name())
	}
	a.log.Info().Strs("maps", names).Str("user_dir", userMaps).Msg("Maps are loaded and watched for changes.")

	p.sess = mapping.NewSession(p.live, p.deviceName)
	in, err := openInputs(f, a.log, func(ev *controllers.Event) {
		select {
		case p.events <- *ev:
		case <-ctx.Done():
		}
	})
	if err != nil {
		cancel()
		p.wg.Wait()
		return nil, err
	}
	p.in = in
	p.startPatches() // patch.go
	p.startBridge(ctx)
	p.wg.Add(1)
	go p.dispatch(ctx)
	return p, nil
}

func (p *player) close() {
	p.cancel()
	p.wg.Wait()
	p.fwd.close() // end the notes the maps started on MIDI outputs
	p.in.Close()
	// Release whatever the maps still hold, so nothing keeps sounding.
	for _, c := range p.sess.ReleaseAll(p.cmds[:0]) {
		_ = p.eng.Send(c)
	}
}

func (p *player) deviceName(ev *controllers.Event) string {
	if ev.Kind != controllers.OSC && p.in != nil && p.in.midi != nil {
		return p.in.midi.PortName(ev.Source)
	}
	return ""
}

func (p *player) dispatch(ctx context.Context) {
	defer p.wg.Done()
	sync := time.NewTicker(100 * time.Millisecond) // adopt reloaded maps even when idle
	defer sync.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-p.events:
			p.handle(&ev)
		case <-sync.C:
			p.syncMaps() // forward.go
		}
	}
}

func (p *player) handle(ev *controllers.Event) {
	if ev.Kind == controllers.OSC && p.host(ev) {
		return
	}
	p.route(ev) // forward.go
}

// send hands commands to the engine; a timetagged OSC bundle's commands
// are stamped with the frame its time names.
func (p *player) send(cmds []proto.Command, ev *controllers.Event) {
	var frame uint64
	if ev != nil && !ev.Due.IsZero() {
		frame = p.frameAt(ev.Due)
	}
	for i := range cmds {
		c := cmds[i]
		if !c.Op.ForWorkers() {
			p.hostOp(c, ev)
			continue
		}
		if frame > 0 {
			c.Frame, c.Flags = frame, c.Flags|proto.FlagAbsolute
		}
		err := p.eng.Send(c)
		p.flow.sentCmd(&c, err) // stats.go
		if err != nil && !errors.Is(err, engine.ErrBusy) {
			p.a.log.Debug().Err(err).Str("op", c.Op.String()).Msg("A mapped command was refused.")
		}
	}
}

// frameAt converts a wall-clock time to the output frame that plays then.
// It keeps one anchor (a frame and the CLOCK_MONOTONIC time it played) and
// counts forward at the sample rate, re-anchoring only when the device clock
// has drifted more than 2 ms from the prediction: so two timetags 250 ms
// apart land 12000 frames apart, not 12000 plus the callback's jitter.
func (p *player) frameAt(t time.Time) uint64 {
	frames, at := p.eng.PlayPosition() // at: CLOCK_MONOTONIC ns of the last callback
	rate := p.eng.SampleRate()
	if p.anchorNs == 0 || math.Abs(float64(p.anchorFrame)+float64(at-p.anchorNs)*rate/1e9-float64(frames)) > 0.002*rate {
		p.anchorFrame, p.anchorNs = frames, at
	}
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	due := ts.Nano() + int64(time.Until(t))
	f := float64(p.anchorFrame) + float64(due-p.anchorNs)*rate/1e9
	if f < 0 {
		return 0
	}
	return uint64(math.Round(f))
}

// hostOp runs a command that is not for the synth.
func (p *player) hostOp(c proto.Command, ev *controllers.Event) {
	switch c.Op {
	case proto.OpRecordStart:
		p.startRecording("", ev)
	case proto.OpRecordStop:
		p.stopRecording(ev)
	case proto.OpStatus:
		p.replyStatus(ev)
	case proto.OpPatchLoad:
		p.patches.hostLoad(c, ev) // patch.go
	}
}

// host answers the OSC addresses the player owns: /record/start [name],
// /record/stop, /record/status, /status, /stats..., /patch/... (patch.go).
// True if ev was one of them.
func (p *player) host(ev *controllers.Event) bool {
	switch ev.Address() {
	case "/record/start":
		name := ""
		if ev.NArgs > 0 && (ev.Args[0].Type == 's' || ev.Args[0].Type == 'S') {
			name = ev.String()
		}
		p.startRecording(name, ev)
	case "/record/stop":
		p.stopRecording(ev)
	case "/record/status", "/status":
		p.replyStatus(ev)
	case "/stats", "/stats/reset", "/stats/probe":
		p.statsOSC(ev) // stats.go
	default:
		return p.patches.handleOSC(ev) // /patch/..., patch.go
	}
	return true
}

func (p *player) startRecording(name string, ev *controllers.Event) {
	path, err := networkPath(p.recs.dir, name, time.Now())
	if err == nil {
		err = p.recs.start(path)
	}
	if err != nil {
		p.a.log.Warn().Err(err).Msg("A recording could not be started.")
		p.reply(ev, osc.NewMessage("/record/error", err.Error()))
		return
	}
	p.broadcastStatus()
}

func (p *player) stopRecording(ev *controllers.Event) {
	if _, ok := p.recs.stop(); !ok {
		p.reply(ev, osc.NewMessage("/record/error", "not recording"))
		return
	}
	p.broadcastStatus()
}

func (p *player) statusMessage() *osc.Message {
	st, on := p.recs.status()
	rec := int32(0)
	if on {
		rec = 1
	}
	return osc.NewMessage("/record/status", rec, st.Path, float32(st.Elapsed.Seconds()))
}

func (p *player) replyStatus(ev *controllers.Event) { p.reply(ev, p.statusMessage()) }

// broadcastStatus tells every OSC client (TouchOSC shows it).
func (p *player) broadcastStatus() {
	if p.in != nil && p.in.osc != nil {
		_ = p.in.osc.Sender().Send(p.statusMessage())
	}
}

func (p *player) reply(ev *controllers.Event, m *osc.Message) {
	if ev == nil || ev.Kind != controllers.OSC || p.in == nil || p.in.osc == nil {
		return
	}
	_ = p.in.osc.Sender().Reply(ev.Source, m)
}
