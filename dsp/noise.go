package dsp

// Noise generation: xorshift64* seeded through splitmix64, pink noise by Paul
// Kellet's refined filter (accurate to about ±0.05 dB above 9 Hz at 44.1 kHz).

// splitmix64 turns any seed (0 included) into a well-mixed, non-zero state.
func splitmix64(seed uint64) uint64 {
	z := seed + 0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	z ^= z >> 31
	if z == 0 {
		z = 0x9E3779B97F4A7C15
	}
	return z
}

// Rand is a small deterministic xorshift64* generator (pointer-free).
type Rand struct{ s uint64 }

// Seed restarts the generator; every seed, 0 included, is valid.
func (r *Rand) Seed(seed uint64) { r.s = splitmix64(seed) }

// Uint64 returns the next 64 random bits.
func (r *Rand) Uint64() uint64 {
	x := r.s
	if x == 0 {
		x = splitmix64(0)
	}
	x ^= x >> 12
	x ^= x << 25
	x ^= x >> 27
	r.s = x
	return x * 0x2545F4914F6CDD1D
}

// Bipolar returns a uniform value in [-1, 1).
func (r *Rand) Bipolar() float64 {
	return float64(int64(r.Uint64())>>11) * (1.0 / (1 << 52))
}

// Float returns a uniform value in [0, 1).
func (r *Rand) Float() float64 {
	return float64(r.Uint64()>>11) * (1.0 / (1 << 53))
}

// pinkState is Paul Kellet's refined pink-noise filter.
type pinkState struct{ b0, b1, b2, b3, b4, b5, b6 float64 }

const pinkGain = 0.11 // brings the filter's output to roughly unit peak

// white adds g times white noise to dst.
func (o *Osc) white(dst []float32, g float32) {
	x := o.rng
	if x == 0 {
		x = splitmix64(0)
	}
	for i := range dst {
		x ^= x >> 12
		x ^= x << 25
		x ^= x >> 27
		dst[i] += float32(float64(int64(x*0x2545F4914F6CDD1D)>>11)*(1.0/(1<<52))) * g
	}
	o.rng = x
}

// pink adds g times pink noise to dst.
func (o *Osc) pink(dst []float32, g float32) {
	x := o.rng
	if x == 0 {
		x = splitmix64(0)
	}
	p := o.pk
	for i := range dst {
		x ^= x >> 12
		x ^= x << 25
		x ^= x >> 27
		w := float64(int64(x*0x2545F4914F6CDD1D)>>11) * (1.0 / (1 << 52))
		p.b0 = 0.99886*p.b0 + w*0.0555179
		p.b1 = 0.99332*p.b1 + w*0.0750759
		p.b2 = 0.96900*p.b2 + w*0.1538520
		p.b3 = 0.86650*p.b3 + w*0.3104856
		p.b4 = 0.55000*p.b4 + w*0.5329522
		p.b5 = -0.7616*p.b5 - w*0.0168980
		y := p.b0 + p.b1 + p.b2 + p.b3 + p.b4 + p.b5 + p.b6 + w*0.5362
		p.b6 = w * 0.115926
		dst[i] += float32(y*pinkGain) * g
	}
	o.pk = p
	o.rng = x
}
