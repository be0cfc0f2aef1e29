package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/chronus-audio/chronus/cmd/internal/offline"
	"github.com/chronus-audio/chronus/controllers/midifile"
	"github.com/chronus-audio/chronus/dsp"
	"github.com/chronus-audio/chronus/dsp/presets"
	"github.com/chronus-audio/chronus/recorder"
)

func init() { addSubcommand(newRenderCmd) }

// renderFlags are the settings of `chronus render`.
type renderFlags struct {
	output string
	rate   int
	format string
	patch  string
	voices int
	tail   float64
}

func newRenderCmd(a *app) *cobra.Command {
	var f renderFlags
	cmd := &cobra.Command{
		Use:   "render IN.mid [-o OUT.wav]",
		Short: "Render a MIDI file to a WAV file, much faster than real time.",
		Long: "Render plays a Standard MIDI File through the Chronus synth as fast as the CPU allows\n" +
			"and writes a stereo WAV file. Every event lands on its exact sample frame. After the\n" +
			"song's end the release and effect tails are kept until the output stays below -100 dBFS\n" +
			"for 0.25 s, at most --tail seconds.\n\n" +
			"The output file appears only when the render succeeded: it is written to a hidden\n" +
			"temporary file beside it and renamed into place. With -o - the WAV data goes to\n" +
			"standard output, and nothing is written there if the render fails.",
		Example: "  chronus render song.mid -o song.wav\n" +
			"  chronus render song.mid -o - --format s16 | aplay\n" +
			"  CHRONUS_RATE=44100 chronus render song.mid --patch pad",
		Args: exactArgs(1, "one MIDI file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.render(cmd.Context(), args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "out", "o", "", "output WAV file, or - for standard output (default: IN with the extension .wav)")
	fl.IntVar(&f.rate, "rate", 48000, fmt.Sprintf("sample rate in Hz, 8000..%d", dsp.MaxSampleRate))
	fl.StringVar(&f.format, "format", "f32", "sample format: s16, s24 or f32")
	fl.StringVar(&f.patch, "patch", "", "force this preset on every melodic channel (default: program changes choose)")
	fl.IntVar(&f.voices, "voices", dsp.DefaultVoices, fmt.Sprintf("polyphony, 1..%d", dsp.MaxVoices))
	fl.Float64Var(&f.tail, "tail", 10, "longest release tail after the song's end, in seconds")
	return cmd
}

// render runs `chronus render`. Every failure is logged here as one error line
// naming the input and output, and returned as a reportedError.
func (a *app) render(ctx context.Context, in string, f renderFlags) error {
	out := f.output
	if out == "" {
		out = strings.TrimSuffix(in, filepath.Ext(in)) + ".wav"
	}
	fail := func(err error, msg string) error {
		a.log.Error().Err(err).Str("input", in).Str("output", out).Msg(msg)
		return reportedError{err}
	}
	format, err := recorder.ParseFormat(f.format)
	if err != nil {
		return fail(usageError{err}, "The output format is not valid.")
	}
	if f.tail < 0 || f.tail > 3600 {
		return fail(usageError{fmt.Errorf("render: --tail %v is outside 0..3600 seconds", f.tail)}, "The tail length is not valid.")
	}
	bank, err := presets.Bank(a.configDir)
	if err != nil {
		return fail(err, "A preset file is broken.")
	}
	cfg := offline.Config{
		Rate:    f.rate,
		Voices:  f.voices,
		Patch:   f.patch,
		Tail:    time.Duration(f.tail * float64(time.Second)),
		Presets: bank,
	}
	if err := cfg.Validate(); err != nil {
		return fail(usageError{err}, "The render settings are not valid.")
	}
	if out != "-" && sameFile(in, out) {
		return fail(usageError{errors.New("render: the output would overwrite the input")}, "The output path is not valid.")
	}
	if f.output == "" {
		// The default name of a recorded take's .mid is the take's own WAV:
		// only a name the user gave replaces an existing file.
		if _, err := os.Stat(out); err == nil {
			return fail(usageError{fmt.Errorf("render: %s already exists; name the output with -o", out)}, "The output file already exists.")
		}
	}
	if out == "-" && isTerminal(a.stdout) {
		return fail(usageError{errors.New("render: standard output is a terminal; redirect it or use -o FILE")}, "Refusing to write WAV data to a terminal.")
	}

	song, err := midifile.LoadFile(in)
	if err != nil {
		return fail(err, "Could not load the MIDI file.")
	}
	for _, w := range song.Warnings {
		a.log.Warn().Str("input", in).Msg(w)
	}
	a.log.Debug().Str("input", in).Int("events", len(song.Events)).Int("tracks", song.Tracks).
		Uint16("smf_format", song.Format).Int64("duration_us", song.Duration).
		Int("meta_skipped", song.Meta).Int("sysex_skipped", song.SysEx).Msg("Loaded the MIDI file.")

	progress, finish := a.progressBar(midifile.Frame(song.Duration, f.rate))
	var st offline.Stats
	if out == "-" {
		st, err = offline.RenderTo(ctx, song, cfg, a.stdout, format, progress)
	} else {
		st, err = offline.RenderFile(ctx, song, cfg, out, format, progress)
	}
	finish()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			err = errors.New("render: interrupted")
		}
		return fail(err, "Could not render the MIDI file.")
	}
	a.log.Info().Str("input", in).Str("output", out).
		Uint64("frames", st.Frames).
		Float64("seconds", round3(st.Seconds(f.rate))).
		Float64("realtime_factor", round3(st.RealtimeFactor(f.rate))).
		Float64("elapsed_s", round3(st.Elapsed.Seconds())).
		Int("events", st.Events).
		Int("ignored", st.Ignored).
		Int("late", st.Late).
		Int("rate", f.rate).
		Str("format", f.format).
		Msg("Rendered the MIDI file.")
	return nil
}

// progressBar returns a progress callback and a finish function. The bar is drawn
// only when standard error is a terminal; otherwise both do nothing.
func (a *app) progressBar(total uint64) (offline.Progress, func()) {
	if !isTerminal(a.stderr) || total == 0 {
		return nil, func() {}
	}
	bar := progressbar.NewOptions64(int64(total),
		progressbar.OptionSetWriter(a.stderr),
		progressbar.OptionSetDescription("Rendering"),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionClearOnFinish(),
	)
	progress := func(done, total uint64) {
		bar.Set64(int64(min(done, total)))
	}
	return progress, func() { bar.Finish() }
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// sameFile reports whether a and b name the same existing file.
func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}
