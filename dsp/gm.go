package dsp

// gmFamilies names the nearest built-in preset for each General MIDI
// program, eight programs per family.
var gmFamilies = [16][8]string{
	// Piano: grand, bright, electric grand, honky-tonk, e-piano 1, 2, harpsichord, clavinet.
	{"keys", "keys", "keys", "keys", "keys", "keys", "pluck", "pluck"},
	// Chromatic percussion: celesta, glockenspiel, music box, vibraphone, marimba, xylophone, tubular bells, dulcimer.
	{"bell", "bell", "bell", "bell", "mallet", "mallet", "bell", "pluck"},
	// Organ: drawbar, percussive, rock, church, reed, accordion, harmonica, tango accordion.
	{"organ", "organ", "organ", "organ", "organ", "organ", "lead", "organ"},
	// Guitar: nylon, steel, jazz, clean, muted, overdriven, distortion, harmonics.
	{"pluck", "pluck", "pluck", "pluck", "pluck", "lead", "lead", "bell"},
	// Bass: acoustic, finger, pick, fretless, slap 1, 2, synth 1, 2.
	{"bass", "bass", "bass", "bass", "bass", "bass", "bass", "bass"},
	// Strings: violin, viola, cello, contrabass, tremolo, pizzicato, harp, timpani.
	{"strings", "strings", "strings", "strings", "strings", "pluck", "pluck", "mallet"},
	// Ensemble: strings 1, 2, synth strings 1, 2, choir aahs, voice oohs, synth voice, orchestra hit.
	{"strings", "strings", "strings", "strings", "pad", "pad", "pad", "brass"},
	// Brass: trumpet, trombone, tuba, muted trumpet, french horn, section, synth brass 1, 2.
	{"brass", "brass", "brass", "brass", "brass", "brass", "brass", "brass"},
	// Reed: soprano, alto, tenor, baritone sax, oboe, english horn, bassoon, clarinet.
	{"brass", "brass", "brass", "brass", "lead", "lead", "brass", "flute"},
	// Pipe: piccolo, flute, recorder, pan flute, blown bottle, shakuhachi, whistle, ocarina.
	{"flute", "flute", "flute", "flute", "flute", "flute", "flute", "flute"},
	// Synth lead: square, saw, calliope, chiff, charang, voice, fifths, bass+lead.
	{"lead", "lead", "flute", "flute", "lead", "pad", "lead", "bass"},
	// Synth pad: new age, warm, polysynth, choir, bowed, metallic, halo, sweep.
	{"pad", "pad", "pad", "pad", "pad", "bell", "pad", "pad"},
	// Synth effects: rain, soundtrack, crystal, atmosphere, brightness, goblins, echoes, sci-fi.
	{"fx", "pad", "bell", "pad", "bell", "fx", "pad", "fx"},
	// Ethnic: sitar, banjo, shamisen, koto, kalimba, bagpipe, fiddle, shanai.
	{"pluck", "pluck", "pluck", "pluck", "mallet", "lead", "strings", "lead"},
	// Percussive: tinkle bell, agogo, steel drums, woodblock, taiko, melodic tom, synth drum, reverse cymbal.
	{"bell", "bell", "mallet", "mallet", "mallet", "mallet", "mallet", "fx"},
	// Sound effects: fret noise, breath noise, seashore, bird tweet, telephone, helicopter, applause, gunshot.
	{"fx", "fx", "fx", "flute", "lead", "fx", "fx", "fx"},
}

// gmTable maps a General MIDI program to a preset index; filled by init.
var gmTable [128]uint8

func init() {
	for f := range gmFamilies {
		for k, name := range gmFamilies[f] {
			gmTable[f*8+k] = uint8(mustPreset(name))
		}
	}
}

// GMPreset returns the index (into Presets) of the built-in preset nearest
// to General MIDI program (0..127; higher values wrap), so that any MIDI
// file sounds reasonable. It does not allocate: any thread.
func GMPreset(program uint8) int { return int(gmTable[program&127]) }
