package console

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/store"
)

// Containers (CertCentral's divisions), read only: the tree the viewer
// may see, as GET /container and GET /container/{id} show it. The scoped
// store leaves out every container outside the viewer's own subtree (all
// of them are an administrator's).

// containerNode is a container in the tree, with its visible children.
type containerNode struct {
	ID          int64
	Name        string
	Description string
	Active      bool
	Children    []*containerNode
}

// containerTree arranges the containers cs into trees: a container whose
// parent is not among them (the top one, or the top of a viewer's
// subtree) is a root. Children are sorted by name.
func containerTree(cs []store.Container) []*containerNode {
	nodes := map[int64]*containerNode{}
	for _, c := range cs {
		nodes[c.ID] = &containerNode{ID: c.ID, Name: c.Name, Description: c.Description, Active: c.IsActive}
	}
	var roots []*containerNode
	for _, c := range cs {
		n := nodes[c.ID]
		if p, ok := nodes[c.ParentID]; ok && c.ParentID != c.ID {
			p.Children = append(p.Children, n)
		} else {
			roots = append(roots, n)
		}
	}
	byName := func(a, b *containerNode) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	}
	for _, n := range nodes {
		slices.SortFunc(n.Children, byName)
	}
	slices.SortFunc(roots, byName)
	return roots
}

func (s *Server) containers(w http.ResponseWriter, r *http.Request, v *visit) error {
	cs, err := s.Store.Containers(r.Context(), v.Actor.Account.ID)
	if err != nil {
		return errs.Internalf(err, "list containers")
	}
	s.render(w, r, v, http.StatusOK, "containers", containerTree(cs))
	return nil
}

type containerData struct {
	Container *store.Container
	// Parent is the parent when the viewer sees it.
	Parent   *store.Container
	Children []*containerNode
	// Users are its users, for those who may read users; Orders links to
	// its orders for those who may read orders.
	Users     []option
	ShowUsers bool
	Orders    string
}

func (s *Server) containerPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	id, err := pathID(r, "id", "container")
	if err != nil {
		return err
	}
	ctx := r.Context()
	acct := v.Actor.Account.ID
	c, err := s.Store.Container(ctx, acct, id)
	if err != nil {
		return notFound(err, "container", id)
	}
	d := &containerData{Container: c}
	if c.ParentID != 0 && c.ParentID != c.ID {
		if p, err := s.Store.Container(ctx, acct, c.ParentID); err == nil {
			d.Parent = p
		}
	}
	cs, err := s.Store.Containers(ctx, acct)
	if err != nil {
		return errs.Internalf(err, "list containers")
	}
	var under []store.Container
	sub := account.Subtree(cs, c.ID)
	for _, x := range cs {
		if x.ID != c.ID && slices.Contains(sub, x.ID) {
			under = append(under, x)
		}
	}
	d.Children = containerTree(under)
	if allowed(v, account.AreaUsers, true) {
		d.ShowUsers = true
		users, _, err := s.Accounts.Users(ctx, v.Actor, store.UserFilter{ContainerID: c.ID}, store.Page{Limit: 500})
		if err != nil {
			return err
		}
		for _, u := range users {
			if u.Status != store.UserDeleted {
				d.Users = append(d.Users, option{strconv.FormatInt(u.ID, 10), u.FirstName + " " + u.LastName + " (" + u.Username + ")"})
			}
		}
	}
	if allowed(v, account.AreaOrders, true) {
		d.Orders = "/console/orders?filters%5Bcontainer_id%5D=" + strconv.FormatInt(c.ID, 10)
	}
	s.render(w, r, v, http.StatusOK, "container", d)
	return nil
}
