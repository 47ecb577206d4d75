package dcv

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/certorder/certorder/internal/dcv/dcvtest"
)

func issue(v string) dcvtest.CAA     { return dcvtest.CAA{Tag: "issue", Value: v} }
func issuewild(v string) dcvtest.CAA { return dcvtest.CAA{Tag: "issuewild", Value: v} }

func TestCheckCAA(t *testing.T) {
	tests := []struct {
		name  string
		setup func(d *dcvtest.DNS)
		check string
		// want: "" permitted; otherwise the Reason must contain it.
		want         string
		recordAt     string
		lookupFailed bool
		// queries are the expected numbers of CAA queries per name.
		queries map[string]int
	}{
		{name: "no records anywhere", setup: func(d *dcvtest.DNS) {}, check: "www.example.com",
			queries: map[string]int{"www.example.com": 1, "example.com": 1, "com": 1, ".": 0}},
		{name: "issue for us", setup: func(d *dcvtest.DNS) { d.SetCAA("example.com", issue("certorder")) }, check: "example.com"},
		{name: "issue for another CA", setup: func(d *dcvtest.DNS) { d.SetCAA("example.com", issue("letsencrypt.org")) },
			check: "example.com", want: `CAA at example.com authorizes only "letsencrypt.org"`, recordAt: "example.com"},
		{name: "one of several issue records for us", setup: func(d *dcvtest.DNS) {
			d.SetCAA("example.com", issue("letsencrypt.org"), issue("certorder"), issue("digicert.com"))
		}, check: "example.com"},
		{name: "issue ;", setup: func(d *dcvtest.DNS) { d.SetCAA("example.com", issue(";")) },
			check: "example.com", want: "forbids all issuance", recordAt: "example.com"},
		{name: "issue empty value", setup: func(d *dcvtest.DNS) { d.SetCAA("example.com", issue("")) },
			check: "example.com", want: "forbids all issuance", recordAt: "example.com"},
		{name: "climb to parent", setup: func(d *dcvtest.DNS) { d.SetCAA("example.com", issue("letsencrypt.org")) },
			check: "a.b.example.com", want: "letsencrypt.org", recordAt: "example.com",
			queries: map[string]int{"a.b.example.com": 1, "b.example.com": 1, "example.com": 1, "com": 0}},
		{name: "climb past empty non-terminal", setup: func(d *dcvtest.DNS) {
			d.SetA("a.b.example.com", "192.0.2.1")
			d.SetCAA("example.com", issue("certorder"))
		}, check: "a.b.example.com", queries: map[string]int{"a.b.example.com": 1, "b.example.com": 1, "example.com": 1, "com": 0}},
		{name: "child set wins over parent", setup: func(d *dcvtest.DNS) {
			d.SetCAA("www.example.com", issue("certorder"))
			d.SetCAA("example.com", issue("letsencrypt.org"))
		}, check: "www.example.com", queries: map[string]int{"www.example.com": 1, "example.com": 0}},
		{name: "climb up to the TLD", setup: func(d *dcvtest.DNS) { d.SetCAA("com", issue("letsencrypt.org")) },
			check: "www.example.com", want: "letsencrypt.org", recordAt: "com"},
		{name: "issuewild for wildcard", setup: func(d *dcvtest.DNS) {
			d.SetCAA("example.com", issue("letsencrypt.org"), issuewild("certorder"))
		}, check: "*.example.com"},
		{name: "issuewild ignored for non-wildcard", setup: func(d *dcvtest.DNS) {
			d.SetCAA("example.com", issue("letsencrypt.org"), issuewild("certorder"))
		}, check: "example.com", want: `authorizes only "letsencrypt.org" (issue)`, recordAt: "example.com"},
		{name: "issuewild for other CA overrides issue for wildcard", setup: func(d *dcvtest.DNS) {
			d.SetCAA("example.com", issue("certorder"), issuewild("letsencrypt.org"))
		}, check: "*.example.com", want: `authorizes only "letsencrypt.org" (issuewild)`, recordAt: "example.com"},
		{name: "issuewild ; forbids wildcards only", setup: func(d *dcvtest.DNS) {
			d.SetCAA("example.com", issue("certorder"), issuewild(";"))
		}, check: "*.example.com", want: "forbids all issuance", recordAt: "example.com"},
		{name: "wildcard with only issue records for us", setup: func(d *dcvtest.DNS) {
			d.SetCAA("example.com", issue("certorder"))
		}, check: "*.example.com", queries: map[string]int{"*.example.com": 0, "example.com": 1}},
		{name: "wildcard with only issue records for another CA", setup: func(d *dcvtest.DNS) {
			d.SetCAA("example.com", issue("letsencrypt.org"))
		}, check: "*.example.com", want: "letsencrypt.org", recordAt: "example.com"},
		{name: "critical unknown tag refuses", setup: func(d *dcvtest.DNS) {
			d.SetCAA("example.com", issue("certorder"), dcvtest.CAA{Flag: 128, Tag: "tbs", Value: "x"})
		}, check: "example.com", want: `critical property "tbs"`, recordAt: "example.com"},
		{name: "critical known tag fine", setup: func(d *dcvtest.DNS) {
			d.SetCAA("example.com", dcvtest.CAA{Flag: 128, Tag: "issue", Value: "certorder"}, dcvtest.CAA{Flag: 128, Tag: "iodef", Value: "mailto:a@example.com"})
		}, check: "example.com"},
		{name: "non-critical unknown tag ignored", setup: func(d *dcvtest.DNS) {
			d.SetCAA("example.com", dcvtest.CAA{Tag: "tbs", Value: "x"})
		}, check: "example.com"},
		{name: "iodef only", setup: func(d *dcvtest.DNS) {
			d.SetCAA("example.com", dcvtest.CAA{Tag: "iodef", Value: "mailto:security@example.com"})
		}, check: "www.example.com", queries: map[string]int{"example.com": 1, "com": 0}},
		{name: "accounturi parameter does not match", setup: func(d *dcvtest.DNS) {
			d.SetCAA("example.com", issue("certorder; accounturi=https://acme.certorder.example/acct/1"))
		}, check: "example.com", want: `authorizes only "certorder"`, recordAt: "example.com"},
		{name: "other parameters ignored", setup: func(d *dcvtest.DNS) {
			d.SetCAA("example.com", issue(" certorder ;  validationmethods=dns-01 ; foo=bar "))
		}, check: "example.com"},
		{name: "SERVFAIL", setup: func(d *dcvtest.DNS) {
			d.SetCAA("com", issue("certorder"))
			d.Fail("example.com", dns.RcodeServerFailure)
		}, check: "www.example.com", want: "SERVFAIL", lookupFailed: true},
		{name: "CNAME followed", setup: func(d *dcvtest.DNS) {
			d.SetCNAME("www.example.com", "cdn.provider.net")
			d.SetCAA("cdn.provider.net", issue("letsencrypt.org"))
			d.SetCAA("example.com", issue("certorder"))
		}, check: "www.example.com", want: "letsencrypt.org", recordAt: "cdn.provider.net",
			queries: map[string]int{"www.example.com": 1, "cdn.provider.net": 1, "example.com": 0}},
		{name: "empty CNAME target climbs from the original name", setup: func(d *dcvtest.DNS) {
			d.SetCNAME("www.example.com", "cdn.provider.net")
			d.SetCAA("provider.net", issue("letsencrypt.org"))
			d.SetCAA("example.com", issue("certorder"))
		}, check: "www.example.com", queries: map[string]int{"cdn.provider.net": 1, "provider.net": 0, "example.com": 1}},
		{name: "CNAME loop is a lookup failure", setup: func(d *dcvtest.DNS) {
			d.SetCNAME("www.example.com", "loop.example.com")
			d.SetCNAME("loop.example.com", "www.example.com")
		}, check: "www.example.com", want: "CNAME hops", lookupFailed: true},
		{name: "case-insensitive identity and tag", setup: func(d *dcvtest.DNS) {
			d.SetCAA("example.com", dcvtest.CAA{Tag: "ISSUE", Value: "CertOrder."})
		}, check: "WWW.Example.com"},
		{name: "identity must match whole name", setup: func(d *dcvtest.DNS) {
			d.SetCAA("example.com", issue("certorder.example"))
		}, check: "example.com", want: `"certorder.example"`, recordAt: "example.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := dcvtest.StartDNS(t)
			tc.setup(d)
			c := newChecker(t, d, nil)
			err := c.CheckCAA(context.Background(), tc.check)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("CheckCAA(%s) = %v, want permitted", tc.check, err)
				}
			} else {
				var ce *CAAError
				if !errors.As(err, &ce) {
					t.Fatalf("CheckCAA(%s) = %v, want *CAAError", tc.check, err)
				}
				wantContains(t, "Reason", ce.Reason, tc.want)
				if ce.RecordAt != tc.recordAt || ce.LookupFailed != tc.lookupFailed || ce.Name != tc.check {
					t.Errorf("CAAError = %+v, want RecordAt %q LookupFailed %v Name %q", ce, tc.recordAt, tc.lookupFailed, tc.check)
				}
				wantContains(t, "Error()", ce.Error(), tc.check)
			}
			for name, n := range tc.queries {
				if got := d.Queries(name, dns.TypeCAA); got != n {
					t.Errorf("CAA queries for %s = %d, want %d", name, got, n)
				}
			}
		})
	}
}

func TestCAAIdentities(t *testing.T) {
	d := dcvtest.StartDNS(t)
	d.SetCAA("example.com", issue("ca.example.net"))
	c := newChecker(t, d, nil, func(cfg *Config) { cfg.CAAIdentities = []string{"certorder", "CA.Example.NET"} })
	if err := c.CheckCAA(context.Background(), "example.com"); err != nil {
		t.Errorf("CheckCAA with second identity: %v", err)
	}
	if err := newChecker(t, d, nil).CheckCAA(context.Background(), "example.com"); err == nil {
		t.Error("CheckCAA with default identity: permitted, want refused")
	}
}

func TestCAATimeoutIsLookupFailure(t *testing.T) {
	addr, n := silentUDP(t)
	c, err := New(Config{Resolver: addr, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	err = c.CheckCAA(context.Background(), "example.com")
	var ce *CAAError
	if !errors.As(err, &ce) || !ce.LookupFailed || ce.RecordAt != "" {
		t.Fatalf("CheckCAA = %#v, want LookupFailed", err)
	}
	// The first name, tried twice; no climb after a failure.
	if got := n.Load(); got != 2 {
		t.Errorf("queries = %d, want 2", got)
	}
}

func TestParseIssueValue(t *testing.T) {
	tests := []struct {
		in, issuer string
		params     []string
	}{
		{"certorder", "certorder", nil},
		{" CertOrder ; accounturi = x ; b=c", "certorder", []string{"accounturi", "b"}},
		{";", "", nil},
		{"", "", nil},
		{"bad_name!", "", nil},
		{"a..b", "", nil},
	}
	for _, tc := range tests {
		issuer, params := parseIssueValue(tc.in)
		if issuer != tc.issuer || len(params) != len(tc.params) {
			t.Errorf("parseIssueValue(%q) = %q, %v; want %q, %v", tc.in, issuer, params, tc.issuer, tc.params)
		}
		for _, p := range tc.params {
			if _, ok := params[p]; !ok {
				t.Errorf("parseIssueValue(%q): no parameter %q in %v", tc.in, p, params)
			}
		}
	}
}
