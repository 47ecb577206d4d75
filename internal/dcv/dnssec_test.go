package dcv

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/certorder/certorder/internal/dcv/dcvtest"
)

// validateFrom turns DNSSEC validation on with the zones' keys as the only trust anchors,
// as the IANA root's are in production.
func validateFrom(zones ...*dcvtest.Zone) func(*Config) {
	return func(cfg *Config) {
		cfg.DNSSEC = DNSSECValidate
		cfg.TrustAnchors = nil
		for _, z := range zones {
			cfg.TrustAnchors = append(cfg.TrustAnchors, z.DS())
		}
	}
}

// signedWorld is a loopback DNS shaped like the real one: a signed root (the trust anchor),
// a signed "com" delegated from it with a DS, and a signed "example.com" under "com".
type signedWorld struct {
	d                *dcvtest.DNS
	root, com, exCom *dcvtest.Zone
}

func newSignedWorld(t *testing.T) *signedWorld {
	d := dcvtest.StartDNS(t)
	return &signedWorld{d: d, root: d.SignZone("."), com: d.SignZone("com"), exCom: d.SignZone("example.com")}
}

// wantDNSSECError checks that err is a DNSSEC validation failure whose reason says why.
func wantDNSSECError(t *testing.T, err error, why string) {
	t.Helper()
	var de *DNSSECError
	if !errors.As(err, &de) {
		t.Fatalf("error = %v, want a *DNSSECError", err)
	}
	wantContains(t, "DNSSEC error", err.Error(), why)
}

func TestDNSSECCheckTXT(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(w *signedWorld)
		domain string
		// wantFound: found and validated; wantErr: a *DNSSECError saying this; neither: a
		// validated "not found".
		wantFound bool
		wantErr   string
	}{
		{name: "signed zone, valid TXT", setup: func(w *signedWorld) { w.d.SetTXT("example.com", tok) }, wantFound: true},
		{name: "signed zone, valid TXT at _dnsauth after a proven NODATA", setup: func(w *signedWorld) {
			w.d.SetTXT("_dnsauth.example.com", tok)
		}, wantFound: true},
		{name: "signed zone, proven absence", setup: func(w *signedWorld) { w.d.SetTXT("example.com", "other") }},
		{name: "NSEC3 zone, valid TXT", setup: func(w *signedWorld) {
			w.exCom.UseNSEC3(0, "", false)
			w.d.SetTXT("_dnsauth.example.com", tok)
		}, wantFound: true},
		{name: "NSEC3 zone with salt and iterations, proven absence", setup: func(w *signedWorld) {
			w.exCom.UseNSEC3(5, "beef", false)
			w.d.SetTXT("www.example.com", tok)
		}},
		{name: "names in the root zone itself, no cut on the way", domain: "example.net", setup: func(w *signedWorld) {
			w.d.SetTXT("_dnsauth.example.net", tok)
		}, wantFound: true},
		{name: "wildcard expansion with its proof", domain: "sub.example.com", setup: func(w *signedWorld) {
			w.d.SetTXT("*.example.com", tok)
		}, wantFound: true},
		{name: "wildcard expansion with its NSEC3 proof", domain: "sub.example.com", setup: func(w *signedWorld) {
			w.exCom.UseNSEC3(1, "ab", false)
			w.d.SetTXT("*.example.com", tok)
		}, wantFound: true},
		{name: "wildcard without TXT, proven absence", domain: "sub.example.com", setup: func(w *signedWorld) {
			w.d.SetA("*.example.com", "192.0.2.1")
		}},
		{name: "wildcard without TXT, proven absence by NSEC3", domain: "sub.example.com", setup: func(w *signedWorld) {
			w.exCom.UseNSEC3(0, "", false)
			w.d.SetA("*.example.com", "192.0.2.1")
		}},
		{name: "CNAME into another signed zone", setup: func(w *signedWorld) {
			w.d.SignZone("provider.net")
			w.d.SetCNAME("_dnsauth.example.com", "dcv.provider.net")
			w.d.SetTXT("dcv.provider.net", tok)
		}, wantFound: true},

		{name: "broken RRSIG", setup: func(w *signedWorld) {
			w.d.SetTXT("_dnsauth.example.com", tok)
			w.d.BreakDNSSEC("_dnsauth.example.com", dns.TypeTXT, dcvtest.BadSignature)
		}, wantErr: "does not verify"},
		{name: "expired RRSIG", setup: func(w *signedWorld) {
			w.d.SetTXT("example.com", tok)
			w.d.BreakDNSSEC("example.com", dns.TypeTXT, dcvtest.ExpiredSignature)
		}, wantErr: "is valid only from"},
		{name: "stripped RRSIG", setup: func(w *signedWorld) {
			w.d.SetTXT("example.com", tok)
			w.d.BreakDNSSEC("example.com", dns.TypeTXT, dcvtest.NoSignature)
		}, wantErr: "no RRSIG, but the zone example.com is signed"},
		{name: "stripped NSEC proof of a negative answer", setup: func(w *signedWorld) {
			w.d.BreakDNSSEC("_dnsauth.example.com", dns.TypeTXT, dcvtest.NoDenialProof)
		}, wantErr: "the answer that _dnsauth.example.com has no TXT record is not proven"},
		{name: "broken RRSIG on the NSEC proof", setup: func(w *signedWorld) {
			w.exCom.UseNSEC3(0, "", false)
			w.d.BreakDNSSEC("example.com", dns.TypeTXT, dcvtest.BadSignature)
		}, wantErr: "does not verify"},
		{name: "wildcard expansion without its proof", domain: "sub.example.com", setup: func(w *signedWorld) {
			w.d.SetTXT("*.example.com", tok)
			w.d.BreakDNSSEC("sub.example.com", dns.TypeTXT, dcvtest.NoDenialProof)
			w.d.BreakDNSSEC("_dnsauth.sub.example.com", dns.TypeTXT, dcvtest.NoDenialProof)
		}, wantErr: "wildcard answer for"},
		{name: "broken DS signature in the parent", setup: func(w *signedWorld) {
			w.d.SetTXT("example.com", tok)
			w.d.BreakDNSSEC("example.com", dns.TypeDS, dcvtest.BadSignature)
		}, wantErr: "the DS RRset of example.com"},
		{name: "DS hidden by a forged denial", setup: func(w *signedWorld) {
			w.d.SetTXT("example.com", tok)
			w.d.BreakDNSSEC("example.com", dns.TypeDS, dcvtest.ForgedDenial)
		}, wantErr: "does not prove that example.com has no DS record"},
		{name: "broken DNSKEY signature", setup: func(w *signedWorld) {
			w.d.SetTXT("example.com", tok)
			w.d.BreakDNSSEC("example.com", dns.TypeDNSKEY, dcvtest.BadSignature)
		}, wantErr: "the DNSKEY RRset of example.com"},
		{name: "stripped RRSIG in the CNAME target's zone", setup: func(w *signedWorld) {
			w.d.SignZone("provider.net")
			w.d.SetCNAME("_dnsauth.example.com", "dcv.provider.net")
			w.d.SetTXT("dcv.provider.net", tok)
			w.d.BreakDNSSEC("dcv.provider.net", dns.TypeTXT, dcvtest.NoSignature)
		}, wantErr: "no RRSIG, but the zone provider.net is signed"},

		// Unsigned zones pass as before, once a signed parent proves the delegation unsigned.
		{name: "unsigned delegation (NSEC)", domain: "example.org", setup: func(w *signedWorld) {
			w.d.Delegate("example.org")
			w.d.SetTXT("example.org", tok)
			w.d.BreakDNSSEC("example.org", dns.TypeTXT, dcvtest.BadSignature) // nothing to break: unsigned
		}, wantFound: true},
		{name: "unsigned delegation (NSEC3 opt-out)", domain: "example.org", setup: func(w *signedWorld) {
			w.root.UseNSEC3(0, "", true)
			w.d.Delegate("example.org")
			w.d.SetTXT("_dnsauth.example.org", tok)
		}, wantFound: true},
		{name: "unsigned delegation (NSEC3 without opt-out)", domain: "example.org", setup: func(w *signedWorld) {
			w.root.UseNSEC3(3, "00ff", false)
			w.d.Delegate("example.org")
			w.d.SetTXT("_dnsauth.example.org", tok)
		}, wantFound: true},
		{name: "unsigned delegation, CNAME back into a signed zone", domain: "example.org", setup: func(w *signedWorld) {
			w.d.Delegate("example.org")
			w.d.SetCNAME("_dnsauth.example.org", "dcv.example.com")
			w.d.SetTXT("dcv.example.com", tok)
		}, wantFound: true},
		{name: "unsigned delegation hidden in the signed parent", domain: "example.org", setup: func(w *signedWorld) {
			w.d.Delegate("example.org")
			w.d.SetTXT("example.org", tok)
			w.d.BreakDNSSEC("example.org", dns.TypeDS, dcvtest.NoDenialProof)
		}, wantErr: "does not prove that example.org has no DS record"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newSignedWorld(t)
			tc.setup(w)
			c := newChecker(t, w.d, nil, validateFrom(w.root))
			domain := tc.domain
			if domain == "" {
				domain = "example.com"
			}
			res, err := c.CheckTXT(context.Background(), domain, tok)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("CheckTXT = %+v, nil error; want a DNSSEC failure", res)
				}
				wantDNSSECError(t, err, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("CheckTXT: %v", err)
			}
			if res.Found != tc.wantFound {
				t.Errorf("CheckTXT = %+v, want Found %v", res, tc.wantFound)
			}
		})
	}
}

// With validation off the same broken answer is taken as it comes (tests of unsigned
// loopback zones); with it on, the same zone refuses.
func TestDNSSECOffTakesAnswersAsTheyCome(t *testing.T) {
	w := newSignedWorld(t)
	w.d.SetTXT("example.com", tok)
	w.d.BreakDNSSEC("example.com", dns.TypeTXT, dcvtest.BadSignature)
	res, err := newChecker(t, w.d, nil).CheckTXT(context.Background(), "example.com", tok)
	if err != nil || !res.Found {
		t.Fatalf("DNSSEC off: CheckTXT = %+v, %v; want found", res, err)
	}
	_, err = newChecker(t, w.d, nil, validateFrom(w.root)).CheckTXT(context.Background(), "example.com", tok)
	wantDNSSECError(t, err, "does not verify")
}

// A trust anchor that is not the zone's key proves nothing under it; names under no anchor
// are not validated.
func TestDNSSECTrustAnchors(t *testing.T) {
	d := dcvtest.StartDNS(t)
	signed := d.SignZone("example.com")
	other := d.SignZone("example.net")
	d.SetTXT("example.com", tok)
	d.SetTXT("example.org", tok)
	d.BreakDNSSEC("example.org", dns.TypeTXT, dcvtest.BadSignature) // unsigned: nothing to break

	c := newChecker(t, d, nil, validateFrom(signed))
	for _, domain := range []string{"example.com", "example.org"} {
		if res, err := c.CheckTXT(context.Background(), domain, tok); err != nil || !res.Found {
			t.Errorf("anchor at the zone: CheckTXT(%s) = %+v, %v; want found", domain, res, err)
		}
	}

	wrong := newChecker(t, d, nil, func(cfg *Config) {
		cfg.DNSSEC = DNSSECValidate
		ds := other.DS()
		ds.Hdr.Name = "example.com."
		cfg.TrustAnchors = []dns.RR{ds}
	})
	_, err := wrong.CheckTXT(context.Background(), "example.com", tok)
	wantDNSSECError(t, err, "no DNSKEY of example.com matches its DS records")

	// A DNSKEY is an anchor too.
	byKey := newChecker(t, d, nil, func(cfg *Config) {
		cfg.DNSSEC = DNSSECValidate
		cfg.TrustAnchors = []dns.RR{signed.DNSKEY()}
	})
	if res, err := byKey.CheckTXT(context.Background(), "example.com", tok); err != nil || !res.Found {
		t.Errorf("DNSKEY anchor: CheckTXT = %+v, %v; want found", res, err)
	}
}

func TestDNSSECCheckCAA(t *testing.T) {
	forbid := dcvtest.CAA{Tag: "issue", Value: "other-ca.example"}
	allow := dcvtest.CAA{Tag: "issue", Value: "certorder"}
	tests := []struct {
		name  string
		setup func(w *signedWorld)
		// want: "" permitted, "refused" a CAA refusal, else a lookup failure containing it.
		want string
	}{
		{name: "no CAA anywhere, every absence proven", setup: func(w *signedWorld) {}},
		{name: "no CAA anywhere, NSEC3", setup: func(w *signedWorld) {
			w.exCom.UseNSEC3(0, "", false)
			w.com.UseNSEC3(2, "aa", true)
		}},
		{name: "signed CAA authorizing us", setup: func(w *signedWorld) { w.d.SetCAA("example.com", allow) }},
		{name: "signed CAA forbidding us", setup: func(w *signedWorld) { w.d.SetCAA("example.com", forbid) }, want: "refused"},
		{name: "signed CAA forbidding us at a wildcard", setup: func(w *signedWorld) {
			w.d.SetCAA("*.example.com", forbid)
		}, want: "refused"},
		{name: "broken RRSIG on CAA", setup: func(w *signedWorld) {
			w.d.SetCAA("example.com", allow)
			w.d.BreakDNSSEC("example.com", dns.TypeCAA, dcvtest.BadSignature)
		}, want: "does not verify"},
		{name: "expired RRSIG on CAA", setup: func(w *signedWorld) {
			w.d.SetCAA("example.com", allow)
			w.d.BreakDNSSEC("example.com", dns.TypeCAA, dcvtest.ExpiredSignature)
		}, want: "is valid only from"},
		{name: "stripped RRSIG on CAA", setup: func(w *signedWorld) {
			w.d.SetCAA("example.com", allow)
			w.d.BreakDNSSEC("example.com", dns.TypeCAA, dcvtest.NoSignature)
		}, want: "no RRSIG"},
		{name: "forbidding CAA hidden by a forged denial", setup: func(w *signedWorld) {
			w.d.SetCAA("example.com", forbid)
			w.d.BreakDNSSEC("example.com", dns.TypeCAA, dcvtest.ForgedDenial)
		}, want: "the answer that example.com has no CAA record is not proven"},
		{name: "forged NXDOMAIN below", setup: func(w *signedWorld) {
			w.d.BreakDNSSEC("www.example.com", dns.TypeCAA, dcvtest.NoDenialProof)
		}, want: "the answer that www.example.com has no CAA record is not proven"},
		{name: "forbidding CAA in the TLD hidden by a forged denial", setup: func(w *signedWorld) {
			w.d.SetCAA("com", forbid)
			w.d.BreakDNSSEC("com", dns.TypeCAA, dcvtest.ForgedDenial)
		}, want: "the answer that com has no CAA record is not proven"},
		{name: "unsigned delegation, no CAA", setup: func(w *signedWorld) {
			w.d.Delegate("www.example.com")
		}},
		{name: "unsigned delegation, forbidding CAA", setup: func(w *signedWorld) {
			w.d.Delegate("www.example.com")
			w.d.SetCAA("www.example.com", forbid)
		}, want: "refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newSignedWorld(t)
			tc.setup(w)
			c := newChecker(t, w.d, nil, validateFrom(w.root))
			err := c.CheckCAA(context.Background(), "www.example.com")
			var ce *CAAError
			switch {
			case tc.want == "":
				if err != nil {
					t.Fatalf("CheckCAA: %v; want permitted", err)
				}
			case !errors.As(err, &ce):
				t.Fatalf("CheckCAA = %v, want a *CAAError", err)
			case tc.want == "refused":
				if ce.LookupFailed {
					t.Fatalf("CheckCAA = %v, want a refusal by the records", err)
				}
			default:
				if !ce.LookupFailed {
					t.Fatalf("CheckCAA = %v, want a lookup failure", err)
				}
				wantContains(t, "CAA error", err.Error(), "DNSSEC validation")
				wantContains(t, "CAA error", err.Error(), tc.want)
			}
		})
	}
}

// The http-token host's addresses are validated like any DCV lookup.
func TestDNSSECCheckHTTPAddress(t *testing.T) {
	w := newSignedWorld(t)
	h := dcvtest.StartHTTP(t)
	w.d.SetA("www.example.com", "127.0.0.1")
	h.SetFile("www.example.com", tokenPath, tok)
	c := newChecker(t, w.d, h, validateFrom(w.root))
	if res, err := c.CheckHTTP(context.Background(), "www.example.com", tok); err != nil || !res.Found {
		t.Fatalf("CheckHTTP = %+v, %v; want found", res, err)
	}
	w.d.BreakDNSSEC("www.example.com", dns.TypeA, dcvtest.BadSignature)
	_, err := c.CheckHTTP(context.Background(), "www.example.com", tok)
	wantDNSSECError(t, err, "does not verify")
	if n := h.Hits("www.example.com", tokenPath); n != 1 {
		t.Errorf("hits = %d, want 1 (none after the bogus address)", n)
	}
}

func TestDNSSECCheckCNAME(t *testing.T) {
	w := newSignedWorld(t)
	w.d.SetCNAME("_"+tok+".example.com", "dcv.certorder.invalid")
	c := newChecker(t, w.d, nil, validateFrom(w.root))
	if res, err := c.CheckCNAME(context.Background(), "example.com", tok); err != nil || !res.Found {
		t.Fatalf("CheckCNAME = %+v, %v; want found", res, err)
	}
	w.d.BreakDNSSEC("_"+tok+".example.com", dns.TypeCNAME, dcvtest.NoSignature)
	_, err := c.CheckCNAME(context.Background(), "example.com", tok)
	wantDNSSECError(t, err, "no RRSIG")
}

func TestParseTrustAnchors(t *testing.T) {
	rrs := RootTrustAnchors()
	if len(rrs) != 2 {
		t.Fatalf("root anchors = %v", rrs)
	}
	for i, tag := range []uint16{20326, 38696} {
		if ds, ok := rrs[i].(*dns.DS); !ok || ds.Hdr.Name != "." || ds.KeyTag != tag || ds.Algorithm != dns.RSASHA256 || ds.DigestType != dns.SHA256 {
			t.Errorf("root anchor %d = %v", i, rrs[i])
		}
	}
	tests := []struct {
		name, text, wantErr string
		want                int
	}{
		{name: "DS and DNSKEY with comments", text: "; anchors\nexample.com. IN DS 12345 13 2 " + strings.Repeat("ab", 32) +
			"\nexample.net. 3600 IN DNSKEY 257 3 13 " + newSignedWorldKey(t) + " ; a key\n", want: 2},
		{name: "other type", text: "example.com. IN A 192.0.2.1\n", wantErr: "not a trust anchor"},
		{name: "empty", text: "; nothing\n", wantErr: "no DS or DNSKEY"},
		{name: "syntax", text: "example.com. IN DS nonsense\n", wantErr: "anchors.txt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTrustAnchors(strings.NewReader(tc.text), "anchors.txt")
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseTrustAnchors = %v, nil error", got)
				}
				wantContains(t, "error", err.Error(), tc.wantErr)
				return
			}
			if err != nil || len(got) != tc.want {
				t.Fatalf("ParseTrustAnchors = %v, %v; want %d records", got, err, tc.want)
			}
		})
	}
}

func newSignedWorldKey(t *testing.T) string {
	d := dcvtest.StartDNS(t)
	return d.SignZone("example.net").DNSKEY().PublicKey
}

func TestNewDNSSECConfig(t *testing.T) {
	c, err := New(Config{Resolver: "192.0.2.1:53"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Config(); got.DNSSEC != DNSSECValidate || len(got.TrustAnchors) != 2 || got.TrustAnchors[0].Header().Name != "." {
		t.Errorf("default DNSSEC = %q with anchors %v, want validation from the root", got.DNSSEC, got.TrustAnchors)
	}
	c, err = New(Config{Resolver: "192.0.2.1:53", DNSSEC: DNSSECOff, TrustAnchors: RootTrustAnchors()})
	if err != nil || c.Config().TrustAnchors != nil || c.validating() {
		t.Errorf("DNSSEC off: %v, anchors %v", err, c.Config().TrustAnchors)
	}
	if _, err := New(Config{Resolver: "192.0.2.1:53", DNSSEC: "maybe"}); err == nil {
		t.Error("New with DNSSEC mode maybe: nil error")
	}
	if _, err := New(Config{Resolver: "192.0.2.1:53", TrustAnchors: []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: "x.", Rrtype: dns.TypeA}}}}); err == nil {
		t.Error("New with an A record as trust anchor: nil error")
	}
}

func TestCanonicalCompare(t *testing.T) {
	// RFC 4034 section 6.1's example, in order.
	ordered := []string{"example.", "a.example.", "yljkjljk.a.example.", "Z.a.example.", "zABC.a.EXAMPLE.",
		"z.example.", "\\001.z.example.", "*.z.example.", "\\200.z.example."}
	for i := range ordered {
		for j := range ordered {
			got := canonicalCompare(ordered[i], ordered[j])
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got != want {
				t.Errorf("canonicalCompare(%s, %s) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
}
