// Package jsonfields lists the members encoding/json writes and reads for
// a struct type, by encoding/json's own rules: exported fields under their
// json tag's name (or their Go name), "-" left out, embedded structs
// (value or pointer, exported or not) promoted, and a name claimed by
// several fields resolved as encoding/json resolves it. The OpenAPI
// document and the conformance recorder both describe certorder's JSON
// through it, so neither can drift from what the server really sends and
// reads.
package jsonfields

import (
	"cmp"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Field is one member of a struct's JSON object.
type Field struct {
	// Name is the member's name; Tagged, that the json tag gave it.
	Name   string
	Tagged bool
	// Index leads from the struct to the field (reflect's FieldByIndex,
	// through embedded pointers).
	Index []int
	// Type is the field's declared Go type.
	Type reflect.Type
	// Owner is the struct type that declares the field: the outer type,
	// or for a promoted field the embedded struct's.
	Owner reflect.Type
	// The tag's options: omitempty, omitzero, and string (Quoted, only
	// where encoding/json honours it: a bool, number or string).
	OmitEmpty, OmitZero, Quoted bool
}

// Fields are a struct type's members.
type Fields struct {
	// List is in the order encoding/json writes the members (the Go
	// fields' order, embedded ones in place).
	List   []Field
	exact  map[string]int
	folded map[string]int
}

// Lookup is the field a decoder puts the member name into: the field of
// that exact name, else the first (in List's order) whose name differs
// only in case.
func (fs *Fields) Lookup(name string) (Field, bool) {
	i, ok := fs.exact[name]
	if !ok {
		i, ok = fs.folded[fold(name)]
	}
	if !ok {
		return Field{}, false
	}
	return fs.List[i], true
}

var cache sync.Map // reflect.Type → *Fields

// Of lists the members of t, a struct type. The result is shared by
// every caller and must not be modified.
func Of(t reflect.Type) *Fields {
	if fs, ok := cache.Load(t); ok {
		return fs.(*Fields)
	}
	list := resolve(scan(t))
	fs := &Fields{List: list, exact: make(map[string]int, len(list)), folded: make(map[string]int, len(list))}
	for i, f := range list {
		fs.exact[f.Name] = i
		if k := fold(f.Name); !hasKey(fs.folded, k) {
			fs.folded[k] = i
		}
	}
	v, _ := cache.LoadOrStore(t, fs)
	return v.(*Fields)
}

func hasKey(m map[string]int, k string) bool {
	_, ok := m[k]
	return ok
}

// scan collects every candidate field, breadth first: the outer struct's
// own fields, then those of the structs it embeds, and so on. A struct
// type is scanned only at the shallowest depth it is embedded at (which
// also ends recursive embedding), and one embedded more than once at
// that depth yields each of its fields twice, so that resolve drops them
// as ambiguous.
func scan(t reflect.Type) []Field {
	type embedded struct {
		typ   reflect.Type
		index []int
	}
	var fields []Field
	next := []embedded{{typ: t}}
	var count, nextCount map[reflect.Type]int
	visited := map[reflect.Type]bool{}
	for len(next) > 0 {
		current := next
		next = nil
		count, nextCount = nextCount, map[reflect.Type]int{}
		for _, e := range current {
			if visited[e.typ] {
				continue
			}
			visited[e.typ] = true
			for i := range e.typ.NumField() {
				sf := e.typ.Field(i)
				if sf.Anonymous {
					et := sf.Type
					if et.Kind() == reflect.Pointer {
						et = et.Elem()
					}
					// An embedded struct of an unexported type may
					// still have exported fields; any other unexported
					// embedded type is left out.
					if !sf.IsExported() && et.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if !validName(name) {
					name = ""
				}
				index := append(slices.Clip(e.index), i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name == "" && sf.Anonymous && ft.Kind() == reflect.Struct {
					// An untagged embedded struct: its fields are
					// promoted, a level deeper.
					nextCount[ft]++
					if nextCount[ft] == 1 {
						next = append(next, embedded{typ: ft, index: index})
					}
					continue
				}
				f := Field{Name: name, Tagged: name != "", Index: index, Type: sf.Type, Owner: e.typ,
					OmitEmpty: hasOpt(opts, "omitempty"), OmitZero: hasOpt(opts, "omitzero"),
					Quoted: hasOpt(opts, "string") && quotable(ft.Kind())}
				if f.Name == "" {
					f.Name = sf.Name
				}
				fields = append(fields, f)
				if count[e.typ] > 1 {
					fields = append(fields, f) // ambiguous: embedded twice at this depth
				}
			}
		}
	}
	return fields
}

// resolve keeps, of the fields claiming one name, the one that dominates:
// the shallowest, and at equal depth the tagged one; two at the same
// depth with nothing between them (both tagged or neither) are both
// dropped. The survivors are in the Go fields' order.
func resolve(fields []Field) []Field {
	slices.SortFunc(fields, func(a, b Field) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		if c := cmp.Compare(len(a.Index), len(b.Index)); c != 0 {
			return c
		}
		if a.Tagged != b.Tagged {
			if a.Tagged {
				return -1
			}
			return 1
		}
		return slices.Compare(a.Index, b.Index)
	})
	out := fields[:0]
	for i := 0; i < len(fields); {
		j := i + 1
		for j < len(fields) && fields[j].Name == fields[i].Name {
			j++
		}
		if j == i+1 || len(fields[i].Index) < len(fields[i+1].Index) || fields[i].Tagged != fields[i+1].Tagged {
			out = append(out, fields[i])
		}
		i = j
	}
	slices.SortFunc(out, func(a, b Field) int { return slices.Compare(a.Index, b.Index) })
	return slices.Clip(out)
}

func hasOpt(opts, want string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == want {
			return true
		}
	}
	return false
}

func quotable(k reflect.Kind) bool {
	switch k {
	case reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64,
		reflect.String:
		return true
	}
	return false
}

// validName: a tag's name is used only if made of letters, digits and
// the punctuation encoding/json allows; otherwise the Go name is.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c) && !unicode.IsLetter(c) && !unicode.IsDigit(c) {
			return false
		}
	}
	return true
}

// fold maps the names that encoding/json's decoder takes as one (ASCII
// letters in either case, Unicode simple case folding) to one key.
func fold(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
			continue
		}
		// The smallest rune of r's fold set.
		for {
			r2 := unicode.SimpleFold(r)
			if r2 <= r {
				r = r2
				break
			}
			r = r2
		}
		b.WriteRune(r)
	}
	return b.String()
}
