package dcv

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"sort"
	"strings"

	"github.com/miekg/dns"
)

// baseDomain strips a wildcard label: DNS methods validate the domain below it.
func baseDomain(domain string) string {
	return strings.TrimPrefix(strings.TrimSpace(domain), "*.")
}

// CheckTXT looks for a TXT record whose value (its character-strings concatenated, spaces
// trimmed) equals token, at domain or at _dnsauth.<domain>. Any one matching record among
// several is enough. A value merely containing the token does not count.
func (c *Checker) CheckTXT(ctx context.Context, domain, token string) (Result, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return Result{}, errEmptyToken
	}
	d, err := checkDomain(baseDomain(domain))
	if err != nil {
		return Result{}, err
	}
	names := []string{d, "_dnsauth." + d}
	var seen []string
	var errs []error
	for _, name := range names {
		a, err := c.lookup(ctx, name, dns.TypeTXT)
		if err != nil {
			// Keep looking: a match at the other name is still conclusive.
			errs = append(errs, err)
			continue
		}
		for _, rr := range a.rrs {
			if strings.TrimSpace(txtValue(rr)) == token {
				return Result{Found: true, Where: name}, nil
			}
		}
		if len(a.rrs) > 0 {
			seen = append(seen, fmt.Sprintf("%s: %s with other values", name, plural(len(a.rrs), "TXT record", "TXT records")))
		} else {
			seen = append(seen, name+": "+a.describe())
		}
	}
	if len(errs) > 0 {
		return Result{}, fmt.Errorf("dcv: TXT check for %s: %w", d, errors.Join(errs...))
	}
	return Result{Detail: fmt.Sprintf("no TXT record at %s or %s holds the random value (%s)",
		names[0], names[1], strings.Join(seen, "; "))}, nil
}

// CheckCNAME looks for either DigiCert's form, a CNAME at _<token>.<domain> pointing to
// CNAMETarget, or a CNAME at _dnsauth.<domain> pointing to <token>.<CNAMETarget>. Names are
// compared case-insensitively without the trailing dot. CNAME is queried directly, so a
// recursive resolver returns the record itself rather than chasing it.
func (c *Checker) CheckCNAME(ctx context.Context, domain, token string) (Result, error) {
	token = normName(token)
	if token == "" {
		return Result{}, errEmptyToken
	}
	d, err := checkDomain(baseDomain(domain))
	if err != nil {
		return Result{}, err
	}
	target := normName(c.cfg.CNAMETarget)
	type form struct{ name, want string }
	var forms []form
	// A token that is not a valid DNS label cannot appear as one; only the second form
	// (token inside the target) can then match, and it too needs a valid label.
	tokenIsLabel := len(token) <= 62 && !strings.ContainsAny(token, ". ")
	if tokenIsLabel {
		if _, ok := dns.IsDomainName("_" + token + "." + d); ok {
			forms = append(forms,
				form{"_" + token + "." + d, target},
				form{"_dnsauth." + d, token + "." + target})
		}
	}
	if len(forms) == 0 {
		return Result{Detail: fmt.Sprintf("the random value %q cannot be used in a DNS name", token)}, nil
	}
	var seen []string
	var errs []error
	for _, f := range forms {
		a, err := c.lookup(ctx, f.name, dns.TypeCNAME)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var targets []string
		for _, rr := range a.rrs {
			cn := rr.(*dns.CNAME)
			if !strings.EqualFold(normName(cn.Hdr.Name), f.name) {
				continue
			}
			got := normName(cn.Target)
			if got == f.want {
				return Result{Found: true, Where: f.name}, nil
			}
			targets = append(targets, got)
		}
		if len(targets) > 0 {
			seen = append(seen, fmt.Sprintf("%s: CNAME to %s", f.name, strings.Join(targets, ", ")))
		} else {
			seen = append(seen, f.name+": "+a.describe())
		}
	}
	if len(errs) > 0 {
		return Result{}, fmt.Errorf("dcv: CNAME check for %s: %w", d, errors.Join(errs...))
	}
	return Result{Detail: fmt.Sprintf("no CNAME at %s to %s or at %s to %s (%s)",
		forms[0].name, forms[0].want, forms[1].name, forms[1].want, strings.Join(seen, "; "))}, nil
}

// ContactEmails returns the addresses published in TXT records at
// _validation-contactemail.<domain> (Baseline Requirements 3.2.2.4.14, appendix A.2.1):
// each TXT value that is a bare, syntactically valid e-mail address, lower-cased,
// de-duplicated and sorted. NXDOMAIN or no records give an empty slice and nil error.
func (c *Checker) ContactEmails(ctx context.Context, domain string) ([]string, error) {
	d, err := checkDomain(baseDomain(domain))
	if err != nil {
		return nil, err
	}
	name := "_validation-contactemail." + d
	a, err := c.lookup(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, fmt.Errorf("dcv: contact e-mail lookup for %s: %w", d, err)
	}
	set := map[string]bool{}
	for _, rr := range a.rrs {
		v := strings.TrimSpace(txtValue(rr))
		addr, err := mail.ParseAddress(v)
		// Only a bare address counts: "Name <a@b>" or "<a@b>" are not what A.2.1 specifies,
		// and a display name could smuggle text into e-mail headers.
		if err != nil || addr.Name != "" || addr.Address != v || strings.ContainsAny(v, "\r\n") {
			continue
		}
		set[strings.ToLower(v)] = true
	}
	out := make([]string, 0, len(set))
	for e := range set {
		out = append(out, e)
	}
	sort.Strings(out)
	return out, nil
}
