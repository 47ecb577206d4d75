package order

import (
	"errors"
	"slices"
	"testing"

	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/flex"
)

// TestNoticesOff: a send_* field sent decides its notice; one not sent
// takes the default; a value that is not a boolean is refused.
func TestNoticesOff(t *testing.T) {
	t.Parallel()
	on, off, bad := flex.NewBool(true), flex.NewBool(false), flex.Bool{Set: true, Bad: true}
	for _, tc := range []struct {
		name string
		in   CreateInput
		def  []string
		want []string
		code string
	}{
		{name: "nothing sent, no default"},
		{name: "sent false", in: CreateInput{SendMinus90: off, SendPlus7: off}, want: []string{"minus_90", "plus_7"}},
		{name: "default off", def: []string{"minus_60", "minus_3"}, want: []string{"minus_60", "minus_3"}},
		{name: "sent true beats the default", in: CreateInput{SendMinus60: on}, def: []string{"minus_60", "minus_3"}, want: []string{"minus_3"}},
		{name: "sent false beside the default", in: CreateInput{SendMinus7: off}, def: []string{"minus_3"}, want: []string{"minus_7", "minus_3"}},
		{name: "every field true against a default of all", in: CreateInput{SendMinus90: on, SendMinus60: on, SendMinus30: on, SendMinus7: on, SendMinus3: on, SendPlus7: on},
			def: Notices},
		{name: "not a boolean", in: CreateInput{SendMinus30: bad}, def: []string{"minus_30"}, code: "invalid_value:send_minus_30"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var list errs.List
			got := noticesOff(&tc.in, tc.def, &list)
			if !slices.Equal(got, tc.want) {
				t.Errorf("off = %v, want %v", got, tc.want)
			}
			err := list.Err()
			var e *errs.Error
			switch {
			case tc.code == "" && err != nil:
				t.Errorf("error %v", err)
			case tc.code != "" && (!errors.As(err, &e) || len(e.Details) != 1 || e.Details[0].Code != tc.code):
				t.Errorf("error %v, want %s", err, tc.code)
			}
		})
	}
}

// TestParseNotices: the command line's lists of notices.
func TestParseNotices(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want []string
		bad  bool
	}{
		{in: "", want: []string{}},
		{in: "none", want: []string{}},
		{in: "plus_7, send_minus_90,MINUS_3,minus_90", want: []string{"minus_90", "minus_3", "plus_7"}},
		{in: "minus_1", bad: true},
		{in: "minus_90,,", bad: true},
	} {
		got, err := ParseNotices(tc.in)
		if (err != nil) != tc.bad || !tc.bad && !slices.Equal(got, tc.want) {
			t.Errorf("ParseNotices(%q) = %v, %v", tc.in, got, err)
		}
	}
}
