package graphfile

import (
	"embed"
	"errors"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/chronus-audio/chronus/dsp"
	"github.com/chronus-audio/chronus/mapping/tomlpos"
)

// Kit files. A kit maps MIDI keys to sounds, each a voice graph; a synth
// channel set to play the kit starts each note on its key's sound
// (dsp/graph_kit.go). Most drum sounds are a few kinds of graph with
// different numbers, so a kit file declares graphs once as templates and
// lets each sound take a template and change some of its parameters:
//
//	[kit]
//	name = "drums"            # optional; default: the file name without .toml
//
//	[[template]]              # a graph: the tables of a patch file, nested
//	name = "kick"             # referred to by the sounds
//	out = "amp"               # the output module, as in [patch]
//	one_shot = true           # optional; the sounds' default
//	choke = 0                 # optional; the sounds' default
//	[[template.module]]       # modules and routes exactly as in a patch file
//	id = "osc"
//	kind = "osc"
//	...
//	[[template.route]]
//	...
//
//	[[sound]]
//	name = "bass drum"        # optional; default: the template's name
//	keys = [36, "41-43"]      # MIDI keys: numbers and "lo-hi" ranges
//	template = "kick"
//	set = { "osc.hz" = 55, "aenv.decay" = 0.42, "pitch->osc.semi" = 24 }
//	                          # "module.param" = value (a name for a choice), or
//	                          # "from->module.port" = the amount of the template's
//	                          # routes from module from to module.port
//	pan = -0.2                # optional, -1..1, added to the channel's pan
//	choke = 1                 # optional: one_shot and choke override the template's
//
// A sound may instead carry its own graph: out, one_shot, choke and
// [[sound.module]] / [[sound.route]] tables in place of template and set.
// Kit sounds take no effects ([[fx]]). A key belongs to at most one
// sound; keys no sound names are silent. A kit holds at most
// dsp.MaxKitPrograms distinct graphs (sounds that differ only in name
// count once). Every error names the file, line and column of the
// offending key.
//
// The shipped kits live in kits/ (Kits), apart from the patch files of
// Shipped, which a loader of patches reads as single graphs.

//go:embed kits/*.toml
var kits embed.FS

// Kits returns the kit files embedded in the binary, as "kits/NAME.toml":
// kits/drums.toml is the General MIDI kit, the data form of the preset
// drum kit (dsp/drum.go; kit_match_test.go says how closely it matches).
func Kits() fs.FS { return kits }

// Kit is a kit file's contents.
type Kit struct {
	Name      string
	Templates []Template
	Sounds    []Sound
}

// Template is a named graph that sounds start from.
type Template struct {
	Name  string
	Graph dsp.Graph // named Name (truncated to 24 bytes)
}

// Sound is one sound of a kit.
type Sound struct {
	Name     string
	Keys     []uint8 // ascending
	Template string  // the template it starts from; "" when it has its own graph
	// Set lists the template parameters the sound changes, in file
	// order.
	Set []Override
	Pan float64
	// Graph is what the sound plays: the template's graph with Set
	// applied and the sound's one_shot and choke, or its own graph;
	// named Name.
	Graph dsp.Graph
}

// Override is one entry of a sound's set table: module.param = Value (an
// enumerated parameter's value by index), or, when From is set, the
// amount of the routes from From to Module.Param.
type Override struct {
	From          string
	Module, Param string
	Value         float64
}

// KitSounds returns the kit as the dsp stages it (Synth.LoadKit): one
// dsp.KitSound per sound, those of each template together (in template
// order, then the sounds with graphs of their own), so that staging
// sends each template once and then only what the sounds change. The
// order does not matter otherwise: no two sounds share a key. Not for
// the audio thread.
func (k *Kit) KitSounds() []dsp.KitSound {
	rank := map[string]int{}
	for i := range k.Templates {
		rank[k.Templates[i].Name] = i
	}
	idx := make([]int, len(k.Sounds))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ra, oka := rank[k.Sounds[idx[a]].Template]
		rb, okb := rank[k.Sounds[idx[b]].Template]
		if oka != okb {
			return oka
		}
		return ra < rb
	})
	out := make([]dsp.KitSound, len(k.Sounds))
	for o, i := range idx {
		sd := &k.Sounds[i]
		out[o] = dsp.KitSound{Graph: sd.Graph, Pan: sd.Pan}
		for _, key := range sd.Keys {
			out[o].SetKeys(key, key)
		}
	}
	return out
}

// Sound returns the sound that key plays, or nil.
func (k *Kit) Sound(key uint8) *Sound {
	for i := range k.Sounds {
		for _, kk := range k.Sounds[i].Keys {
			if kk == key {
				return &k.Sounds[i]
			}
		}
	}
	return nil
}

// ParseKit reads a kit file; name is the file name, used in errors and
// as the default kit name. Every sound's graph compiles, and the kit
// fits a synth (at most dsp.MaxKitPrograms distinct graphs). Not for the
// audio thread.
func ParseKit(name string, src []byte) (*Kit, error) {
	var doc map[string]any
	if err := toml.Unmarshal(src, &doc); err != nil {
		return nil, tomlError(name, err)
	}
	ps := &parser{file: name, idx: tomlpos.Build(src), kit: true}
	for _, k := range ps.sortedKeys("", doc) {
		if k != "kit" && k != "template" && k != "sound" {
			return nil, ps.errAt(k, "unknown table "+strconv.Quote(k)+" (want kit, template or sound)")
		}
	}
	kit := &Kit{Name: strings.TrimSuffix(path.Base(name), ".toml")}
	if v, ok := doc["kit"]; ok {
		t, ok := v.(map[string]any)
		if !ok {
			return nil, ps.errAt("kit", "kit must be a table")
		}
		for _, k := range ps.sortedKeys("kit", t) {
			s, ok := t[k].(string)
			switch {
			case k != "name":
				return nil, ps.errAt("kit."+k, "unknown key "+strconv.Quote(k)+" in [kit] (want name)")
			case !ok:
				return nil, ps.errAt("kit.name", "kit.name must be a string")
			}
			kit.Name = s
		}
	}

	tmpls, err := ps.tables(doc, "template")
	if err != nil {
		return nil, err
	}
	byName := map[string]int{}
	for i, t := range tmpls {
		ps.base = "template." + strconv.Itoa(i)
		tm, err := ps.template(t)
		if err != nil {
			return nil, err
		}
		if _, dup := byName[tm.Name]; dup {
			return nil, ps.errAt("name", "template "+strconv.Quote(tm.Name)+" is declared twice")
		}
		byName[tm.Name] = i
		kit.Templates = append(kit.Templates, tm)
	}
	ps.base = ""

	sounds, err := ps.tables(doc, "sound")
	if err != nil {
		return nil, err
	}
	var owner [128]int // sound+1 that plays each key
	var progs []dsp.GraphProgram
	for i, t := range sounds {
		ps.base = "sound." + strconv.Itoa(i)
		sd, err := ps.sound(t, i, kit.Templates, byName)
		if err != nil {
			return nil, err
		}
		for _, key := range sd.Keys {
			if o := owner[key]; o != 0 {
				return nil, ps.errAt("keys", "key "+strconv.Itoa(int(key))+" is played by sound "+strconv.Quote(kit.Sounds[o-1].Name)+" already")
			}
			owner[key] = i + 1
		}
		// Distinct programs, as the synth counts them (names aside).
		g := sd.Graph
		g.Name = [24]byte{}
		var p dsp.GraphProgram
		if err := dsp.Compile(&g, &p); err != nil {
			return nil, ps.errAt("", err.Error()) // parsed graphs compile
		}
		found := false
		for j := range progs {
			if progs[j] == p {
				found = true
				break
			}
		}
		if !found {
			if len(progs) == dsp.MaxKitPrograms {
				return nil, ps.errAt("", "more than "+strconv.Itoa(dsp.MaxKitPrograms)+" distinct sounds in a kit (sounds that differ only in name count once)")
			}
			progs = append(progs, p)
		}
		kit.Sounds = append(kit.Sounds, sd)
	}
	return kit, nil
}

// template reads [[template]] table t (ps.base is its path).
func (ps *parser) template(t map[string]any) (Template, error) {
	var tm Template
	name, ok := t["name"].(string)
	if !ok {
		return tm, ps.errAt("name", "a template needs name = \"...\"")
	}
	tm.Name = name
	for _, k := range ps.sortedKeys("", t) {
		switch k {
		case "name", "out", dsp.OptionOneShot, dsp.OptionChoke, "module", "route", "fx":
		default:
			return tm, ps.errAt(k, "unknown key "+strconv.Quote(k)+" in [[template]] (want name, out, one_shot, choke, module or route)")
		}
	}
	g, err := ps.kitGraph(t, name)
	tm.Graph = g
	return tm, err
}

// kitGraph reads a graph written in a kit (a template, or a sound's own):
// out, one_shot, choke and the module and route arrays of t.
func (ps *parser) kitGraph(t map[string]any, name string) (dsp.Graph, error) {
	var g dsp.Graph
	if len(name) > len(g.Name) {
		return g, ps.errAt("name", "the name is longer than "+strconv.Itoa(len(g.Name))+" bytes")
	}
	g.SetName(name)
	out := ""
	if v, ok := t["out"]; ok {
		if out, ok = v.(string); !ok {
			return g, ps.errAt("out", "out must be a string")
		}
	}
	if err := ps.options(&g, t); err != nil {
		return g, err
	}
	return g, ps.body(&g, t, out)
}

// options reads one_shot and choke from t into g.
func (ps *parser) options(g *dsp.Graph, t map[string]any) error {
	if v, ok := t[dsp.OptionOneShot]; ok {
		b, ok := v.(bool)
		if !ok {
			return ps.errAt(dsp.OptionOneShot, "one_shot must be true or false")
		}
		g.OneShot = b
	}
	if v, ok := t[dsp.OptionChoke]; ok {
		n, ok := v.(int64)
		if !ok || n < 0 || n > 255 {
			return ps.errAt(dsp.OptionChoke, "choke must be a choke group 0..255 (0: none)")
		}
		g.Choke = uint8(n)
	}
	return nil
}

// sound reads [[sound]] table t, number i (ps.base is its path).
func (ps *parser) sound(t map[string]any, i int, tmpls []Template, byName map[string]int) (Sound, error) {
	var sd Sound
	tmpl, hasT := t["template"]
	for _, k := range ps.sortedKeys("", t) {
		switch k {
		case "name", "keys", "pan", dsp.OptionOneShot, dsp.OptionChoke:
		case "template", "set":
			if _, own := t["module"]; own {
				return sd, ps.errAt(k, "sound "+strconv.Itoa(i)+" has its own modules: it takes no "+k)
			}
		case "out", "module", "route", "fx":
			if hasT {
				return sd, ps.errAt(k, "sound "+strconv.Itoa(i)+" plays a template: it takes no "+k+" (change the template's parameters with set)")
			}
		default:
			return sd, ps.errAt(k, "unknown key "+strconv.Quote(k)+" in [[sound]] (want name, keys, template, set, pan, one_shot, choke, or out, module and route)")
		}
	}
	if _, ok := t["set"]; ok && !hasT {
		return sd, ps.errAt("set", "sound "+strconv.Itoa(i)+": set needs a template")
	}
	keys, err := ps.keys(t, i)
	if err != nil {
		return sd, err
	}
	sd.Keys = keys
	if v, ok := t["pan"]; ok {
		x, ok := number(v)
		if !ok || !(x >= -1 && x <= 1) {
			return sd, ps.errAt("pan", "pan must be a number -1..1")
		}
		sd.Pan = x
	}
	if v, ok := t["name"]; ok {
		if sd.Name, ok = v.(string); !ok {
			return sd, ps.errAt("name", "name must be a string")
		}
	}
	if !hasT {
		if sd.Name == "" {
			sd.Name = "sound " + strconv.Itoa(i)
		}
		if _, ok := t["module"]; !ok {
			return sd, ps.errAt("", "sound "+strconv.Itoa(i)+" needs template = \"...\" or its own [[sound.module]] tables")
		}
		sd.Graph, err = ps.kitGraph(t, sd.Name)
		return sd, err
	}

	name, ok := tmpl.(string)
	if !ok {
		return sd, ps.errAt("template", "template must be a string")
	}
	ti, ok := byName[name]
	if !ok {
		return sd, ps.errAt("template", "no template "+strconv.Quote(name))
	}
	sd.Template = name
	if sd.Name == "" {
		sd.Name = name
	}
	g := tmpls[ti].Graph
	if len(sd.Name) > len(g.Name) {
		return sd, ps.errAt("name", "the name is longer than "+strconv.Itoa(len(g.Name))+" bytes")
	}
	g.SetName(sd.Name)
	if v, ok := t["set"]; ok {
		st, ok := v.(map[string]any)
		if !ok {
			return sd, ps.errAt("set", "set must be a table of \"module.param\" = value")
		}
		for _, k := range ps.sortedKeys("set", st) {
			kp := "set." + k
			if from, to, isRoute := strings.Cut(k, "->"); isRoute {
				o, err := ps.routeAmount(&g, name, from, to, st[k], kp)
				if err != nil {
					return sd, err
				}
				sd.Set = append(sd.Set, o)
				continue
			}
			mod, param, ok := strings.Cut(k, ".")
			if !ok {
				return sd, ps.errAt(kp, strconv.Quote(k)+" is not \"module.param\"")
			}
			mi := g.ModuleIndex(mod)
			if mi < 0 {
				return sd, ps.errAt(kp, "template "+strconv.Quote(name)+" has no module "+strconv.Quote(mod))
			}
			m := &g.Modules[mi]
			j := m.Kind.ParamIndex(param)
			if j < 0 {
				return sd, ps.errAt(kp, mod+": "+m.Kind.String()+" has no parameter "+strconv.Quote(param)+" (want "+paramNames(m.Kind)+")")
			}
			x, err := ps.paramValue(m.Kind, j, st[k], kp, k)
			if err != nil {
				return sd, err
			}
			m.Param[j] = x
			m.Set |= 1 << uint(j)
			sd.Set = append(sd.Set, Override{Module: mod, Param: param, Value: x})
		}
	}
	if err := ps.options(&g, t); err != nil {
		return sd, err
	}
	var p dsp.GraphProgram
	if err := dsp.Compile(&g, &p); err != nil {
		at := "template"
		if _, ok := t["set"]; ok {
			at = "set"
		}
		var ge *dsp.GraphError
		if _, ok := t[dsp.OptionOneShot]; ok && errors.As(err, &ge) && ge.Code == dsp.ErrOneShot {
			at = dsp.OptionOneShot
		}
		return sd, ps.errAt(at, "sound "+strconv.Quote(sd.Name)+": "+strings.TrimPrefix(err.Error(), "dsp: "))
	}
	sd.Graph = g
	return sd, nil
}

// routeAmount sets the amount of g's routes from from to to (module.port)
// to v, written at kp.
func (ps *parser) routeAmount(g *dsp.Graph, tmpl, from, to string, v any, kp string) (Override, error) {
	mod, port, ok := strings.Cut(to, ".")
	if !ok {
		return Override{}, ps.errAt(kp, strconv.Quote(from+"->"+to)+" is not \"from->module.port\"")
	}
	x, ok := number(v)
	if !ok {
		return Override{}, ps.errAt(kp, from+"->"+to+": a route amount must be a number")
	}
	n := 0
	for i := 0; i < int(g.NRoutes); i++ {
		r := &g.Routes[i]
		if pad(r.From[:]) == from && pad(r.To[:]) == mod && pad(r.Port[:]) == port {
			r.Amount = x
			n++
		}
	}
	if n == 0 {
		return Override{}, ps.errAt(kp, "template "+strconv.Quote(tmpl)+" has no route from "+strconv.Quote(from)+" to "+strconv.Quote(to))
	}
	return Override{From: from, Module: mod, Param: port, Value: x}, nil
}

// keys reads a sound's keys: a number, or an array of numbers and "lo-hi"
// ranges.
func (ps *parser) keys(t map[string]any, i int) ([]uint8, error) {
	v, ok := t["keys"]
	if !ok {
		return nil, ps.errAt("", "sound "+strconv.Itoa(i)+" needs keys = [...] (MIDI keys 0..127 and \"lo-hi\" ranges)")
	}
	arr, ok := v.([]any)
	if !ok {
		arr = []any{v}
	}
	var set [128]bool
	bad := func(j int) error {
		return ps.errAt("keys."+strconv.Itoa(j), "keys must be MIDI keys 0..127 or \"lo-hi\" ranges with lo <= hi")
	}
	for j, e := range arr {
		lo, hi := -1, -1
		switch e := e.(type) {
		case int64:
			if e >= 0 && e <= 127 {
				lo, hi = int(e), int(e)
			}
		case string:
			a, b, ok := strings.Cut(e, "-")
			x, err1 := strconv.Atoi(strings.TrimSpace(a))
			y, err2 := strconv.Atoi(strings.TrimSpace(b))
			if ok && err1 == nil && err2 == nil && x >= 0 && x <= y && y <= 127 {
				lo, hi = x, y
			}
		}
		if lo < 0 {
			return nil, bad(j)
		}
		for k := lo; k <= hi; k++ {
			if set[k] {
				return nil, ps.errAt("keys."+strconv.Itoa(j), "key "+strconv.Itoa(k)+" is named twice")
			}
			set[k] = true
		}
	}
	var keys []uint8
	for k, on := range set {
		if on {
			keys = append(keys, uint8(k))
		}
	}
	if len(keys) == 0 {
		return nil, ps.errAt("keys", "sound "+strconv.Itoa(i)+" has no keys")
	}
	return keys, nil
}

func number(v any) (float64, bool) {
	switch v := v.(type) {
	case int64:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

// EncodeKit writes k as a kit file. ParseKit(EncodeKit(k)) gives k back
// for any kit that ParseKit could have produced. Not for the audio
// thread.
func EncodeKit(k *Kit) []byte {
	var b strings.Builder
	b.WriteString("[kit]\nname = " + quote(k.Name) + "\n")
	tmpl := map[string]*dsp.Graph{}
	for i := range k.Templates {
		tm := &k.Templates[i]
		tmpl[tm.Name] = &tm.Graph
		b.WriteString("\n[[template]]\nname = " + quote(tm.Name) + "\n")
		writeKitGraph(&b, &tm.Graph, "template", true, true, true)
	}
	for i := range k.Sounds {
		sd := &k.Sounds[i]
		b.WriteString("\n[[sound]]\nname = " + quote(sd.Name) + "\nkeys = " + keyList(sd.Keys) + "\n")
		if sd.Pan != 0 {
			b.WriteString("pan = " + formatFloat(sd.Pan) + "\n")
		}
		if sd.Template == "" {
			writeKitGraph(&b, &sd.Graph, "sound", true, true, true)
			continue
		}
		b.WriteString("template = " + quote(sd.Template) + "\n")
		if len(sd.Set) > 0 {
			b.WriteString("set = {")
			for j, o := range sd.Set {
				if j > 0 {
					b.WriteString(",")
				}
				if o.From != "" {
					b.WriteString(" " + quote(o.From+"->"+o.Module+"."+o.Param) + " = " + formatFloat(o.Value))
					continue
				}
				b.WriteString(" " + quote(o.Module+"."+o.Param) + " = " + paramText(&sd.Graph, o))
			}
			b.WriteString(" }\n")
		}
		t := tmpl[sd.Template]
		writeKitGraph(&b, &sd.Graph, "sound", false, t == nil || t.OneShot != sd.Graph.OneShot, t == nil || t.Choke != sd.Graph.Choke)
	}
	return []byte(b.String())
}

// paramText writes an override's value: a choice by name.
func paramText(g *dsp.Graph, o Override) string {
	if i := g.ModuleIndex(o.Module); i >= 0 {
		k := g.Modules[i].Kind
		if j := k.ParamIndex(o.Param); j >= 0 {
			info := k.Param(j)
			if e := int(o.Value); info.Enum != nil && float64(e) == o.Value && e >= 0 && e < len(info.Enum) {
				return quote(info.Enum[e])
			}
		}
	}
	return formatFloat(o.Value)
}

// writeKitGraph writes a kit graph's one_shot and choke when asked and,
// for a graph of its own (own), out and its modules and routes as
// [[table.module]] and [[table.route]].
func writeKitGraph(b *strings.Builder, g *dsp.Graph, table string, own, oneShot, choke bool) {
	if oneShot {
		b.WriteString("one_shot = " + strconv.FormatBool(g.OneShot) + "\n")
	}
	if choke {
		b.WriteString("choke = " + strconv.Itoa(int(g.Choke)) + "\n")
	}
	if !own {
		return
	}
	b.WriteString("out = " + quote(g.OutString()) + "\n")
	writeModules(b, g, table+".module", false)
	for i := 0; i < int(g.NRoutes) && i < dsp.MaxRoutes; i++ {
		r := &g.Routes[i]
		b.WriteString("\n[[" + table + ".route]]\nfrom = " + quote(pad(r.From[:])) + "\nto = " + quote(pad(r.To[:])+"."+pad(r.Port[:])) +
			"\namount = " + formatFloat(r.Amount) + "\n")
		if r.Op != dsp.RouteAdd {
			b.WriteString("op = " + quote(r.Op.String()) + "\n")
		}
	}
}

// keyList writes keys as a TOML array, runs of three or more as ranges.
func keyList(keys []uint8) string {
	ks := append([]uint8(nil), keys...)
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	var parts []string
	for i := 0; i < len(ks); {
		j := i
		for j+1 < len(ks) && ks[j+1] == ks[j]+1 {
			j++
		}
		if j-i >= 2 {
			parts = append(parts, `"`+strconv.Itoa(int(ks[i]))+"-"+strconv.Itoa(int(ks[j]))+`"`)
		} else {
			for k := i; k <= j; k++ {
				parts = append(parts, strconv.Itoa(int(ks[k])))
			}
		}
		i = j + 1
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
