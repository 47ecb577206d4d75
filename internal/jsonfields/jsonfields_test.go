package jsonfields

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"
)

type Inner struct {
	A string `json:"a"`
	B int
}

type inner struct {
	C string `json:"c"`
}

type Label string

type myInt int

type plain struct {
	ID     int       `json:"id"`
	Name   string    `json:"name,omitempty"`
	Skip   string    `json:"-"`
	Dash   string    `json:"-,"`
	hidden string    // left out: unexported
	Bare   int       // the Go name
	Count  int       `json:"count,string"`
	Odd    string    `json:"x'y"` // not a name encoding/json takes: the Go name
	When   time.Time `json:"when,omitzero"`
	Slice  []int     `json:"slice,string"` // string is for scalars only
}

type embedsValue struct {
	Inner
	Z int `json:"z"`
}

type embedsPointer struct {
	*Inner
	Z int `json:"z"`
}

type embedsUnexported struct {
	inner
	*Inner
}

type embedsTagged struct {
	Inner `json:"inner"`
}

type embedsNonStruct struct {
	Label
	myInt
	X int `json:"x"`
}

type Deep struct {
	X int `json:"x"`
	Y int
}

type shallowWins struct {
	Deep
	X string `json:"x"` // shallower than Deep.X
	Y string // untagged, still shallower
}

type TaggedN struct {
	N int `json:"N"`
}

type UntaggedN struct {
	N int
}

type taggedWins struct {
	UntaggedN
	TaggedN
}

type V1 struct {
	V int `json:"v"`
}

type V2 struct {
	V int `json:"v"`
	W int `json:"w"`
}

type U1 struct{ U int }

type U2 struct{ U int }

type untaggedDropped struct {
	U1
	U2
}

type Common struct {
	K int `json:"k"`
}

type P1 struct{ Common }

type P2 struct {
	Common
	Q int `json:"q"`
}

// embed points to a value of a struct type that embeds the values' types, set
// to them. (A struct type declared in the source with two fields of one
// json name at one depth fails go vet, although encoding/json has a rule
// for it.)
func embed(vals ...any) any {
	var fields []reflect.StructField
	for _, v := range vals {
		t := reflect.TypeOf(v)
		fields = append(fields, reflect.StructField{Name: t.Name(), Type: t, Anonymous: true})
	}
	s := reflect.New(reflect.StructOf(fields))
	for i, v := range vals {
		s.Elem().Field(i).Set(reflect.ValueOf(v))
	}
	return s.Interface()
}

// deeperTwice embeds Common twice, but also at a shallower level once.
type deeperTwice struct {
	Common
	P1
}

type Rec struct {
	*Rec
	R int `json:"r"`
}

type folds struct {
	AB int `json:"ab"`
	Ab int `json:"Ab"`
}

// TestOf: the members are what encoding/json writes, in its order, with
// their tag's options and the struct that declares each.
func TestOf(t *testing.T) {
	tests := []struct {
		name string
		v    any // every field set, so that json.Marshal writes every member (or a pointer to it)
		want []Field
	}{
		{"tags, dash, unexported, options", plain{ID: 1, Name: "n", Skip: "s", Dash: "d", hidden: "h", Bare: 2, Count: 3, Odd: "o", When: time.Unix(1, 0), Slice: []int{1}}, []Field{
			{Name: "id", Tagged: true, Index: []int{0}},
			{Name: "name", Tagged: true, Index: []int{1}, OmitEmpty: true},
			{Name: "-", Tagged: true, Index: []int{3}},
			{Name: "Bare", Index: []int{5}},
			{Name: "count", Tagged: true, Index: []int{6}, Quoted: true},
			{Name: "Odd", Index: []int{7}},
			{Name: "when", Tagged: true, Index: []int{8}, OmitZero: true},
			{Name: "slice", Tagged: true, Index: []int{9}},
		}},
		{"embedded value", embedsValue{Inner: Inner{A: "a", B: 1}, Z: 2}, []Field{
			{Name: "a", Tagged: true, Index: []int{0, 0}},
			{Name: "B", Index: []int{0, 1}},
			{Name: "z", Tagged: true, Index: []int{1}},
		}},
		{"embedded pointer", embedsPointer{Inner: &Inner{A: "a", B: 1}, Z: 2}, []Field{
			{Name: "a", Tagged: true, Index: []int{0, 0}},
			{Name: "B", Index: []int{0, 1}},
			{Name: "z", Tagged: true, Index: []int{1}},
		}},
		{"embedded unexported struct", embedsUnexported{inner: inner{C: "c"}, Inner: &Inner{A: "a", B: 1}}, []Field{
			{Name: "c", Tagged: true, Index: []int{0, 0}},
			{Name: "a", Tagged: true, Index: []int{1, 0}},
			{Name: "B", Index: []int{1, 1}},
		}},
		{"tagged embedded struct is a member", embedsTagged{Inner{A: "a", B: 1}}, []Field{
			{Name: "inner", Tagged: true, Index: []int{0}},
		}},
		{"embedded non-struct: exported kept, unexported left out", embedsNonStruct{Label: "l", myInt: 1, X: 2}, []Field{
			{Name: "Label", Index: []int{0}},
			{Name: "x", Tagged: true, Index: []int{2}},
		}},
		{"the shallower field wins", shallowWins{Deep: Deep{X: 1, Y: 2}, X: "x", Y: "y"}, []Field{
			{Name: "x", Tagged: true, Index: []int{1}},
			{Name: "Y", Index: []int{2}},
		}},
		{"at equal depth the tagged field wins", taggedWins{UntaggedN{1}, TaggedN{2}}, []Field{
			{Name: "N", Tagged: true, Index: []int{1, 0}},
		}},
		{"two tagged at equal depth: both dropped", embed(V1{1}, V2{2, 3}), []Field{
			{Name: "w", Tagged: true, Index: []int{1, 1}},
		}},
		{"two untagged at equal depth: both dropped", untaggedDropped{U1{1}, U2{2}}, nil},
		{"one struct embedded twice at one depth: its fields dropped", embed(P1{Common{1}}, P2{Common{2}, 3}), []Field{
			{Name: "q", Tagged: true, Index: []int{1, 1}},
		}},
		{"one struct embedded twice, once shallower: that one", deeperTwice{Common{1}, P1{Common{2}}}, []Field{
			{Name: "k", Tagged: true, Index: []int{0, 0}},
		}},
		{"recursive embedding", Rec{R: 1}, []Field{
			{Name: "r", Tagged: true, Index: []int{1}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ := reflect.Indirect(reflect.ValueOf(tt.v)).Type()
			got := Of(typ).List
			// Type and Owner follow from Index: fill them in for the
			// comparison.
			for i := range tt.want {
				f := &tt.want[i]
				owner := typ
				for _, x := range f.Index[:len(f.Index)-1] {
					owner = owner.Field(x).Type
					if owner.Kind() == reflect.Pointer {
						owner = owner.Elem()
					}
				}
				f.Owner, f.Type = owner, owner.Field(f.Index[len(f.Index)-1]).Type
			}
			if !reflect.DeepEqual(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Errorf("Of =\n%+v\nwant\n%+v", got, tt.want)
			}
			var names []string
			for _, f := range got {
				names = append(names, f.Name)
			}
			if keys := marshalledKeys(t, tt.v); !slices.Equal(names, keys) {
				t.Errorf("names %q, encoding/json writes %q", names, keys)
			}
		})
	}
}

// marshalledKeys are the members of v's JSON object, in order.
func marshalledKeys(t *testing.T, v any) []string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// TestLookup: a member goes into the field encoding/json's decoder puts
// it in: the exact name, else the first name equal but for case.
func TestLookup(t *testing.T) {
	tests := []struct {
		name, member, value string
		v                   any    // a pointer to decode into
		want                string // the field's Go name, "" for none
	}{
		{"exact", "ab", "7", &folds{}, "AB"},
		{"exact, the other", "Ab", "7", &folds{}, "Ab"},
		{"folded: the first", "AB", "7", &folds{}, "AB"},
		{"folded, promoted", "A", `"s"`, &embedsValue{}, "A"},
		{"unknown", "nope", "7", &folds{}, ""},
		{"dropped as ambiguous", "v", "7", embed(V1{}, V2{}), ""},
		{"dash member", "-", `"s"`, &plain{}, "Dash"},
		{"left out by dash", "Skip", `"s"`, &plain{}, ""},
		{"unicode folding (K and the Kelvin sign)", "\u212a", "7", &deeperTwice{}, "K"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ := reflect.TypeOf(tt.v).Elem()
			f, ok := Of(typ).Lookup(tt.member)
			got := ""
			if ok {
				got = typ.FieldByIndex(f.Index).Name
			}
			if got != tt.want {
				t.Errorf("Lookup(%q) = %q, want %q", tt.member, got, tt.want)
			}
			// The decoder agrees: it sets the field looked up, and no
			// other.
			body := `{` + string(mustMarshal(t, tt.member)) + `:` + tt.value + `}`
			if err := json.Unmarshal([]byte(body), tt.v); err != nil {
				t.Fatal(err)
			}
			set := setFields(reflect.ValueOf(tt.v).Elem())
			if tt.want == "" && len(set) > 0 || tt.want != "" && !slices.Equal(set, []string{tt.want}) {
				t.Errorf("decoding %s sets %q, want %q", body, set, tt.want)
			}
		})
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// setFields are the Go names of the non-zero leaf fields of v.
func setFields(v reflect.Value) []string {
	var out []string
	for i := range v.NumField() {
		f := v.Field(i)
		if v.Type().Field(i).Anonymous && f.Kind() == reflect.Struct {
			out = append(out, setFields(f)...)
		} else if !f.IsZero() {
			out = append(out, v.Type().Field(i).Name)
		}
	}
	return out
}

// TestOfCaches: one type, one list.
func TestOfCaches(t *testing.T) {
	if Of(reflect.TypeFor[plain]()) != Of(reflect.TypeFor[plain]()) {
		t.Error("Of built the list twice")
	}
}
