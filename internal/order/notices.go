package order

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/store"
)

// Notices lists the renewal notices in the order of their days.
var Notices = []string{store.NoticeMinus90, store.NoticeMinus60, store.NoticeMinus30, store.NoticeMinus7, store.NoticeMinus3, store.NoticePlus7}

// noticesOff reads the send_minus_* and send_plus_7 switches of an order:
// a field sent true or false decides its notice; a field not sent takes
// the default in def (the notices turned off by the nearest account or
// container default, NoticeDefaults), else it is on (CertCentral's
// default). A value that is not a boolean is invalid_value:<field>.
func noticesOff(in *CreateInput, def []string, list *errs.List) []string {
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
		case f.v.Set && !f.v.V, !f.v.Set && slices.Contains(def, f.notice):
			off = append(off, f.notice)
		}
	}
	return off
}

// noticeDefaultsKey is the setting holding an account's defaults of the
// send_* switches: one JSON document (NoticeDefaultsDoc) per account, so
// that placing an order reads one setting.
func noticeDefaultsKey(accountID int64) string {
	return "renewal_notice_defaults:" + strconv.FormatInt(accountID, 10)
}

// NoticeDefaultsDoc is an account's defaults of the send_* switches: the
// notices each turns off. Account nil means no account default (every
// notice on); a container without an entry takes its parent's, up to the
// account's.
type NoticeDefaultsDoc struct {
	Account    []string            `json:"account"`
	Containers map[string][]string `json:"containers,omitempty"`
}

// readNoticeDefaults reads the account's document; an account that never
// set one has an empty one.
func readNoticeDefaults(ctx context.Context, r store.Reader, accountID int64) (NoticeDefaultsDoc, string, error) {
	var d NoticeDefaultsDoc
	raw, err := r.Setting(ctx, noticeDefaultsKey(accountID))
	if errors.Is(err, store.ErrNotFound) {
		return d, "", nil
	}
	if err != nil {
		return d, "", err
	}
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		return d, "", fmt.Errorf("setting %s: %w", noticeDefaultsKey(accountID), err)
	}
	return d, raw, nil
}

// NoticeDefaults are the notices an order placed in containerID has off by
// default: the nearest container's default walking up from containerID,
// else the account's; from names where it came from ("container:N",
// "account", or "" when nothing is set). The walk reads every container of
// the account, whoever places the order (a division's user may not see
// its parent, whose default still applies).
func (s *Service) NoticeDefaults(ctx context.Context, accountID, containerID int64) (off []string, from string, err error) {
	d, _, err := readNoticeDefaults(ctx, s.Store, accountID)
	if err != nil {
		return nil, "", err
	}
	if len(d.Containers) > 0 && containerID != 0 {
		all, err := s.Store.Containers(account.Unscoped(ctx), accountID)
		if err != nil {
			return nil, "", err
		}
		parent := map[int64]int64{}
		for _, c := range all {
			parent[c.ID] = c.ParentID
		}
		seen := map[int64]bool{}
		for id := containerID; id != 0 && !seen[id]; id = parent[id] {
			seen[id] = true
			if v, ok := d.Containers[strconv.FormatInt(id, 10)]; ok {
				return v, fmt.Sprintf("container:%d", id), nil
			}
		}
	}
	if d.Account != nil {
		return d.Account, "account", nil
	}
	return nil, "", nil
}

// ParseNotices reads a list of notices as the command line names them:
// minus_90 ... plus_7 or the order fields send_minus_90 ... send_plus_7,
// comma separated, in any order; "" and "none" are the empty list.
func ParseNotices(s string) ([]string, error) {
	var out []string
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "none") {
		return []string{}, nil
	}
	for _, p := range strings.Split(s, ",") {
		n := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(p)), "send_")
		if !slices.Contains(Notices, n) {
			return nil, fmt.Errorf("%q is not a renewal notice (minus_90, minus_60, minus_30, minus_7, minus_3, plus_7)", p)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return slices.Index(Notices, a) - slices.Index(Notices, b) })
	return out, nil
}

// SetNoticeDefaults sets the notices that orders placed in containerID (0:
// the account) have off unless their send_* fields say otherwise; inherit
// removes a container's own default, so that it takes its parent's. It
// changes no order placed before: each order keeps the switches it was
// placed with, as order info shows them.
func (s *Service) SetNoticeDefaults(ctx context.Context, actor account.Actor, containerID int64, off []string, inherit bool) error {
	if actor.User != nil && actor.User.AccessRole != store.RoleAdministrator {
		return errs.New(errs.Forbidden, "access_denied|missing_permission", "Only administrators set the account's defaults.")
	}
	for _, n := range off {
		if !slices.Contains(Notices, n) {
			return errs.InvalidValue("notices", "%q is not a renewal notice.", n)
		}
	}
	if inherit && containerID == 0 {
		return errs.InvalidValue("container", "Only a container inherits its default; the account's is its own.")
	}
	acct := actor.Account.ID
	if containerID != 0 {
		if _, err := s.Store.Container(account.Unscoped(ctx), acct, containerID); errors.Is(err, store.ErrNotFound) {
			return errs.InvalidValue("container", "Container %d was not found in this account.", containerID)
		} else if err != nil {
			return errs.Internalf(err, "read container")
		}
	}
	if off == nil {
		off = []string{}
	}
	// Compare-and-set on the account's document: of two processes
	// changing it at once, neither loses the other's change.
	for range 10 {
		done := false
		err := s.Store.InTx(ctx, func(tx store.Tx) error {
			d, old, err := readNoticeDefaults(ctx, tx, acct)
			if err != nil {
				return err
			}
			object := "account:" + strconv.FormatInt(acct, 10)
			switch {
			case containerID == 0:
				d.Account = off
			case inherit:
				delete(d.Containers, strconv.FormatInt(containerID, 10))
				object = "container:" + strconv.FormatInt(containerID, 10)
			default:
				if d.Containers == nil {
					d.Containers = map[string][]string{}
				}
				d.Containers[strconv.FormatInt(containerID, 10)] = off
				object = "container:" + strconv.FormatInt(containerID, 10)
			}
			b, err := json.Marshal(d)
			if err != nil {
				return err
			}
			if old == "" {
				if err := tx.PutSettingIfAbsent(ctx, noticeDefaultsKey(acct), string(b)); err != nil {
					return err
				}
				cur, err := tx.Setting(ctx, noticeDefaultsKey(acct))
				if err != nil {
					return err
				}
				done = cur == string(b)
			} else if done, err = tx.ReplaceSetting(ctx, noticeDefaultsKey(acct), old, string(b)); err != nil {
				return err
			}
			if !done {
				return nil
			}
			detail := map[string]any{"notices_off": off}
			if inherit {
				detail = map[string]any{"inherit": true}
			}
			return s.audit(ctx, tx, actor, "renewal_notice_defaults.set", object, detail)
		})
		if err != nil {
			return apiErr(err, "set renewal notice defaults")
		}
		if done {
			return nil
		}
	}
	return errs.New(errs.Conflict, "conflict", "The defaults kept changing; try again.")
}
