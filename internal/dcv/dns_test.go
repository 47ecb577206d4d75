package dcv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/certorder/certorder/internal/dcv/dcvtest"
)

const tok = "0123456789abcdefghijklmnopqrstuv"

func TestCheckTXT(t *testing.T) {
	long := strings.Repeat("z", 300) // stored as two character-strings
	tests := []struct {
		name      string
		setup     func(d *dcvtest.DNS)
		domain    string
		token     string
		wantFound bool
		wantWhere string
		wantErr   string
		detail    string
	}{
		{name: "at domain", setup: func(d *dcvtest.DNS) { d.SetTXT("example.com", tok) },
			wantFound: true, wantWhere: "example.com"},
		{name: "at _dnsauth", setup: func(d *dcvtest.DNS) { d.SetTXT("_dnsauth.example.com", tok) },
			wantFound: true, wantWhere: "_dnsauth.example.com"},
		{name: "wildcard checks base domain", domain: "*.example.com",
			setup: func(d *dcvtest.DNS) { d.SetTXT("_dnsauth.example.com", tok) }, wantFound: true, wantWhere: "_dnsauth.example.com"},
		{name: "case-insensitive domain, spaces trimmed", domain: "Example.COM.",
			setup: func(d *dcvtest.DNS) { d.SetTXT("example.com", "  "+tok+" ") }, wantFound: true, wantWhere: "example.com"},
		{name: "wrong value", setup: func(d *dcvtest.DNS) { d.SetTXT("example.com", "other") },
			detail: "example.com: 1 TXT record with other values"},
		{name: "containing is not equal", setup: func(d *dcvtest.DNS) { d.SetTXT("example.com", "x "+tok) },
			detail: "no TXT record at example.com or _dnsauth.example.com holds the random value"},
		{name: "missing", setup: func(d *dcvtest.DNS) {}, detail: "example.com: NXDOMAIN; _dnsauth.example.com: NXDOMAIN"},
		{name: "name exists without TXT", setup: func(d *dcvtest.DNS) { d.SetA("example.com", "192.0.2.1") },
			detail: "example.com: no records"},
		{name: "several records one matching",
			setup: func(d *dcvtest.DNS) {
				d.SetTXT("example.com", "v=spf1 -all", "google-site-verification=abc", tok, "other")
			}, wantFound: true, wantWhere: "example.com"},
		{name: "long value split into strings", token: long,
			setup: func(d *dcvtest.DNS) { d.SetTXT("example.com", long) }, wantFound: true, wantWhere: "example.com"},
		{name: "followed CNAME", setup: func(d *dcvtest.DNS) {
			d.SetCNAME("_dnsauth.example.com", "dcv.provider.net")
			d.SetTXT("dcv.provider.net", tok)
		}, wantFound: true, wantWhere: "_dnsauth.example.com"},
		{name: "SERVFAIL", setup: func(d *dcvtest.DNS) {
			d.Fail("example.com", dns.RcodeServerFailure)
			d.Fail("_dnsauth.example.com", dns.RcodeServerFailure)
		}, wantErr: "SERVFAIL"},
		{name: "SERVFAIL at one name, found at the other", setup: func(d *dcvtest.DNS) {
			d.Fail("example.com", dns.RcodeServerFailure)
			d.SetTXT("_dnsauth.example.com", tok)
		}, wantFound: true, wantWhere: "_dnsauth.example.com"},
		{name: "SERVFAIL at one name, missing at the other", setup: func(d *dcvtest.DNS) {
			d.Fail("_dnsauth.example.com", dns.RcodeServerFailure)
		}, wantErr: "SERVFAIL"},
		{name: "REFUSED", setup: func(d *dcvtest.DNS) {
			d.Fail("example.com", dns.RcodeRefused)
			d.Fail("_dnsauth.example.com", dns.RcodeRefused)
		}, wantErr: "REFUSED"},
		{name: "empty token", token: " ", setup: func(d *dcvtest.DNS) { d.SetTXT("example.com", "") }, wantErr: "empty random value"},
		{name: "invalid domain", domain: "exa mple.com", setup: func(d *dcvtest.DNS) {}, wantErr: "invalid domain"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := dcvtest.StartDNS(t)
			tc.setup(d)
			c := newChecker(t, d, nil)
			domain, token := tc.domain, tc.token
			if domain == "" {
				domain = "example.com"
			}
			if token == "" {
				token = tok
			}
			res, err := c.CheckTXT(context.Background(), domain, token)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("CheckTXT = %+v, nil error; want error containing %q", res, tc.wantErr)
				}
				wantContains(t, "error", err.Error(), tc.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("CheckTXT: %v", err)
			}
			if res.Found != tc.wantFound || res.Where != tc.wantWhere {
				t.Errorf("CheckTXT = %+v, want Found %v Where %q", res, tc.wantFound, tc.wantWhere)
			}
			if tc.detail != "" {
				wantContains(t, "Detail", res.Detail, tc.detail)
			}
		})
	}
}

// A TXT set too large for UDP is truncated by the server and fetched again over TCP.
func TestTXTTruncatedFallsBackToTCP(t *testing.T) {
	d := dcvtest.StartDNS(t)
	var vals []string
	for i := 0; i < 40; i++ {
		vals = append(vals, fmt.Sprintf("filler-%02d-%s", i, strings.Repeat("x", 200)))
	}
	vals = append(vals, tok)
	d.SetTXT("example.com", vals...)
	c := newChecker(t, d, nil)
	res, err := c.CheckTXT(context.Background(), "example.com", tok)
	if err != nil || !res.Found {
		t.Fatalf("CheckTXT = %+v, %v; want found", res, err)
	}
	// One UDP query answered truncated, then one over TCP.
	if n := d.Queries("example.com", dns.TypeTXT); n != 2 {
		t.Errorf("queries for example.com TXT = %d, want 2 (UDP then TCP)", n)
	}
}

func TestCheckCNAME(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(d *dcvtest.DNS)
		wantFound bool
		wantWhere string
		wantErr   string
		detail    string
	}{
		{name: "DigiCert form", setup: func(d *dcvtest.DNS) { d.SetCNAME("_"+tok+".example.com", "dcv.certorder.invalid") },
			wantFound: true, wantWhere: "_" + tok + ".example.com"},
		{name: "_dnsauth form", setup: func(d *dcvtest.DNS) { d.SetCNAME("_dnsauth.example.com", tok+".dcv.certorder.invalid") },
			wantFound: true, wantWhere: "_dnsauth.example.com"},
		{name: "case and trailing dot ignored", setup: func(d *dcvtest.DNS) {
			d.SetCNAME("_"+strings.ToUpper(tok)+".EXAMPLE.com", "DCV.CertOrder.Invalid.")
		}, wantFound: true, wantWhere: "_" + tok + ".example.com"},
		{name: "wrong target", setup: func(d *dcvtest.DNS) {
			d.SetCNAME("_"+tok+".example.com", "elsewhere.example.net")
			d.SetCNAME("_dnsauth.example.com", "other.dcv.certorder.invalid")
		}, detail: "CNAME to elsewhere.example.net"},
		{name: "token in DigiCert target is not the DigiCert form", setup: func(d *dcvtest.DNS) {
			d.SetCNAME("_dnsauth.example.com", "dcv.certorder.invalid")
		}, detail: "_dnsauth.example.com: CNAME to dcv.certorder.invalid"},
		{name: "missing", setup: func(d *dcvtest.DNS) {}, detail: "NXDOMAIN"},
		{name: "SERVFAIL", setup: func(d *dcvtest.DNS) {
			d.Fail("_"+tok+".example.com", dns.RcodeServerFailure)
		}, wantErr: "SERVFAIL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := dcvtest.StartDNS(t)
			tc.setup(d)
			c := newChecker(t, d, nil)
			res, err := c.CheckCNAME(context.Background(), "example.com", tok)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("CheckCNAME = %+v, nil error; want %q", res, tc.wantErr)
				}
				wantContains(t, "error", err.Error(), tc.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("CheckCNAME: %v", err)
			}
			if res.Found != tc.wantFound || res.Where != tc.wantWhere {
				t.Errorf("CheckCNAME = %+v, want Found %v Where %q", res, tc.wantFound, tc.wantWhere)
			}
			if tc.detail != "" {
				wantContains(t, "Detail", res.Detail, tc.detail)
			}
		})
	}
}

func TestCNAMETargetConfigurable(t *testing.T) {
	d := dcvtest.StartDNS(t)
	d.SetCNAME("_"+tok+".example.com", "dcv.ca.example")
	c := newChecker(t, d, nil, func(cfg *Config) { cfg.CNAMETarget = "DCV.ca.example." })
	res, err := c.CheckCNAME(context.Background(), "example.com", tok)
	if err != nil || !res.Found {
		t.Fatalf("CheckCNAME = %+v, %v; want found", res, err)
	}
}

func TestContactEmails(t *testing.T) {
	tests := []struct {
		name  string
		setup func(d *dcvtest.DNS)
		want  []string
	}{
		{name: "several", setup: func(d *dcvtest.DNS) {
			d.SetTXT("_validation-contactemail.example.com", "Hostmaster@Example.com", " admin@example.com ", "hostmaster@example.com", "b@sub.example.org")
		}, want: []string{"admin@example.com", "b@sub.example.org", "hostmaster@example.com"}},
		{name: "invalid ones skipped", setup: func(d *dcvtest.DNS) {
			d.SetTXT("_validation-contactemail.example.com", "not an address", "Admin <admin@example.com>", "<x@example.com>",
				"a@b@c", "ok@example.com", "")
		}, want: []string{"ok@example.com"}},
		{name: "none", setup: func(d *dcvtest.DNS) {}, want: []string{}},
		{name: "records of other names do not count", setup: func(d *dcvtest.DNS) {
			d.SetTXT("example.com", "a@example.com")
		}, want: []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := dcvtest.StartDNS(t)
			tc.setup(d)
			c := newChecker(t, d, nil)
			got, err := c.ContactEmails(context.Background(), "example.com")
			if err != nil {
				t.Fatalf("ContactEmails: %v", err)
			}
			if got == nil || !slices.Equal(got, tc.want) {
				t.Errorf("ContactEmails = %#v, want %#v", got, tc.want)
			}
		})
	}
	t.Run("SERVFAIL", func(t *testing.T) {
		d := dcvtest.StartDNS(t)
		d.Fail("_validation-contactemail.example.com", dns.RcodeServerFailure)
		if got, err := newChecker(t, d, nil).ContactEmails(context.Background(), "example.com"); err == nil {
			t.Fatalf("ContactEmails = %v, nil error; want error", got)
		}
	})
}

// silentUDP is a DNS "server" that reads queries and never answers.
func silentUDP(t *testing.T) (string, *atomic.Int32) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	var n atomic.Int32
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			n.Add(1)
		}
	}()
	return pc.LocalAddr().String(), &n
}

func TestDNSTimeoutRetriesOnce(t *testing.T) {
	addr, n := silentUDP(t)
	c, err := New(Config{Resolver: addr, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.CheckCNAME(context.Background(), "example.com", tok)
	if err == nil {
		t.Fatal("CheckCNAME against a silent server: nil error")
	}
	if !isTimeout(errors.Unwrap(err)) && !strings.Contains(err.Error(), "timeout") {
		t.Errorf("error %q does not say timeout", err)
	}
	// Two names, each tried twice.
	if got := n.Load(); got != 4 {
		t.Errorf("queries received = %d, want 4", got)
	}
	if el := time.Since(start); el > 4*time.Second { // generous: the machine may be loaded
		t.Errorf("took %v", el)
	}
}

func TestDNSContextCancel(t *testing.T) {
	addr, _ := silentUDP(t)
	c, err := New(Config{Resolver: addr, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err = c.ContactEmails(ctx, "example.com")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
	if el := time.Since(start); el > 4*time.Second { // generous: the machine may be loaded
		t.Errorf("cancel took %v to be honoured", el)
	}
}

func TestNewDefaults(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(conf, []byte("search example.com\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := resolvConf
	resolvConf = conf
	defer func() { resolvConf = old }()

	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	got := c.Config()
	if got.Resolver != "192.0.2.53:53" || got.Timeout != 5*time.Second || got.HTTPPort != 80 || got.HTTPSPort != 443 ||
		got.CNAMETarget != "dcv.certorder.invalid" || !slices.Equal(got.CAAIdentities, []string{"certorder"}) || got.AllowPrivate {
		t.Errorf("defaults = %+v", got)
	}

	resolvConf = filepath.Join(dir, "missing")
	if _, err := New(Config{}); err == nil {
		t.Error("New with unreadable resolv.conf: nil error")
	}
	if _, err := New(Config{Resolver: "192.0.2.1"}); err != nil {
		t.Errorf("New with explicit resolver must not read resolv.conf: %v", err)
	}
}
