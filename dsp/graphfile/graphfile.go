// Package graphfile reads and writes voice graphs (dsp.Graph) as TOML
// patch files. A file holds one patch:
//
//	[patch]
//	name = "sub6"          # optional; default: the file name without .toml
//	out = "amp1"           # the module whose output is the voice
//	program = 80           # optional: the MIDI program (0..127) that selects it
//	one_shot = true        # optional: note-off is ignored; a note ends when its envelopes
//	                       # have decayed to 0 (each needs sustain = 0)
//	choke = 1              # optional: choke group 1..255 (0: none); a note silences the
//	                       # channel's notes of patches in the same group
//
//	[[module]]
//	id = "osc1"            # a letter, then letters, digits, _ or -; 1..16 bytes
//	kind = "osc"           # osc, noise, env, lfo, filter, amp, mix, shaper, input
//	wave = "saw"           # the kind's parameters; any left out take their defaults
//	detune = -8
//
//	[[route]]
//	from = "env1"          # a module
//	to = "amp1.gain"       # module.port: an audio input (in, in1..in4) or a parameter
//	amount = 0.35          # optional, default 1
//	op = "mul"             # optional, "add" (default) or "mul"; parameters only
//
//	[[fx]]                 # the effects chain, in file order (at most 4, one delay)
//	id = "echo"            # optional; default: the kind (ids share the modules' namespace)
//	kind = "delay"         # drive or delay
//	time = 0.3             # the kind's parameters; any left out take their defaults
//	feedback = 0.4
//
// Effects process the sum of the patch's voices before it joins the mix:
// drive (amount 1..100, tone 200..20000 Hz, mix 0..1, level 0..2) and
// delay (time 0.001..1 s, feedback 0..0.95, mix 0..1, tone 200..20000 Hz);
// a tone of 20000 (the default) leaves its low-pass out. They take no
// routes. See dsp/graph_fx.go for what they compute.
//
// The parameters of each kind, their defaults and ranges are those of
// dsp.ModuleKind.Param. Parse checks the whole graph (it compiles it), so
// a file that parses is a playable patch; every error names the file,
// line and column of the offending key: "sub6.toml:14:1: ...".
//
// The shipped example patches live in patches/ and are embedded (Shipped);
// the graph forms of the shipped presets (dsp/presets: every one but the
// drum kit) live in presets/, under the presets' names, and are embedded
// too.
//
// Kit files (ParseKit, EncodeKit; kit.go) map MIDI keys to graphs, most
// of them written once as templates that each sound adjusts with a set
// table. The drum kit's data form, kits/drums.toml, is embedded apart
// from the patches (Kits), so that a loader of Shipped's patch files
// never reads it as a patch.
package graphfile

import (
	"embed"
	"errors"
	"io/fs"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pelletier/go-toml/v2"

	"github.com/chronus-audio/chronus/dsp"
	"github.com/chronus-audio/chronus/mapping/tomlpos"
)

//go:embed patches/*.toml presets/*.toml
var shipped embed.FS

// Shipped returns the patches embedded in the binary: examples of what a
// graph can do in "patches/NAME.toml", and the graph forms of the shipped
// presets in "presets/NAME.toml", where NAME.toml sounds like the preset
// NAME of dsp/presets (presets_match_test.go says how closely). Names are
// unique across both folders.
func Shipped() fs.FS { return shipped }

// Error is a problem in a patch file, at the line and column of the
// offending key (or, for TOML syntax errors, character). Its text is
// "file:line:col: what is wrong".
type Error = tomlpos.Error

// parser holds the document being read.
type parser struct {
	file  string
	idx   tomlpos.Index
	nmods int // [[module]] tables; the [[fx]] modules follow them in the graph
	// base is the key path of the table holding the graph's module,
	// route and fx arrays: "" in a patch file, "sound.3" or
	// "template.0" in a kit file. Paths given to errAt, sortedKeys and
	// has are relative to it.
	base string
	kit  bool // a kit file: the graph's out, one_shot and choke sit beside its arrays, not in [patch]
}

// hdr returns the key path of a graph header key (out, one_shot, choke):
// in [patch] in a patch file, beside the arrays in a kit.
func (ps *parser) hdr(k string) string {
	if ps.kit {
		return k
	}
	return tomlpos.Join("patch", k)
}

func (ps *parser) errAt(path, msg string) *Error {
	p := ps.idx.Lookup(ps.path(path))
	return &Error{File: ps.file, Line: p.Line, Col: p.Col, Msg: msg}
}

// Patch is a patch file's contents: the graph and the [patch] settings
// that are not part of it.
type Patch struct {
	Graph dsp.Graph
	// Program is the MIDI program (0..127) that selects the patch on a
	// channel, or NoProgram.
	Program int
}

// NoProgram is Patch.Program when the file names no program.
const NoProgram = -1

// Parse reads one patch; name is the file name, used in errors and as the
// default patch name. The graph it returns compiles. Not for the audio
// thread.
func Parse(name string, src []byte) (dsp.Graph, error) {
	p, err := ParsePatch(name, src)
	return p.Graph, err
}

// ParsePatch is Parse that also returns the [patch] settings beyond the
// graph (the program). Not for the audio thread.
func ParsePatch(name string, src []byte) (Patch, error) {
	pt := Patch{Program: NoProgram}
	g, err := parse(name, src, &pt.Program)
	pt.Graph = g
	return pt, err
}

func parse(name string, src []byte, program *int) (dsp.Graph, error) {
	var g dsp.Graph
	var doc map[string]any
	if err := toml.Unmarshal(src, &doc); err != nil {
		return g, tomlError(name, err)
	}
	ps := &parser{file: name, idx: tomlpos.Build(src)}
	for _, k := range ps.sortedKeys("", doc) {
		if k != "patch" && k != "module" && k != "route" && k != "fx" {
			return g, ps.errAt(k, "unknown table "+strconv.Quote(k)+" (want patch, module, route or fx)")
		}
	}

	// [patch]
	pname := strings.TrimSuffix(path.Base(name), ".toml")
	out := ""
	if v, ok := doc["patch"]; ok {
		t, ok := v.(map[string]any)
		if !ok {
			return g, ps.errAt("patch", "patch must be a table")
		}
		for _, k := range ps.sortedKeys("patch", t) {
			switch k {
			case "program":
				n, ok := t[k].(int64)
				if !ok || n < 0 || n > 127 {
					return g, ps.errAt("patch.program", "patch.program must be a MIDI program number 0..127")
				}
				*program = int(n)
				continue
			case dsp.OptionOneShot:
				b, ok := t[k].(bool)
				if !ok {
					return g, ps.errAt("patch."+k, "patch.one_shot must be true or false")
				}
				g.OneShot = b
				continue
			case dsp.OptionChoke:
				n, ok := t[k].(int64)
				if !ok || n < 0 || n > 255 {
					return g, ps.errAt("patch."+k, "patch.choke must be a choke group 0..255 (0: none)")
				}
				g.Choke = uint8(n)
				continue
			}
			s, ok := t[k].(string)
			switch {
			case k != "name" && k != "out":
				return g, ps.errAt("patch."+k, "unknown key "+strconv.Quote(k)+" in [patch] (want name, out, program, one_shot or choke)")
			case !ok:
				return g, ps.errAt("patch."+k, "patch."+k+" must be a string")
			case k == "name":
				pname = s
			default:
				out = s
			}
		}
	}
	if len(pname) > len(g.Name) {
		return g, ps.errAt("patch.name", "the patch name is longer than "+strconv.Itoa(len(g.Name))+" bytes")
	}
	g.SetName(pname)
	return g, ps.body(&g, doc, out)
}

// body reads the graph's [[module]], [[fx]] and [[route]] arrays from
// doc into g, sets its output to out and compiles it. In a kit (ps.kit)
// effects are refused.
func (ps *parser) body(g *dsp.Graph, doc map[string]any, out string) error {
	mods, err := ps.tables(doc, "module")
	if err != nil {
		return err
	}
	if len(mods) > dsp.MaxModules {
		return ps.errAt("module."+strconv.Itoa(dsp.MaxModules), "more than "+strconv.Itoa(dsp.MaxModules)+" modules")
	}
	for i, m := range mods {
		if err := ps.module(g, i, m); err != nil {
			return err
		}
	}
	ps.nmods = len(mods)

	// [[fx]]
	fxs, err := ps.tables(doc, "fx")
	if err != nil {
		return err
	}
	if ps.kit && len(fxs) > 0 {
		return ps.errAt("fx", "kit sounds take no effects (the kit's sounds are mixed without an effects chain)")
	}
	switch {
	case len(fxs) > dsp.MaxFx:
		return ps.errAt("fx."+strconv.Itoa(dsp.MaxFx), "more than "+strconv.Itoa(dsp.MaxFx)+" effects")
	case len(mods)+len(fxs) > dsp.MaxModules:
		return ps.errAt("fx."+strconv.Itoa(dsp.MaxModules-len(mods)), "more than "+strconv.Itoa(dsp.MaxModules)+" modules and effects")
	}
	for i, t := range fxs {
		if err := ps.fx(g, i, t); err != nil {
			return err
		}
	}

	// [[route]]
	routes, err := ps.tables(doc, "route")
	if err != nil {
		return err
	}
	if len(routes) > dsp.MaxRoutes {
		return ps.errAt("route."+strconv.Itoa(dsp.MaxRoutes), "more than "+strconv.Itoa(dsp.MaxRoutes)+" routes")
	}
	for i, r := range routes {
		if err := ps.route(g, i, r); err != nil {
			return err
		}
	}

	if out == "" {
		if ps.kit {
			return ps.errAt("", "no output: set out = \"module\"")
		}
		return ps.errAt("patch", "no output: set out = \"module\" in [patch]")
	}
	if len(out) > len(g.Out) {
		return ps.errAt(ps.hdr("out"), "no module "+strconv.Quote(out))
	}
	copy(g.Out[:], out)

	// The graph as a whole: cycles, connections, types.
	var prog dsp.GraphProgram
	if err := dsp.Compile(g, &prog); err != nil {
		return ps.graphError(err)
	}
	return nil
}

// tables returns the array of tables doc[key] (none when absent).
func (ps *parser) tables(doc map[string]any, key string) ([]map[string]any, error) {
	v, ok := doc[key]
	if !ok {
		return nil, nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, ps.errAt(key, key+" must be an array of tables ([["+key+"]])")
	}
	out := make([]map[string]any, len(arr))
	for i, e := range arr {
		t, ok := e.(map[string]any)
		if !ok {
			return nil, ps.errAt(key+"."+strconv.Itoa(i), key+" "+strconv.Itoa(i)+" must be a table")
		}
		out[i] = t
	}
	return out, nil
}

// sortedKeys returns t's keys in file order.
func (ps *parser) sortedKeys(base string, t map[string]any) []string {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := ps.idx.Lookup(tomlpos.Join(ps.path(base), keys[i])), ps.idx.Lookup(tomlpos.Join(ps.path(base), keys[j]))
		if a != b {
			return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
		}
		return keys[i] < keys[j]
	})
	return keys
}

func (ps *parser) module(g *dsp.Graph, i int, t map[string]any) error {
	at := "module." + strconv.Itoa(i)
	id, ok := t["id"].(string)
	if !ok {
		return ps.errAt(at+".id", "module "+strconv.Itoa(i)+" needs id = \"name\"")
	}
	kind, ok := t["kind"].(string)
	if !ok {
		return ps.errAt(at+".kind", "module "+id+" needs kind = \"osc\" (or noise, env, lfo, filter, amp, mix, shaper, input)")
	}
	k, ok := dsp.ParseModuleKind(kind)
	if !ok {
		return ps.errAt(at+".kind", "module "+id+": unknown kind "+strconv.Quote(kind)+" (want osc, noise, env, lfo, filter, amp, mix, shaper or input)")
	}
	if k.Fx() {
		return ps.errAt(at+".kind", "module "+id+": "+kind+" is an effect: declare it in [[fx]]")
	}
	if err := g.AddModule(id, k); err != nil {
		return ps.errAt(at+".id", strings.TrimPrefix(err.Error(), "dsp: "))
	}
	return ps.params(&g.Modules[g.NModules-1], at, "module "+id, id, kind, t)
}

// fx reads [[fx]] table i into an effect module appended to g.
func (ps *parser) fx(g *dsp.Graph, i int, t map[string]any) error {
	at := "fx." + strconv.Itoa(i)
	kind, ok := t["kind"].(string)
	if !ok {
		return ps.errAt(at+".kind", "fx "+strconv.Itoa(i)+" needs kind = \"drive\" (or delay)")
	}
	k, ok := dsp.ParseModuleKind(kind)
	if !ok || !k.Fx() {
		return ps.errAt(at+".kind", "fx "+strconv.Itoa(i)+": unknown kind "+strconv.Quote(kind)+" (want drive or delay)")
	}
	id, idKey := kind, at+".kind"
	if v, ok := t["id"]; ok {
		if id, ok = v.(string); !ok {
			return ps.errAt(at+".id", "fx "+strconv.Itoa(i)+": id must be a string")
		}
		idKey = at + ".id"
	}
	if err := g.AddModule(id, k); err != nil {
		return ps.errAt(idKey, "fx "+strconv.Itoa(i)+": "+strings.TrimPrefix(err.Error(), "dsp: "))
	}
	return ps.params(&g.Modules[g.NModules-1], at, "fx "+id, id, kind, t)
}

// params sets m's parameters from table t (at its key path at; what
// names the table in errors), every key but id and kind.
func (ps *parser) params(m *dsp.Module, at, what, id, kind string, t map[string]any) error {
	k := m.Kind
	for _, key := range ps.sortedKeys(at, t) {
		if key == "id" || key == "kind" {
			continue
		}
		kp := at + "." + key
		j := k.ParamIndex(key)
		if j < 0 {
			return ps.errAt(kp, what+": "+kind+" has no parameter "+strconv.Quote(key)+" (want "+paramNames(k)+")")
		}
		x, err := ps.paramValue(k, j, t[key], kp, id+"."+key)
		if err != nil {
			return err
		}
		m.Param[j] = x
		m.Set |= 1 << uint(j)
	}
	return nil
}

// paramValue checks value v of parameter j of kind k, written at key
// path kp; name (module.param) names it in errors.
func (ps *parser) paramValue(k dsp.ModuleKind, j int, v any, kp, name string) (float64, error) {
	info := k.Param(j)
	var x float64
	switch v := v.(type) {
	case int64:
		x = float64(v)
	case float64:
		x = v
	case string:
		e := -1
		for n, en := range info.Enum {
			if en == v {
				e = n
			}
		}
		if e < 0 {
			if info.Enum == nil {
				return 0, ps.errAt(kp, name+" must be a number")
			}
			return 0, ps.errAt(kp, name+": unknown value "+strconv.Quote(v)+" (want "+strings.Join(info.Enum, ", ")+")")
		}
		x = float64(e)
	default:
		return 0, ps.errAt(kp, name+" must be a number or a name")
	}
	if info.Enum != nil {
		if _, isName := v.(string); !isName {
			return 0, ps.errAt(kp, name+" must be one of "+strings.Join(info.Enum, ", "))
		}
	}
	if !(x >= info.Min && x <= info.Max) {
		return 0, ps.errAt(kp, name+" = "+formatFloat(x)+" is out of range "+formatFloat(info.Min)+".."+formatFloat(info.Max))
	}
	return x, nil
}

func paramNames(k dsp.ModuleKind) string {
	names := make([]string, k.NumParams())
	for j := range names {
		names[j] = k.Param(j).Name
	}
	return strings.Join(names, ", ")
}

func (ps *parser) route(g *dsp.Graph, i int, t map[string]any) error {
	at := "route." + strconv.Itoa(i)
	var from, to string
	amount, op := 1.0, dsp.RouteAdd
	for _, key := range ps.sortedKeys(at, t) {
		kp := at + "." + key
		switch key {
		case "from", "to", "op":
			s, ok := t[key].(string)
			if !ok {
				return ps.errAt(kp, "route "+strconv.Itoa(i)+": "+key+" must be a string")
			}
			switch key {
			case "from":
				from = s
			case "to":
				to = s
			default:
				if op, ok = dsp.ParseRouteOp(s); !ok {
					return ps.errAt(kp, "route "+strconv.Itoa(i)+": unknown op "+strconv.Quote(s)+" (want add or mul)")
				}
			}
		case "amount":
			switch v := t[key].(type) {
			case int64:
				amount = float64(v)
			case float64:
				amount = v
			default:
				return ps.errAt(kp, "route "+strconv.Itoa(i)+": amount must be a number")
			}
		default:
			return ps.errAt(kp, "route "+strconv.Itoa(i)+": unknown key "+strconv.Quote(key)+" (want from, to, amount or op)")
		}
	}
	if from == "" {
		return ps.errAt(at+".from", "route "+strconv.Itoa(i)+" needs from = \"module\"")
	}
	if to == "" {
		return ps.errAt(at+".to", "route "+strconv.Itoa(i)+" needs to = \"module.port\"")
	}
	if fi := g.ModuleIndex(from); fi < 0 {
		return ps.errAt(at+".from", "route "+strconv.Itoa(i)+": unknown module "+strconv.Quote(from))
	} else if g.Modules[fi].Kind.Fx() {
		return ps.errAt(at+".from", "route "+strconv.Itoa(i)+": "+strconv.Quote(from)+" is an effect and takes no routes")
	}
	mod, port, ok := strings.Cut(to, ".")
	if !ok {
		return ps.errAt(at+".to", "route "+strconv.Itoa(i)+": to = "+strconv.Quote(to)+" is not module.port")
	}
	if ti := g.ModuleIndex(mod); ti < 0 {
		return ps.errAt(at+".to", "route "+strconv.Itoa(i)+": unknown module "+strconv.Quote(mod))
	} else if g.Modules[ti].Kind.Fx() {
		return ps.errAt(at+".to", "route "+strconv.Itoa(i)+": "+strconv.Quote(mod)+" is an effect and takes no routes")
	}
	if len(port) > 16 {
		return ps.errAt(at+".to", "route "+strconv.Itoa(i)+": unknown port "+strconv.Quote(port))
	}
	if err := g.Connect(from, to, amount, op); err != nil {
		return ps.errAt(at, strings.TrimPrefix(err.Error(), "dsp: "))
	}
	return nil
}

// has reports whether the key path (relative to base) is written.
func (ps *parser) has(path string) bool {
	_, ok := ps.idx[ps.path(path)]
	return ok
}

// path returns the full key path of path (relative to base).
func (ps *parser) path(path string) string {
	if path == "" {
		return ps.base
	}
	return tomlpos.Join(ps.base, path)
}

// graphError places a Compile error at the key it concerns.
func (ps *parser) graphError(err error) error {
	var ge *dsp.GraphError
	if !errors.As(err, &ge) {
		return &Error{File: ps.file, Msg: err.Error()}
	}
	msg := strings.TrimPrefix(ge.Error(), "dsp: ")
	key := ps.hdr("")
	switch {
	case ge.Route >= 0:
		key = "route." + strconv.Itoa(int(ge.Route))
		switch ge.Code {
		case dsp.ErrUnknownFrom, dsp.ErrAudioToParam, dsp.ErrControlToAudio:
			key += ".from"
		case dsp.ErrAmount:
			key += ".amount"
		case dsp.ErrBadOp:
			if ps.has(key + ".op") {
				key += ".op"
			} else {
				key += ".to"
			}
		default:
			key += ".to"
		}
	case ge.Code == dsp.ErrNoOut || ge.Code == dsp.ErrUnknownOut || ge.Code == dsp.ErrOutNotAudio || ge.Code == dsp.ErrFxOut:
		key = ps.hdr("out")
	case ge.Code == dsp.ErrOneShot:
		key = ps.hdr(dsp.OptionOneShot)
	case ge.Module >= 0:
		at := "module." + strconv.Itoa(int(ge.Module))
		if i := int(ge.Module) - ps.nmods; i >= 0 {
			at = "fx." + strconv.Itoa(i)
		}
		key = at + ".id"
		if !ps.has(key) {
			key = at + ".kind" // an [[fx]] named after its kind
		}
		if ge.Code == dsp.ErrParamRange {
			key = at + "." + strings.TrimRight(string(ge.Port[:]), "\x00")
		}
	}
	return ps.errAt(key, msg)
}

// Encode writes g as a patch file: [patch], then every voice module with
// the parameters it sets, every route, and every effect ([[fx]], in chain
// order). Parse(Encode(g)) gives g back for any graph that Parse could
// have produced (unset parameters zero, nothing past NModules and
// NRoutes, the effects after the voice modules). Not for the audio
// thread.
func Encode(g *dsp.Graph) []byte { return EncodePatch(&Patch{Graph: *g, Program: NoProgram}) }

// EncodePatch is Encode with the program line when p names one (0..127);
// ParsePatch(EncodePatch(p)) gives p back under Encode's conditions. Not
// for the audio thread.
func EncodePatch(p *Patch) []byte {
	g := &p.Graph
	var b strings.Builder
	b.WriteString("[patch]\nname = " + quote(g.NameString()) + "\nout = " + quote(g.OutString()) + "\n")
	if p.Program >= 0 && p.Program <= 127 {
		b.WriteString("program = " + strconv.Itoa(p.Program) + "\n")
	}
	if g.OneShot {
		b.WriteString("one_shot = true\n")
	}
	if g.Choke != 0 {
		b.WriteString("choke = " + strconv.Itoa(int(g.Choke)) + "\n")
	}
	writeModules(&b, g, "module", false)
	for i := 0; i < int(g.NRoutes) && i < dsp.MaxRoutes; i++ {
		r := &g.Routes[i]
		b.WriteString("\n[[route]]\nfrom = " + quote(pad(r.From[:])) + "\nto = " + quote(pad(r.To[:])+"."+pad(r.Port[:])) +
			"\namount = " + formatFloat(r.Amount) + "\n")
		if r.Op != dsp.RouteAdd {
			b.WriteString("op = " + quote(r.Op.String()) + "\n")
		}
	}
	writeModules(&b, g, "fx", true)
	return []byte(b.String())
}

// writeModules writes g's voice modules (fx false) or effects (fx true),
// in graph order, as [[table]] tables with the parameters they set.
func writeModules(b *strings.Builder, g *dsp.Graph, table string, fx bool) {
	for i := 0; i < int(g.NModules) && i < dsp.MaxModules; i++ {
		m := &g.Modules[i]
		if m.Kind.Fx() != fx {
			continue
		}
		b.WriteString("\n[[" + table + "]]\nid = " + quote(m.IDString()) + "\nkind = " + quote(m.Kind.String()) + "\n")
		for j := 0; j < m.Kind.NumParams(); j++ {
			if m.Set&(1<<uint(j)) == 0 {
				continue
			}
			info := m.Kind.Param(j)
			v := m.Param[j]
			b.WriteString(info.Name + " = ")
			if e := int(v); info.Enum != nil && float64(e) == v && e >= 0 && e < len(info.Enum) {
				b.WriteString(quote(info.Enum[e]))
			} else {
				b.WriteString(formatFloat(v))
			}
			b.WriteByte('\n')
		}
	}
}

func pad(b []byte) string {
	n := 0
	for n < len(b) && b[n] != 0 {
		n++
	}
	return string(b[:n])
}

// formatFloat writes a TOML number that reads back as exactly v.
func formatFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// quote writes a TOML basic string (invalid UTF-8 becomes U+FFFD).
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\u`)
			h := strconv.FormatInt(int64(r), 16)
			b.WriteString(strings.Repeat("0", 4-len(h)) + h)
		case r == utf8.RuneError:
			b.WriteString(`\ufffd`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// tomlError turns go-toml's decode error into an Error.
func tomlError(file string, err error) *Error { return tomlpos.DecodeError(file, err, false) }
