package config

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// decoder turns a YAML node tree into Go values strictly: unknown keys,
// duplicate keys, wrong types and bad values are errors that carry the
// file, the line and the path of the offending value. It knows the few
// kinds the config uses (structs with `yaml` tags, slices, maps of strings,
// strings, bools, ints, durations and text-unmarshalers).
type decoder struct {
	file  string
	errs  []error
	lines map[string]int // path of every decoded value -> its line
}

// lineOf returns the line of path, or of its nearest decoded parent.
func (d *decoder) lineOf(path string) int {
	for path != "" {
		if l, ok := d.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 1
}

// fieldError is one problem found in the file.
type fieldError struct {
	File string
	Line int
	Path string
	Msg  string
}

func (e *fieldError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Path, e.Msg)
}

func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errs = append(d.errs, &fieldError{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) err() error { return errors.Join(d.errs...) }

var (
	durationType  = reflect.TypeOf(Duration(0))
	stdDuration   = reflect.TypeOf(time.Duration(0))
	textUnmarshal = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
	nodeDecoder   = reflect.TypeOf((*nodeUnmarshaler)(nil)).Elem()
)

// nodeUnmarshaler is implemented by config types that accept more than one
// YAML shape (a string or a mapping, say).
type nodeUnmarshaler interface {
	decodeNode(d *decoder, n *yaml.Node, path string)
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if d.lines == nil {
		d.lines = map[string]int{}
	}
	d.lines[path] = n.Line
	if v.Kind() != reflect.Pointer && v.CanAddr() && v.Addr().Type().Implements(nodeDecoder) {
		v.Addr().Interface().(nodeUnmarshaler).decodeNode(d, n, path)
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		v.Set(reflect.Zero(v.Type()))
		return
	}
	switch {
	case v.Type() == durationType || v.Type() == stdDuration:
		d.decodeDuration(n, v, path)
		return
	case v.Kind() != reflect.Pointer && v.CanAddr() && v.Addr().Type().Implements(textUnmarshal):
		if !d.scalar(n, path) {
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			d.fail(n, path, "%v", err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		nv := reflect.New(v.Type().Elem())
		d.decode(n, nv.Elem(), path)
		v.Set(nv)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, path, "want a list, got %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.fail(n, path, "want a mapping, got %s", kindName(n))
			return
		}
		m := reflect.MakeMap(v.Type())
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			ev := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, ev, path+"."+k.Value)
			m.SetMapIndex(reflect.ValueOf(k.Value), ev)
		}
		v.Set(m)
	case reflect.String:
		if d.scalar(n, path) {
			v.SetString(n.Value)
		}
	case reflect.Bool:
		if !d.scalar(n, path) {
			return
		}
		b, err := strconv.ParseBool(n.Value)
		if err != nil || n.Tag != "!!bool" {
			d.fail(n, path, "want true or false, got %q", n.Value)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		if !d.scalar(n, path) {
			return
		}
		i, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil {
			d.fail(n, path, "want a whole number, got %q", n.Value)
			return
		}
		v.SetInt(i)
	default:
		d.fail(n, path, "unsupported config type %s", v.Type())
	}
}

func (d *decoder) scalar(n *yaml.Node, path string) bool {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "want a single value, got %s", kindName(n))
		return false
	}
	return true
}

func (d *decoder) decodeDuration(n *yaml.Node, v reflect.Value, path string) {
	if !d.scalar(n, path) {
		return
	}
	dur, err := time.ParseDuration(n.Value)
	if err != nil {
		d.fail(n, path, "want a duration such as 90s, 30m or 4h, got %q", n.Value)
		return
	}
	if dur < time.Second {
		d.fail(n, path, "duration %s is shorter than 1s", n.Value)
		return
	}
	v.SetInt(int64(dur))
}

// keyLister is implemented by config types whose unknown-key error lists
// the known keys in an order of their own.
type keyLister interface {
	knownKeys() []string
}

// structFields maps the `yaml` keys of struct type t to the index paths
// of their fields, in field order. A field tagged `yaml:",inline"` (an
// embedded struct) contributes its own keys as if they were t's.
func structFields(t reflect.Type, prefix []int, fields map[string][]int, names []string) []string {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		idx := append(slices.Clone(prefix), i)
		if name == "" && opts == "inline" && f.Type.Kind() == reflect.Struct {
			names = structFields(f.Type, idx, fields, names)
			continue
		}
		if name == "" || name == "-" {
			continue
		}
		fields[name] = idx
		names = append(names, name)
	}
	return names
}

// decodeStruct fills a struct from a mapping. Fields are matched by their
// `yaml` tag; a field tagged `yaml:"-"` named Line receives the line of the
// mapping.
func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "want a mapping, got %s", kindName(n))
		return
	}
	t := v.Type()
	fields := map[string][]int{}
	names := structFields(t, nil, fields, nil)
	if v.CanAddr() {
		if k, ok := v.Addr().Interface().(keyLister); ok {
			names = k.knownKeys()
		}
	}
	if f, ok := t.FieldByName("Line"); ok && f.Type.Kind() == reflect.Int {
		v.FieldByIndex(f.Index).SetInt(int64(n.Line))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p := k.Value
		if path != "" {
			p = path + "." + k.Value
		}
		idx, ok := fields[k.Value]
		if !ok {
			d.fail(k, p, "unknown key (known keys here: %s)", strings.Join(names, ", "))
			continue
		}
		if seen[k.Value] {
			d.fail(k, p, "key given twice")
			continue
		}
		seen[k.Value] = true
		d.decode(val, v.FieldByIndex(idx), p)
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}
