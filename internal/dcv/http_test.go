package dcv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/certorder/certorder/internal/dcv/dcvtest"
)

type httpCase struct {
	name      string
	fqdn      string
	setup     func(t *testing.T, d *dcvtest.DNS, h *dcvtest.HTTP)
	mod       func(cfg *Config)
	wantFound bool
	wantWhere string
	detail    string
	wantErr   string
	// hits are expected request counts per host+path.
	hits map[[2]string]int
}

func TestCheckHTTP(t *testing.T) {
	const www = "www.example.com"
	tests := []httpCase{
		{name: "found", setup: func(t *testing.T, d *dcvtest.DNS, h *dcvtest.HTTP) {
			h.SetFile(www, tokenPath, "\n  "+tok+"\r\n")
		}, wantFound: true, wantWhere: "http://www.example.com" + tokenPath, hits: map[[2]string]int{{www, tokenPath}: 1}},
		{name: "found among other text", setup: func(t *testing.T, d *dcvtest.DNS, h *dcvtest.HTTP) {
			h.SetFile(www, tokenPath, "random value: "+tok+"\nend")
		}, wantFound: true, wantWhere: "http://www.example.com" + tokenPath},
		{name: "wrong body", setup: func(t *testing.T, d *dcvtest.DNS, h *dcvtest.HTTP) {
			h.SetFile(www, tokenPath, "something else")
		}, detail: "HTTP 200 at http://www.example.com" + tokenPath + ": the body (14 bytes read) does not contain the random value"},
		{name: "404", setup: func(t *testing.T, d *dcvtest.DNS, h *dcvtest.HTTP) {},
			detail: "HTTP 404 at http://www.example.com" + tokenPath},
		{name: "500", setup: func(t *testing.T, d *dcvtest.DNS, h *dcvtest.HTTP) {
			h.SetHandler(www, tokenPath, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, tok, http.StatusInternalServerError)
			}))
		}, detail: "HTTP 500 at"},
		{name: "redirect 303 refused", setup: func(t *testing.T, d *dcvtest.DNS, h *dcvtest.HTTP) {
			h.Redirect(www, tokenPath, "/other", http.StatusSeeOther)
			h.SetFile(www, "/other", tok)
		}, detail: "HTTP 303 at", hits: map[[2]string]int{{www, "/other"}: 0}},
		{name: "redirect to ftp refused", setup: func(t *testing.T, d *dcvtest.DNS, h *dcvtest.HTTP) {
			h.Redirect(www, tokenPath, "ftp://www.example.com/x", http.StatusFound)
		}, detail: `redirects to ftp://www.example.com/x: scheme "ftp" is not allowed`},
		{name: "redirect to unauthorized port refused", setup: func(t *testing.T, d *dcvtest.DNS, h *dcvtest.HTTP) {
			h.Redirect(www, tokenPath, "http://www.example.com:8443/x", http.StatusFound)
			h.SetFile(www, "/x", tok)
		}, detail: "port 8443 is not an authorized port", hits: map[[2]string]int{{www, "/x"}: 0}},
		{name: "redirect to the HTTPS port over http refused", setup: func(t *testing.T, d *dcvtest.DNS, h *dcvtest.HTTP) {
			h.Redirect(www, tokenPath, "http://www.example.com:"+strconv.Itoa(h.TLSPort())+"/x", http.StatusFound)
		}, detail: "is not an authorized port"},
		{name: "redirect to configured port allowed", setup: func(t *testing.T, d *dcvtest.DNS, h *dcvtest.HTTP) {
			h.Redirect(www, tokenPath, "http://www.example.com:"+strconv.Itoa(h.Port())+"/x", http.StatusFound)
			h.SetFile(www, "/x", tok)
		}, wantFound: true, hits: map[[2]string]int{{www, "/x"}: 1}},
		{name: "redirect to https on another host", setup: func(t *testing.T, d *dcvtest.DNS, h *dcvtest.HTTP) {
			d.SetA("secure.example.net", "127.0.0.1")
			h.Redirect(www, tokenPath, "https://secure.example.net/x", http.StatusMovedPermanently)
			h.SetFile("secure.example.net", "/x", tok)
		}, wantFound: true, wantWhere: "https://secure.example.net/x"},
		{name: "redirect loop", setup: func(t *testing.T, d *dcvtest.DNS, h *dcvtest.HTTP) {
			h.Redirect(www, tokenPath, tokenPath, http.StatusFound)
		}, detail: "more than 10 redirects", hits: map[[2]string]int{{www, tokenPath}: 11}},
		{name: "exactly 10 redirects followed", setup: func(t *testing.T, d *dcvtest.DNS, h *dcvtest.HTTP) {
			h.Redirect(www, tokenPath, "/r1", http.StatusFound)
			for i := 1; i < 10; i++ {
				h.Redirect(www, fmt.Sprintf("/r%d", i), fmt.Sprintf("/r%d", i+1), http.StatusFound)
			}
			h.SetFile(www, "/r10", tok)
		}, wantFound: true, wantWhere: "http://www.example.com/r10"},
		{name: "redirect without Location", setup: func(t *testing.T, d *dcvtest.DNS, h *dcvtest.HTTP) {
			h.Redirect(www, tokenPath, "", http.StatusFound)
		}, detail: "without a Location header"},
		{name: "wildcard refused", fqdn: "*.example.com", setup: func(t *testing.T, d *dcvtest.DNS, h *dcvtest.HTTP) {
			d.SetA("*.example.com", "127.0.0.1")
			h.SetFile("example.com", tokenPath, tok)
		}, detail: "wildcard", hits: map[[2]string]int{{"example.com", tokenPath}: 0}},
		{name: "private address refused", mod: func(cfg *Config) { cfg.AllowPrivate = false },
			setup:   func(t *testing.T, d *dcvtest.DNS, h *dcvtest.HTTP) { h.SetFile(www, tokenPath, tok) },
			wantErr: "address 127.0.0.1 is not public", hits: map[[2]string]int{{www, tokenPath}: 0}},
		{name: "private address from DNS refused", mod: func(cfg *Config) { cfg.AllowPrivate = false },
			setup:   func(t *testing.T, d *dcvtest.DNS, h *dcvtest.HTTP) { d.SetA(www, "10.1.2.3") },
			wantErr: "address 10.1.2.3 is not public"},
		{name: "body bigger than 64 KiB", setup: func(t *testing.T, d *dcvtest.DNS, h *dcvtest.HTTP) {
			h.SetFile(www, tokenPath, strings.Repeat("x", 1<<20)+tok)
		}, detail: "65536 bytes read"},
		{name: "endless body does not hang", setup: func(t *testing.T, d *dcvtest.DNS, h *dcvtest.HTTP) {
			h.SetHandler(www, tokenPath, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				chunk := []byte(strings.Repeat("y", 8192))
				for r.Context().Err() == nil {
					if _, err := w.Write(chunk); err != nil {
						return
					}
				}
			}))
		}, detail: "65536 bytes read"},
		{name: "host without address", fqdn: "nowhere.example.com", setup: func(t *testing.T, d *dcvtest.DNS, h *dcvtest.HTTP) {},
			detail: "nowhere.example.com has no A or AAAA record"},
		{name: "host via CNAME", fqdn: "alias.example.com", setup: func(t *testing.T, d *dcvtest.DNS, h *dcvtest.HTTP) {
			d.SetCNAME("alias.example.com", www)
			h.SetFile("alias.example.com", tokenPath, tok)
		}, wantFound: true, wantWhere: "http://alias.example.com" + tokenPath},
		{name: "DNS SERVFAIL", setup: func(t *testing.T, d *dcvtest.DNS, h *dcvtest.HTTP) {
			d.Fail(www, dns.RcodeServerFailure)
		}, wantErr: "SERVFAIL"},
		{name: "connection refused", mod: func(cfg *Config) { cfg.HTTPPort = closedPort(t) },
			setup: func(t *testing.T, d *dcvtest.DNS, h *dcvtest.HTTP) {}, wantErr: "refused"},
		{name: "slow server times out", mod: func(cfg *Config) { cfg.Timeout = 300 * time.Millisecond },
			setup: func(t *testing.T, d *dcvtest.DNS, h *dcvtest.HTTP) {
				h.SetHandler(www, tokenPath, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					select {
					case <-r.Context().Done():
					case <-time.After(3 * time.Second):
					}
				}))
			}, wantErr: "deadline exceeded"},
		{name: "empty token", setup: func(t *testing.T, d *dcvtest.DNS, h *dcvtest.HTTP) {
			h.SetFile(www, tokenPath, "x")
		}, wantErr: "empty random value"},
	}
	for _, code := range []int{301, 302, 307, 308} {
		tests = append(tests,
			httpCase{name: fmt.Sprintf("redirect %d same host", code), setup: func(t *testing.T, d *dcvtest.DNS, h *dcvtest.HTTP) {
				h.Redirect(www, tokenPath, "/moved.txt", code)
				h.SetFile(www, "/moved.txt", tok)
			}, wantFound: true, wantWhere: "http://www.example.com/moved.txt", hits: map[[2]string]int{{www, tokenPath}: 1, {www, "/moved.txt"}: 1}},
			httpCase{name: fmt.Sprintf("redirect %d other host", code), setup: func(t *testing.T, d *dcvtest.DNS, h *dcvtest.HTTP) {
				d.SetA("other.example.net", "127.0.0.1")
				h.Redirect(www, tokenPath, "http://Other.Example.net/dcv?x=1", code)
				h.SetFile("other.example.net", "/dcv", tok)
			}, wantFound: true, wantWhere: "http://Other.Example.net/dcv?x=1", hits: map[[2]string]int{{"other.example.net", "/dcv"}: 1}},
		)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := dcvtest.StartDNS(t)
			h := dcvtest.StartHTTP(t)
			d.SetA(www, "127.0.0.1")
			tc.setup(t, d, h)
			mods := []func(*Config){}
			if tc.mod != nil {
				mods = append(mods, tc.mod)
			}
			c := newChecker(t, d, h, mods...)
			fqdn := tc.fqdn
			if fqdn == "" {
				fqdn = www
			}
			token := tok
			if tc.wantErr == "empty random value" {
				token = ""
			}
			start := time.Now()
			res, err := c.CheckHTTP(context.Background(), fqdn, token)
			if el := time.Since(start); el > 4*time.Second { // generous: the machine may be loaded
				t.Errorf("CheckHTTP took %v", el)
			}
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("CheckHTTP = %+v, nil error; want error containing %q", res, tc.wantErr)
				}
				wantContains(t, "error", err.Error(), tc.wantErr)
			} else {
				if err != nil {
					t.Fatalf("CheckHTTP: %v", err)
				}
				if res.Found != tc.wantFound || (tc.wantWhere != "" && res.Where != tc.wantWhere) {
					t.Errorf("CheckHTTP = %+v, want Found %v Where %q", res, tc.wantFound, tc.wantWhere)
				}
				if tc.detail != "" {
					wantContains(t, "Detail", res.Detail, tc.detail)
				}
			}
			for k, n := range tc.hits {
				if got := h.Hits(k[0], k[1]); got != n {
					t.Errorf("hits on %s%s = %d, want %d", k[0], k[1], got, n)
				}
			}
		})
	}
}

// The private-address check is the only thing standing between a user's DNS records and
// the CA's internal network: with AllowPrivate the same fetch succeeds.
func TestCheckHTTPAllowPrivate(t *testing.T) {
	d := dcvtest.StartDNS(t)
	h := dcvtest.StartHTTP(t)
	d.SetA("www.example.com", "127.0.0.1")
	h.SetFile("www.example.com", tokenPath, tok)
	for _, allow := range []bool{false, true} {
		c := newChecker(t, d, h, func(cfg *Config) { cfg.AllowPrivate = allow })
		res, err := c.CheckHTTP(context.Background(), "www.example.com", tok)
		if allow && (err != nil || !res.Found) {
			t.Errorf("AllowPrivate: CheckHTTP = %+v, %v; want found", res, err)
		}
		if !allow && (err == nil || !strings.Contains(err.Error(), "not public")) {
			t.Errorf("!AllowPrivate: CheckHTTP = %+v, %v; want not-public error", res, err)
		}
	}
}

func TestHTTPTokenURL(t *testing.T) {
	if got, want := HTTPTokenURL("WWW.Example.com."), "http://www.example.com/.well-known/pki-validation/fileauth.txt"; got != want {
		t.Errorf("HTTPTokenURL = %q, want %q", got, want)
	}
}

func TestIsPublic(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		// Public addresses, IPv4 and IPv6, including the globally reachable blocks of the
		// special-purpose registries that stay allowed (AS112).
		{"8.8.8.8", true}, {"93.184.216.34", true}, {"1.1.1.1", true}, {"192.31.196.1", true},
		{"192.0.1.255", true}, {"192.0.3.0", true}, {"100.63.255.255", true}, {"100.128.0.0", true},
		{"198.17.255.255", true}, {"198.20.0.0", true}, {"223.255.255.255", true},
		{"2606:4700:4700::1111", true}, {"2a00:1450:4001::1", true}, {"2620:4f:8000::1", true},
		{"2001:200::1", true}, {"3ffe::1", true},

		// IPv4 special-purpose blocks.
		{"0.0.0.0", false}, {"0.1.2.3", false}, {"10.1.2.3", false}, {"100.64.0.1", false},
		{"100.127.255.255", false}, {"127.0.0.1", false}, {"127.255.255.254", false},
		{"169.254.169.254", false}, {"172.16.0.1", false}, {"172.31.255.255", false},
		{"192.0.0.1", false}, {"192.0.0.170", false}, {"192.0.2.1", false}, {"192.88.99.1", false},
		{"192.168.1.1", false}, {"198.18.0.1", false}, {"198.19.255.255", false},
		{"198.51.100.7", false}, {"203.0.113.9", false}, {"224.0.0.1", false}, {"239.255.255.250", false},
		{"240.0.0.1", false}, {"255.255.255.255", false},

		// IPv6 outside the global unicast space, whatever IPv4 address it embeds.
		{"::", false}, {"::1", false},
		{"::ffff:127.0.0.1", false}, {"::ffff:10.0.0.1", false}, {"::ffff:8.8.8.8", false}, // IPv4-mapped
		{"::127.0.0.1", false}, {"::8.8.8.8", false}, // IPv4-compatible
		{"64:ff9b::7f00:1", false}, {"64:ff9b::a9fe:a9fe", false}, {"64:ff9b::808:808", false}, // NAT64
		{"64:ff9b:1::a00:1", false},                // local-use NAT64
		{"100::1", false}, {"100:0:0:1::1", false}, // discard
		{"5f00::1", false},                     // SRv6 SIDs
		{"fc00::1", false}, {"fd00::1", false}, // unique local
		{"fe80::1", false}, {"febf::1", false}, // link-local
		{"fec0::1", false}, {"feff::1", false}, // site-local
		{"ff02::1", false}, {"ff0e::1", false}, // multicast
		{"fe80::1%eth0", false}, // scoped

		// Special-purpose blocks inside 2000::/3.
		{"2001::1", false}, {"2001:0:4136:e378:8000:63bf:3fff:fdd2", false}, // Teredo
		{"2001:2::1", false}, {"2001:1ff::1", false}, // benchmarking, rest of 2001::/23
		{"2001:db8::1", false}, {"2001:db8:ffff::1", false}, // documentation
		{"2002::1", false}, {"2002:7f00:1::1", false}, {"2002:a00:1::1", false}, // 6to4
		{"3fff::1", false}, {"3fff:fff::1", false}, // documentation
	}
	for _, tc := range tests {
		if got := isPublic(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("isPublic(%s) = %v, want %v", tc.addr, got, tc.want)
		}
	}
	if isPublic(netip.Addr{}) {
		t.Error("isPublic(invalid address) = true")
	}
}

// The dial itself is refused for every non-public address unless AllowPrivate, whichever way
// the address arrives (DNS answer, IP literal, redirect): dialControl is the last gate.
func TestDialControlRefusesNonPublic(t *testing.T) {
	tests := []struct {
		address string
		public  bool
	}{
		{"[64:ff9b::7f00:1]:80", false},
		{"[64:ff9b:1::a00:1]:443", false},
		{"[2002:7f00:1::1]:80", false},
		{"[2001:0:4136:e378:8000:63bf:3fff:fdd2]:80", false},
		{"[::7f00:1]:80", false},
		{"[::ffff:10.0.0.1]:80", false},
		{"[fec0::1]:80", false},
		{"[100::1]:80", false},
		{"192.0.2.10:80", false},
		{"198.51.100.1:80", false},
		{"203.0.113.1:443", false},
		{"240.1.2.3:80", false},
		{"[2606:4700:4700::1111]:443", true},
		{"8.8.8.8:80", true},
	}
	for _, tc := range tests {
		for _, allow := range []bool{false, true} {
			c := &Checker{cfg: Config{AllowPrivate: allow}}
			err := c.dialControl("tcp", tc.address, nil)
			if wantRefused := !tc.public && !allow; (err != nil) != wantRefused {
				t.Errorf("AllowPrivate %v: dialControl(%s) = %v, want refused %v", allow, tc.address, err, wantRefused)
			}
			if err != nil && !strings.Contains(err.Error(), "is not public") {
				t.Errorf("dialControl(%s) = %v, want \"is not public\"", tc.address, err)
			}
		}
	}
}

// A DNS answer naming an address that reaches the CA's network only through a translator or
// tunnel (NAT64, 6to4, Teredo) or an IPv4 address written as IPv6 is refused before anything
// is dialed; with AllowPrivate (--dcv-allow-private, tests) the IPv4-mapped loopback address
// is dialed and the file found.
func TestCheckHTTPRefusesEmbeddedIPv4(t *testing.T) {
	const www = "www.example.com"
	tests := []struct {
		aaaa  string
		allow bool
	}{
		{"64:ff9b::7f00:1", false},
		{"64:ff9b:1::7f00:1", false},
		{"2002:7f00:1::1", false},
		{"2001:0:4136:e378:8000:63bf:80ff:fffe", false},
		{"::ffff:127.0.0.1", false},
		{"::127.0.0.1", false},
		{"fec0::1", false},
		{"::ffff:127.0.0.1", true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s allow %v", tc.aaaa, tc.allow), func(t *testing.T) {
			d := dcvtest.StartDNS(t)
			h := dcvtest.StartHTTP(t)
			d.SetAAAA(www, tc.aaaa)
			h.SetFile(www, tokenPath, tok)
			c := newChecker(t, d, h, func(cfg *Config) { cfg.AllowPrivate = tc.allow })
			res, err := c.CheckHTTP(context.Background(), www, tok)
			if tc.allow {
				if err != nil || !res.Found {
					t.Fatalf("CheckHTTP = %+v, %v; want found", res, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckHTTP = %+v, nil error; want the address refused", res)
			}
			wantContains(t, "error", err.Error(), "address "+netip.MustParseAddr(tc.aaaa).String()+" is not public")
			if n := h.Hits(www, tokenPath); n != 0 {
				t.Errorf("hits = %d, want 0", n)
			}
		})
	}
}

func closedPort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return p
}
