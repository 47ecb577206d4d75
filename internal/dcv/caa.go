package dcv

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// CAAError is why CheckCAA refused issuance for a name.
type CAAError struct {
	Name         string // the name checked
	RecordAt     string // the domain whose CAA RRset was relevant ("" for lookup failures)
	LookupFailed bool   // the DNS lookup failed (SERVFAIL, timeout...): issuance refused, retry later
	Reason       string // human readable, e.g. `CAA at example.com authorizes only "letsencrypt.org"`
}

func (e *CAAError) Error() string {
	return fmt.Sprintf("CAA check for %s: %s", e.Name, e.Reason)
}

// understoodTags are the property tags we know; an unknown tag with the critical flag
// forbids issuance (RFC 8659 section 4.1).
var understoodTags = map[string]bool{
	"issue": true, "issuewild": true, "iodef": true,
	"contactemail": true, "contactphone": true, "issuemail": true, "issuevmc": true,
}

const caaCritical = 128 // the issuer critical flag, the high bit of the flags octet

// CheckCAA applies RFC 8659 for one name about to be put in a certificate. name may be a
// wildcard "*.example.com": the lookup then starts at example.com and issuewild applies.
// It returns nil when issuance is permitted, otherwise a *CAAError.
func (c *Checker) CheckCAA(ctx context.Context, name string) error {
	orig := name
	n := normName(name)
	wildcard := strings.HasPrefix(n, "*.")
	n = strings.TrimPrefix(n, "*.")
	if _, ok := dns.IsDomainName(n); !ok || n == "" || strings.Contains(n, "*") {
		return &CAAError{Name: orig, Reason: fmt.Sprintf("invalid name %q", orig)}
	}
	labels := dns.SplitDomainName(n)
	// Climb from the name itself up to and including the TLD, never the root.
	for i := range labels {
		domain := strings.Join(labels[i:], ".")
		recs, at, err := c.caaSet(ctx, domain)
		if err != nil {
			return &CAAError{Name: orig, LookupFailed: true,
				Reason: fmt.Sprintf("CAA lookup at %s failed (retry later): %v", domain, err)}
		}
		if len(recs) == 0 {
			continue
		}
		return c.evalCAA(orig, at, recs, wildcard)
	}
	return nil
}

// caaSet returns the CAA RRset at domain, following CNAMEs (at most maxCNAMEHops), and the
// name where it was found ("domain" or "domain (via CNAME to target)").
func (c *Checker) caaSet(ctx context.Context, domain string) ([]*dns.CAA, string, error) {
	a, err := c.lookup(ctx, domain, dns.TypeCAA)
	if err != nil {
		return nil, "", err
	}
	var recs []*dns.CAA
	for _, rr := range a.rrs {
		if caa, ok := rr.(*dns.CAA); ok {
			recs = append(recs, caa)
		}
	}
	at := domain
	if len(recs) > 0 && len(a.cnames) > 0 {
		at = normName(recs[0].Hdr.Name)
	}
	return recs, at, nil
}

// evalCAA decides on the relevant (non-empty) RRset found at "at".
func (c *Checker) evalCAA(name, at string, recs []*dns.CAA, wildcard bool) error {
	var issue, issuewild []*dns.CAA
	for _, r := range recs {
		tag := strings.ToLower(r.Tag)
		if r.Flag&caaCritical != 0 && !understoodTags[tag] {
			return &CAAError{Name: name, RecordAt: at,
				Reason: fmt.Sprintf("CAA at %s has a critical property %q this CA does not understand", at, r.Tag)}
		}
		switch tag {
		case "issue":
			issue = append(issue, r)
		case "issuewild":
			issuewild = append(issuewild, r)
		}
	}
	props, tag := issue, "issue"
	if wildcard && len(issuewild) > 0 {
		props, tag = issuewild, "issuewild"
	}
	if len(props) == 0 {
		// The set restricts nothing relevant (e.g. iodef only).
		return nil
	}
	var named []string
	seen := map[string]bool{}
	for _, p := range props {
		issuer, params := parseIssueValue(p.Value)
		if issuer != "" && c.identities[issuer] {
			if _, bound := params["accounturi"]; !bound {
				return nil
			}
			// Bound to an ACME account we cannot have: the record does not match us.
		}
		if issuer != "" && !seen[issuer] {
			seen[issuer] = true
			named = append(named, strconv.Quote(issuer))
		}
	}
	reason := fmt.Sprintf("CAA at %s forbids all issuance (%s)", at, tag)
	if len(named) > 0 {
		reason = fmt.Sprintf("CAA at %s authorizes only %s (%s)", at, strings.Join(named, ", "), tag)
	}
	return &CAAError{Name: name, RecordAt: at, Reason: reason}
}

// parseIssueValue splits an issue/issuewild value, `issuer-domain-name [; key=value ...]`
// with whitespace tolerated, into the lower-cased issuer ("" when empty or malformed, which
// authorizes nobody) and its parameters keyed by lower-cased name.
func parseIssueValue(v string) (string, map[string]string) {
	issuer, rest, _ := strings.Cut(v, ";")
	issuer = normName(issuer)
	if issuer != "" && !validIssuerDomain(issuer) {
		issuer = ""
	}
	params := map[string]string{}
	for _, p := range strings.Split(rest, ";") {
		k, val, _ := strings.Cut(p, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if k != "" {
			params[k] = strings.TrimSpace(val)
		}
	}
	return issuer, params
}

// validIssuerDomain reports whether s is LDH labels separated by dots, the only syntax
// RFC 8659 allows for an issuer-domain-name.
func validIssuerDomain(s string) bool {
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}
