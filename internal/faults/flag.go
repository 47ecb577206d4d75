package faults

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// ParseFlag reads one --sandbox-fault value: a rule as the API takes it,
// in JSON. Unlike the API, it refuses fields it does not know: a typo in
// a start-up flag would otherwise leave a rule that silently matches more
// than meant.
func ParseFlag(v string) (Spec, error) {
	var sp Spec
	dec := json.NewDecoder(bytes.NewReader([]byte(v)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sp); err != nil {
		return Spec{}, fmt.Errorf("a rule is a JSON object such as {\"route\":\"POST /order/certificate/{product}\",\"fault\":\"error\",\"status\":503}: %w", err)
	}
	if dec.More() {
		return Spec{}, fmt.Errorf("one JSON object per --sandbox-fault")
	}
	if _, err := compile(sp, zeroTime); err != nil {
		return Spec{}, err
	}
	return sp, nil
}
