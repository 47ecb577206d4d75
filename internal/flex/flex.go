// Package flex holds JSON scalar types that accept what real CertCentral
// clients send: integers as numbers or numeric strings ("123456"), booleans
// as true/false, "true"/"false", 0/1, and null or "" for "not given". A value
// of the wrong shape never fails decoding; it is marked Bad so that the
// rules can answer invalid_value:<field> with the field's name.
package flex

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// Int is an optional integer.
type Int struct {
	V   int64
	Set bool // a value was given
	Bad bool // something was given that is not an integer
}

// UnmarshalJSON accepts 12, "12", null and "".
func (i *Int) UnmarshalJSON(b []byte) error {
	*i = Int{}
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			i.Bad = true
			return nil
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return nil
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// 2.0 is an integer too, as some JSON encoders write it.
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != float64(int64(f)) {
			i.Set, i.Bad = true, true
			return nil
		}
		v = int64(f)
	}
	i.V, i.Set = v, true
	return nil
}

// MarshalJSON writes the number, or null when unset.
func (i Int) MarshalJSON() ([]byte, error) {
	if !i.Set {
		return []byte("null"), nil
	}
	return []byte(strconv.FormatInt(i.V, 10)), nil
}

// NewInt is a set Int.
func NewInt(v int64) Int { return Int{V: v, Set: true} }

// Bool is an optional boolean.
type Bool struct {
	V   bool
	Set bool
	Bad bool
}

// UnmarshalJSON accepts true, false, "true", "false", 1, 0, "1", "0", null, "".
func (x *Bool) UnmarshalJSON(b []byte) error {
	*x = Bool{}
	s := strings.Trim(strings.ToLower(string(bytes.TrimSpace(b))), `"`)
	switch s {
	case "null", "":
		return nil
	case "true", "1":
		x.V, x.Set = true, true
	case "false", "0":
		x.Set = true
	default:
		x.Set, x.Bad = true, true
	}
	return nil
}

// MarshalJSON writes the boolean.
func (x Bool) MarshalJSON() ([]byte, error) { return json.Marshal(x.V) }

// NewBool is a set Bool.
func NewBool(v bool) Bool { return Bool{V: v, Set: true} }

// String accepts a JSON string, or a number or boolean written as one
// (custom field values arrive either way); null is "".
type String struct {
	V   string
	Bad bool
}

// UnmarshalJSON accepts strings, numbers, booleans and null.
func (x *String) UnmarshalJSON(b []byte) error {
	*x = String{}
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
	case len(b) > 0 && b[0] == '"':
		if err := json.Unmarshal(b, &x.V); err != nil {
			x.Bad = true
		}
	case len(b) > 0 && (b[0] == '{' || b[0] == '['):
		x.Bad = true
	default:
		x.V = string(b)
	}
	return nil
}

// MarshalJSON writes the string.
func (x String) MarshalJSON() ([]byte, error) { return json.Marshal(x.V) }

// IDInput is {"id": ...}, the way CertCentral bodies name an object by id;
// the id may arrive as a number or numeric string.
type IDInput struct {
	ID Int `json:"id"`
}
