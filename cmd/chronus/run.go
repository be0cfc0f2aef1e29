package main

import (
	"fmt"
	"time"

	"github.com/chronus-audio/chronus/recorder"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/chronus-audio/chronus/dsp"
	"github.com/chronus-audio/chronus/dsp/presets"
	"github.com/chronus-audio/chronus/engine"
	"github.com/chronus-audio/chronus/engine/device"
	"github.com/chronus-audio/chronus/engine/sched"
)

func init() { addSubcommand(newRunCmd) }

// engineOptions configure the engine and its output (run and play).
type engineOptions struct {
	output    string
	device    string
	rate      float64
	buffer    int
	block     int
	lead      int
	voices    int
	bendRange float64
	noSpare   bool
}

func (o *engineOptions) register(f *pflag.FlagSet) {
	f.StringVar(&o.output, "output", "auto", "output: auto (PortAudio if a device works, else null), portaudio or null")
	f.StringVar(&o.device, "device", "", "PortAudio output device: name substring or index (default: the system default)")
	f.Float64Var(&o.rate, "rate", 48000, "sample rate in Hz")
	f.IntVar(&o.buffer, "buffer", 0, "device buffer in frames (0: the host's choice; the null device uses 128)")
	f.IntVar(&o.block, "block", 64, "internal block in frames, rendered by the workers")
	f.IntVar(&o.lead, "lead", 1, "blocks the workers may render ahead of one device buffer (more: safer, later)")
	f.IntVar(&o.voices, "voices", dsp.DefaultVoices, fmt.Sprintf("voices per worker (1..%d)", dsp.MaxVoices))
	f.Float64Var(&o.bendRange, "bend-range", 2, "pitch-bend range in semitones")
	f.BoolVar(&o.noSpare, "no-spare", false, "do not keep a pre-started spare worker (slower recovery, one process fewer)")
}

// openEngine starts the engine's workers and the output device. close
// stops the device first (it calls the engine), then the workers.
func openEngine(a *app, o engineOptions) (eng *engine.Engine, out device.Output, closeAll func(), err error) {
	log := a.log
	backend, err := device.ParseBackend(o.output)
	if err != nil {
		return nil, nil, nil, usageError{err}
	}
	bank, err := presets.Bank(a.configDir)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("a preset file is broken: %w", err)
	}
	eng, err = engine.New(engine.Config{
		SampleRate: o.rate, BlockFrames: o.block, Lead: o.lead, Voices: o.voices,
		BendRange: o.bendRange, NoSpare: o.noSpare, Log: log, Presets: bank,
	})
	if err != nil {
		return nil, nil, nil, usageError{err}
	}
	if err := eng.Start(); err != nil {
		return nil, nil, nil, err
	}
	out, why, err := device.Open(device.Config{Backend: backend, Device: o.device, SampleRate: o.rate, FramesPerBuffer: o.buffer,
		Realtime: sched.DevicePriority, OnFallback: func(err error) {
			log.Warn().Str("reason", err.Error()).Msg("The audio device went away, so Chronus now plays on the null device; recording and control keep working.")
		}}, eng)
	if err != nil {
		eng.Close()
		return nil, nil, nil, fmt.Errorf("open the audio output: %w", err)
	}
	if why != nil {
		log.Warn().Str("reason", why.Error()).Msg("No sound card could be opened, so Chronus plays on the null device; recording and control keep working.")
	}
	if err := out.Start(); err != nil {
		out.Close()
		eng.Close()
		return nil, nil, nil, err
	}
	info := out.Info()
	log.Info().Str("output", string(info.Backend)).Str("device", info.Device).Float64("rate", info.SampleRate).
		Int("buffer", info.FramesPerBuffer).Dur("latency", info.Latency).Msg("Chronus is playing.")
	return eng, out, func() { out.Close(); eng.Close() }, nil
}

type runOptions struct {
	engineOptions
	duration  time.Duration
	record    string
	recDir    string
	recFormat string
	inputs    inputFlags
}

func newRunCmd(a *app) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Start the instrument: two lockstep workers playing on the sound card (or the null device).",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runInstrument(cmd, a, o)
		},
	}
	f := cmd.Flags()
	o.engineOptions.register(f)
	f.DurationVar(&o.duration, "duration", 0, "stop after this long (0: run until SIGINT or SIGTERM)")
	f.StringVar(&o.record, "record", "", "record from the start to this WAV file (a .mid of the take goes beside it)")
	f.StringVar(&o.recDir, "recordings", "recordings", "directory for recordings started over OSC or MIDI")
	f.StringVar(&o.recFormat, "record-format", "f32", "recording format: s16, s24 or f32")
	o.inputs.register(f)
	return cmd
}

func runInstrument(cmd *cobra.Command, a *app, o runOptions) error {
	log := a.log
	eng, out, closeAll, err := openEngine(a, o.engineOptions)
	if err != nil {
		return err
	}
	defer closeAll()

	format, err := recorder.ParseFormat(o.recFormat)
	if err != nil {
		return usageError{err}
	}
	recs := &recordings{eng: eng, dir: o.recDir, format: format, log: log}
	defer recs.stop()
	if o.record != "" {
		if err := recs.start(o.record); err != nil {
			return fmt.Errorf("start recording: %w", err)
		}
	}
	p, err := startPlayer(cmd.Context(), a, eng, recs, o.inputs)
	if err != nil {
		return err
	}
	defer p.close()

	var deadline <-chan time.Time
	if o.duration > 0 {
		deadline = time.After(o.duration)
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var last engine.Stats
	var lastDev device.Stats
	for {
		select {
		case <-cmd.Context().Done():
			log.Info().Msg("Chronus is stopping on request.")
			return nil
		case <-deadline:
			log.Info().Dur("duration", o.duration).Msg("Chronus is stopping after the requested duration.")
			return nil
		case <-tick.C:
			last, lastDev = logChanges(a, eng, out, last, lastDev)
		}
	}
}

// logChanges logs the engine's and device's counters when they changed: the
// audio thread only counts, this goroutine speaks.
func logChanges(a *app, eng *engine.Engine, out device.Output, last engine.Stats, lastDev device.Stats) (engine.Stats, device.Stats) {
	st, ds := eng.Stats(), out.Stats()
	if st.Underruns != last.Underruns || st.Failovers != last.Failovers || st.Respawns != last.Respawns ||
		st.Mismatches != last.Mismatches || st.Deaths != last.Deaths || st.Hangs != last.Hangs || st.LateCommands != last.LateCommands ||
		st.ColdStarts != last.ColdStarts {
		a.log.Info().Uint64("underruns", st.Underruns).Uint64("failovers", st.Failovers).Uint64("respawns", st.Respawns).
			Uint64("deaths", st.Deaths).Uint64("hangs", st.Hangs).Uint64("mismatches", st.Mismatches).
			Uint64("late_commands", st.LateCommands).Dur("last_detect", st.LastDetect).Dur("last_respawn", st.LastRespawn).
			Dur("callback_p99", st.CallbackP99).Dur("callback_max", st.CallbackMax).
			Str("active", st.Active).Str("standby", st.Standby).Msg("The engine's counters changed.")
	}
	if ds.Underflows != lastDev.Underflows || ds.Panics != lastDev.Panics {
		ev := a.log.Warn().Uint64("underflows", ds.Underflows).Uint64("panics", ds.Panics)
		if err := out.Err(); err != nil {
			ev = ev.Str("first_fault", err.Error())
		}
		ev.Msg("The audio device reported a fault; playback continues.")
	}
	return st, ds
}
