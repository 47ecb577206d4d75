package errs

import (
	"errors"
	"testing"
)

// TestList: validation failures are answered together; a check that could
// not be made is answered instead of them, with its cause intact.
func TestList(t *testing.T) {
	down := errors.New("store down")
	cases := []struct {
		name   string
		add    []error
		kind   Kind
		codes  []string
		causes error // errors.Is(Err(), causes) when set
	}{
		{"nothing", []error{nil}, -1, nil, nil},
		{"failures together", []error{InvalidValue("a", ""), nil, MissingField("b")}, Invalid, []string{"invalid_value:a", "missing_field:b"}, nil},
		{"a store failure wins", []error{InvalidValue("a", ""), Internalf(down, "read organization")}, Internal, []string{"internal_error"}, down},
		{"the first failure wins", []error{Wrap(down, Unavailable, "email_unavailable", "x"), Internalf(errors.New("other"), "y")}, Unavailable, []string{"email_unavailable"}, down},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var l List
			for _, err := range tc.add {
				l.Add(err)
			}
			err := l.Err()
			if tc.kind == -1 {
				if err != nil {
					t.Fatalf("Err() = %v, want nil", err)
				}
				return
			}
			e := As(err)
			if e.Kind != tc.kind {
				t.Errorf("kind %d, want %d", e.Kind, tc.kind)
			}
			var codes []string
			for _, d := range e.Details {
				codes = append(codes, d.Code)
			}
			if len(codes) != len(tc.codes) {
				t.Fatalf("codes %v, want %v", codes, tc.codes)
			}
			for i := range codes {
				if codes[i] != tc.codes[i] {
					t.Errorf("codes %v, want %v", codes, tc.codes)
				}
			}
			if tc.causes != nil && !errors.Is(err, tc.causes) {
				t.Errorf("%v does not keep its cause", err)
			}
		})
	}
}
