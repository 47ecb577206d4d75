package account

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/store"
)

// ---- visibility of containers (divisions)

// Scope is what a caller who is not an administrator may see: the orders,
// requests, certificates and containers of Containers (their own container
// and its descendants) and, for a limited user, only the orders they placed
// themselves (UserID). No scope in a context means everything of the
// account.
type Scope struct {
	Containers []int64
	UserID     int64
}

type scopeKey struct{}

// WithScope returns ctx carrying sc; the scoped store hides what sc does
// not cover.
func WithScope(ctx context.Context, sc Scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, sc)
}

// ScopeFrom returns the scope of ctx, if any.
func ScopeFrom(ctx context.Context) (Scope, bool) {
	sc, ok := ctx.Value(scopeKey{}).(Scope)
	return sc, ok
}

func (sc Scope) seesContainer(id int64) bool { return slices.Contains(sc.Containers, id) }

func (sc Scope) seesOrder(o *store.Order) bool {
	return sc.seesContainer(o.ContainerID) && (sc.UserID == 0 || o.UserID == sc.UserID)
}

// Subtree is root and every container below it, root first.
func Subtree(all []store.Container, root int64) []int64 {
	children := map[int64][]int64{}
	for _, c := range all {
		if c.ID != c.ParentID {
			children[c.ParentID] = append(children[c.ParentID], c.ID)
		}
	}
	out := []int64{root}
	seen := map[int64]bool{root: true}
	for i := 0; i < len(out); i++ {
		for _, k := range children[out[i]] {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	return out
}

// ScopeFor is the scope of an actor: none for administrators; their
// container's subtree for everyone else; limited users additionally see
// only their own orders (spec §1.2).
func ScopeFor(ctx context.Context, r store.Reader, a Actor) (Scope, bool, error) {
	if a.User == nil || a.User.AccessRole == store.RoleAdministrator {
		return Scope{}, false, nil
	}
	all, err := r.Containers(withoutScope(ctx), a.Account.ID)
	if err != nil {
		return Scope{}, false, err
	}
	sc := Scope{Containers: Subtree(all, a.User.ContainerID)}
	if a.User.AccessRole == store.RoleLimitedUser {
		sc.UserID = a.User.ID
	}
	return sc, true, nil
}

// Unscoped drops the caller's scope for work that belongs to the whole
// account whoever triggers it (issuing every waiting order once a domain
// or organization is validated).
func Unscoped(ctx context.Context) context.Context { return withoutScope(ctx) }

// withoutScope drops a scope a context may already carry.
func withoutScope(ctx context.Context) context.Context {
	if _, ok := ScopeFrom(ctx); !ok {
		return ctx
	}
	return context.WithValue(ctx, scopeKey{}, nil)
}

// ScopedStore wraps a store so that every read of orders, requests,
// certificates and containers honours the scope of the context it is
// given: an order outside the caller's containers is store.ErrNotFound,
// exactly like an order of another account, and lists leave it out. The
// API and the order engine read through it, so no handler can forget the
// check. Writes are not filtered: every write first reads its object.
func ScopedStore(st store.Store) store.Store {
	if _, ok := st.(*scopedStore); ok {
		return st
	}
	return &scopedStore{Store: st}
}

type scopedStore struct{ store.Store }

func (s *scopedStore) InTx(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error { return fn(&scopedTx{Tx: tx}) })
}

type scopedTx struct{ store.Tx }

// The same overrides for the store and for its transactions.

func (s *scopedStore) Container(ctx context.Context, acct, id int64) (*store.Container, error) {
	return scopedContainer(ctx, s.Store, acct, id)
}
func (s *scopedTx) Container(ctx context.Context, acct, id int64) (*store.Container, error) {
	return scopedContainer(ctx, s.Tx, acct, id)
}
func (s *scopedStore) Containers(ctx context.Context, acct int64) ([]store.Container, error) {
	return scopedContainers(ctx, s.Store, acct)
}
func (s *scopedTx) Containers(ctx context.Context, acct int64) ([]store.Container, error) {
	return scopedContainers(ctx, s.Tx, acct)
}
func (s *scopedStore) Order(ctx context.Context, acct, id int64) (*store.Order, error) {
	return scopedOrder(ctx)(s.Store.Order(ctx, acct, id))
}
func (s *scopedTx) Order(ctx context.Context, acct, id int64) (*store.Order, error) {
	return scopedOrder(ctx)(s.Tx.Order(ctx, acct, id))
}
func (s *scopedStore) OrderByCertificate(ctx context.Context, acct int64, serial, thumb string) (*store.Order, error) {
	return scopedOrder(ctx)(s.Store.OrderByCertificate(ctx, acct, serial, thumb))
}
func (s *scopedTx) OrderByCertificate(ctx context.Context, acct int64, serial, thumb string) (*store.Order, error) {
	return scopedOrder(ctx)(s.Tx.OrderByCertificate(ctx, acct, serial, thumb))
}
func (s *scopedStore) Orders(ctx context.Context, acct int64, f store.OrderFilter, p store.Page) ([]store.Order, int, error) {
	scopeOrderFilter(ctx, &f)
	return s.Store.Orders(ctx, acct, f, p)
}
func (s *scopedTx) Orders(ctx context.Context, acct int64, f store.OrderFilter, p store.Page) ([]store.Order, int, error) {
	scopeOrderFilter(ctx, &f)
	return s.Tx.Orders(ctx, acct, f, p)
}
func (s *scopedStore) Request(ctx context.Context, acct, id int64) (*store.Request, error) {
	return scopedRequest(ctx, s.Store, acct, id)
}
func (s *scopedTx) Request(ctx context.Context, acct, id int64) (*store.Request, error) {
	return scopedRequest(ctx, s.Tx, acct, id)
}
func (s *scopedStore) Requests(ctx context.Context, acct int64, f store.RequestFilter, p store.Page) ([]store.Request, int, error) {
	scopeRequestFilter(ctx, &f)
	return s.Store.Requests(ctx, acct, f, p)
}
func (s *scopedTx) Requests(ctx context.Context, acct int64, f store.RequestFilter, p store.Page) ([]store.Request, int, error) {
	scopeRequestFilter(ctx, &f)
	return s.Tx.Requests(ctx, acct, f, p)
}
func (s *scopedStore) Certificate(ctx context.Context, acct, id int64) (*store.Certificate, error) {
	return scopedCert(ctx, s.Store)(s.Store.Certificate(ctx, acct, id))
}
func (s *scopedTx) Certificate(ctx context.Context, acct, id int64) (*store.Certificate, error) {
	return scopedCert(ctx, s.Tx)(s.Tx.Certificate(ctx, acct, id))
}
func (s *scopedStore) CertificateBySerial(ctx context.Context, acct int64, serial string) (*store.Certificate, error) {
	return scopedCert(ctx, s.Store)(s.Store.CertificateBySerial(ctx, acct, serial))
}
func (s *scopedTx) CertificateBySerial(ctx context.Context, acct int64, serial string) (*store.Certificate, error) {
	return scopedCert(ctx, s.Tx)(s.Tx.CertificateBySerial(ctx, acct, serial))
}

func (s *scopedStore) StatusChanges(ctx context.Context, acct int64, from, to time.Time) ([]store.OrderStatusChange, error) {
	return scopedChanges(ctx, s.Store, acct)(s.Store.StatusChanges(ctx, acct, from, to))
}
func (s *scopedTx) StatusChanges(ctx context.Context, acct int64, from, to time.Time) ([]store.OrderStatusChange, error) {
	return scopedChanges(ctx, s.Tx, acct)(s.Tx.StatusChanges(ctx, acct, from, to))
}

// scopedChanges keeps the status changes of the orders the scope sees.
func scopedChanges(ctx context.Context, r store.Reader, acct int64) func([]store.OrderStatusChange, error) ([]store.OrderStatusChange, error) {
	return func(cs []store.OrderStatusChange, err error) ([]store.OrderStatusChange, error) {
		sc, ok := ScopeFrom(ctx)
		if err != nil || !ok {
			return cs, err
		}
		out := []store.OrderStatusChange{}
		for _, c := range cs {
			o, err := r.Order(ctx, acct, c.OrderID)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if sc.seesOrder(o) {
				out = append(out, c)
			}
		}
		return out, nil
	}
}

func scopedContainer(ctx context.Context, r store.Reader, acct, id int64) (*store.Container, error) {
	c, err := r.Container(ctx, acct, id)
	if err != nil {
		return nil, err
	}
	if sc, ok := ScopeFrom(ctx); ok && !sc.seesContainer(c.ID) {
		return nil, store.ErrNotFound
	}
	return c, nil
}

func scopedContainers(ctx context.Context, r store.Reader, acct int64) ([]store.Container, error) {
	cs, err := r.Containers(ctx, acct)
	sc, ok := ScopeFrom(ctx)
	if err != nil || !ok {
		return cs, err
	}
	out := []store.Container{}
	for _, c := range cs {
		if sc.seesContainer(c.ID) {
			out = append(out, c)
		}
	}
	return out, nil
}

func scopedOrder(ctx context.Context) func(*store.Order, error) (*store.Order, error) {
	return func(o *store.Order, err error) (*store.Order, error) {
		if err != nil {
			return nil, err
		}
		if sc, ok := ScopeFrom(ctx); ok && !sc.seesOrder(o) {
			return nil, store.ErrNotFound
		}
		return o, nil
	}
}

func scopedRequest(ctx context.Context, r store.Reader, acct, id int64) (*store.Request, error) {
	rq, err := r.Request(ctx, acct, id)
	if err != nil {
		return nil, err
	}
	if _, ok := ScopeFrom(ctx); ok {
		if _, err := scopedOrder(ctx)(r.Order(ctx, acct, rq.OrderID)); err != nil {
			return nil, err
		}
	}
	return rq, nil
}

func scopedCert(ctx context.Context, r store.Reader) func(*store.Certificate, error) (*store.Certificate, error) {
	return func(c *store.Certificate, err error) (*store.Certificate, error) {
		if err != nil {
			return nil, err
		}
		if _, ok := ScopeFrom(ctx); ok {
			if _, err := scopedOrder(ctx)(r.Order(ctx, c.AccountID, c.OrderID)); err != nil {
				return nil, err
			}
		}
		return c, nil
	}
}

func scopeOrderFilter(ctx context.Context, f *store.OrderFilter) {
	if sc, ok := ScopeFrom(ctx); ok {
		f.ScopeContainerIDs = append([]int64{}, sc.Containers...)
		f.ScopeUserID = sc.UserID
	}
}

func scopeRequestFilter(ctx context.Context, f *store.RequestFilter) {
	if sc, ok := ScopeFrom(ctx); ok {
		f.ScopeContainerIDs = append([]int64{}, sc.Containers...)
		f.ScopeUserID = sc.UserID
	}
}

// Authorize is the check every authenticated request passes before its
// handler runs, whatever it came through (an API key, a console session):
// the permission table for the area and method, then the caller's
// container scope put in the returned context, so that every read below
// it sees only what the caller may see.
func Authorize(ctx context.Context, r store.Reader, a Actor, ar Area, read bool) (context.Context, error) {
	if err := Allowed(a, ar, read); err != nil {
		return ctx, err
	}
	sc, ok, err := ScopeFor(ctx, r, a)
	if err != nil {
		return ctx, errs.Internalf(err, "scope of user %d", a.User.ID)
	}
	if ok {
		ctx = WithScope(ctx, sc)
	}
	return ctx, nil
}
