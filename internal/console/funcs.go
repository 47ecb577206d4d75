package console

import (
	"html/template"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/account"
)

// funcs are the console templates' formatting helpers. None returns
// markup: every value they make is escaped like any other.
var funcs = template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"day": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.UTC().Format("2006-01-02")
	},
	"human": func(s string) string { return strings.ReplaceAll(s, "_", " ") },
	"role":  func(r int) string { return account.RoleNames[r] },
	"keyRole": func(r int) string {
		for name, id := range account.KeyRoleNames {
			if id == r {
				return strings.ReplaceAll(name, "_", " ")
			}
		}
		return strconv.Itoa(r)
	},
	"join":     strings.Join,
	"field":    func(fields map[string]string, name string) string { return fields[name] },
	"value":    func(form url.Values, name string) string { return form.Get(name) },
	"selected": func(form url.Values, name, v string) bool { return form.Get(name) == v },
	// checked: a box of a group of checkboxes is ticked when the form as
	// sent ticked it, or, on a form not sent yet, when it is a default.
	"checked": func(form url.Values, name, v string, dflt bool) bool {
		if form == nil {
			return dflt
		}
		return slices.Contains(form[name], v)
	},
	"list": func(v ...string) []string { return v },
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
}
