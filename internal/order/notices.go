package order

import (
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/store"
)

// noticesOff reads the send_minus_* and send_plus_7 switches of an order:
// each notice is on unless its field is false (CertCentral's default), and
// a value that is not a boolean is invalid_value:<field>.
func noticesOff(in *CreateInput, list *errs.List) []string {
	var off []string
	for _, f := range []struct {
		notice string
		v      flex.Bool
	}{
		{store.NoticeMinus90, in.SendMinus90}, {store.NoticeMinus60, in.SendMinus60}, {store.NoticeMinus30, in.SendMinus30},
		{store.NoticeMinus7, in.SendMinus7}, {store.NoticeMinus3, in.SendMinus3}, {store.NoticePlus7, in.SendPlus7},
	} {
		switch {
		case f.v.Bad:
			list.Add(errs.InvalidValue(store.NoticeFields[f.notice], "%s must be true or false.", store.NoticeFields[f.notice]))
		case f.v.Set && !f.v.V:
			off = append(off, f.notice)
		}
	}
	return off
}
