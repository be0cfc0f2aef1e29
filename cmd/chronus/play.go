package main

import (
	"errors"
	"time"

	"github.com/spf13/cobra"

	"github.com/chronus-audio/chronus/cmd/internal/offline"
	"github.com/chronus-audio/chronus/controllers/midifile"
	"github.com/chronus-audio/chronus/dsp"
	"github.com/chronus-audio/chronus/dsp/presets"
	"github.com/chronus-audio/chronus/engine"
	"github.com/chronus-audio/chronus/recorder"
)

func init() { addSubcommand(newPlayCmd) }

type playOptions struct {
	engineOptions
	record    string
	recFormat string
	tail      float64
}

func newPlayCmd(a *app) *cobra.Command {
	var o playOptions
	cmd := &cobra.Command{
		Use:   "play FILE.mid",
		Short: "Play a MIDI file through the live engine, every event on its exact frame.",
		Long: "Play a MIDI file through the live, fault-tolerant engine. File events go straight\n" +
			"to the synth exactly as `chronus render` sends them (not through the maps), the\n" +
			"engine starts from a reset state and the take starts at a stamped frame, so\n" +
			"`play --record` gives the same audio as `render`.",
		Args: exactArgs(1, "one MIDI file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return playFile(cmd, a, args[0], o)
		},
	}
	f := cmd.Flags()
	o.engineOptions.register(f)
	f.StringVar(&o.record, "record", "", "record the take to this WAV file")
	f.StringVar(&o.recFormat, "record-format", "f32", "recording format: s16, s24 or f32")
	f.Float64Var(&o.tail, "tail", 10, "longest release tail after the song's end, in seconds")
	return cmd
}

func playFile(cmd *cobra.Command, a *app, path string, o playOptions) error {
	song, err := midifile.LoadFile(path)
	if err != nil {
		return err
	}
	format, err := recorder.ParseFormat(o.recFormat)
	if err != nil {
		return usageError{err}
	}
	eng, _, closeAll, err := openEngine(a, o.engineOptions)
	if err != nil {
		return err
	}
	defer closeAll()
	rate := int(o.rate)
	ctx := cmd.Context()
	// The take starts at a stamped frame a little ahead of what plays now,
	// so its first event cannot be late.
	now, _ := eng.PlayPosition()
	start := now + uint64(rate)/4
	var rec *recorder.Recording
	if o.record != "" {
		// The take is exactly as long as `chronus render` would make it: a
		// render of the song (fast, offline, same synth) measures that.
		bank, err := presets.Bank(a.configDir)
		if err != nil {
			return err
		}
		st, err := offline.Render(ctx, song, offline.Config{Rate: rate, Voices: o.voices, Presets: bank,
			Tail: time.Duration(o.tail * float64(time.Second))}, discard{}, nil)
		if err != nil {
			return err
		}
		src := &tapSource{tap: eng.Tap()}
		eng.Tap().EnableFrom(start)
		rec, err = recorder.Start(src, recorder.Options{Path: o.record, Rate: rate, Format: format, MaxFrames: int64(st.Frames)})
		if err != nil {
			return err
		}
		defer rec.Stop()
	}
	a.log.Info().Str("input", path).Int("events", len(song.Events)).Float64("seconds", float64(song.Duration)/1e6).
		Msg("Playing the MIDI file.")
	next := 0
	for next < len(song.Events) {
		played, _ := eng.PlayPosition()
		// Keep about half a second of commands queued ahead of playback.
		for next < len(song.Events) && midifile.Frame(song.Events[next].Time, rate)+start < played+uint64(rate)/2 {
			e := &song.Events[next]
			next++
			ev, ok := dsp.MIDIEvent(start+midifile.Frame(e.Time, rate), e.Bytes())
			if !ok {
				continue
			}
			c, ok := engine.Command(ev)
			if !ok {
				continue
			}
			for {
				err := eng.Send(c)
				if err == nil {
					break
				}
				if !errors.Is(err, engine.ErrBusy) {
					return err
				}
				time.Sleep(time.Millisecond)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(5 * time.Millisecond):
		}
	}
	if rec != nil {
		select {
		case <-rec.Done():
		case <-ctx.Done():
			return errors.New("play: interrupted")
		}
		st := rec.Stop()
		if st.Err != nil {
			return st.Err
		}
		a.log.Info().Str("path", st.Path).Int64("frames", st.Frames).Msg("The take is recorded.")
		return nil
	}
	// Without a recording: wait for the song's end and the longest tail.
	end := start + midifile.Frame(song.Duration, rate) + uint64(o.tail*o.rate)
	for {
		if played, _ := eng.PlayPosition(); played >= end {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// discard is a render sink that keeps nothing.
type discard struct{}

func (discard) Write([]float32) error { return nil }
