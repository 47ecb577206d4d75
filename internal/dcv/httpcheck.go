package dcv

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"

	"github.com/miekg/dns"
)

// httpTokenPath is where the Baseline Requirements 3.2.2.4.18 put the random value.
const httpTokenPath = "/.well-known/pki-validation/fileauth.txt"

const (
	maxRedirects = 10
	maxBody      = 64 << 10
)

// HTTPTokenURL is the URL CheckHTTP fetches for fqdn, without the configured port, for
// display: "http://<fqdn>/.well-known/pki-validation/fileauth.txt".
func HTTPTokenURL(fqdn string) string {
	return "http://" + normName(fqdn) + httpTokenPath
}

// CheckHTTP fetches HTTPTokenURL(fqdn) (connecting to HTTPPort) and reports Found when the
// response is 2xx and its body (first 64 KiB, trimmed) contains token. Redirects are
// followed as BR 3.2.2.4.18 allows: only 301, 302, 307 and 308, only http and https, only
// authorized ports, at most 10 hops. A redirect breaking these rules is a definitive
// Found=false, not an error. Addresses are resolved through the configured resolver, and
// non-public ones are refused at dial time unless AllowPrivate is set.
func (c *Checker) CheckHTTP(ctx context.Context, fqdn, token string) (Result, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return Result{}, errEmptyToken
	}
	if strings.HasPrefix(strings.TrimSpace(fqdn), "*.") {
		return Result{Detail: fmt.Sprintf("%s is a wildcard name; the HTTP method cannot validate wildcards", fqdn)}, nil
	}
	host, err := checkDomain(fqdn)
	if err != nil {
		return Result{}, err
	}
	// One deadline for the whole fetch, redirects included.
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()

	u, err := url.Parse(HTTPTokenURL(host))
	if err != nil {
		return Result{}, fmt.Errorf("dcv: building URL for %s: %w", host, err)
	}
	for hop := 0; ; hop++ {
		resp, body, err := c.fetch(ctx, u)
		var noAddr *noAddressError
		if errors.As(err, &noAddr) {
			return Result{Detail: fmt.Sprintf("cannot fetch %s: %v", u, err)}, nil
		}
		if err != nil {
			return Result{}, fmt.Errorf("dcv: fetching %s: %w", u, err)
		}
		switch code := resp.StatusCode; {
		case code >= 200 && code <= 299:
			if strings.Contains(strings.TrimSpace(body), token) {
				return Result{Found: true, Where: u.String()}, nil
			}
			return Result{Detail: fmt.Sprintf("HTTP %d at %s: the body (%s) does not contain the random value",
				code, u, plural(len(body), "byte read", "bytes read"))}, nil
		case code == http.StatusMovedPermanently || code == http.StatusFound ||
			code == http.StatusTemporaryRedirect || code == http.StatusPermanentRedirect:
			loc := resp.Header.Get("Location")
			if loc == "" {
				return Result{Detail: fmt.Sprintf("HTTP %d at %s without a Location header", code, u)}, nil
			}
			next, err := u.Parse(loc)
			if err != nil {
				return Result{Detail: fmt.Sprintf("HTTP %d at %s redirects to an invalid URL %q", code, u, loc)}, nil
			}
			if why := c.redirectRefused(next); why != "" {
				return Result{Detail: fmt.Sprintf("HTTP %d at %s redirects to %s: %s", code, u, next, why)}, nil
			}
			if hop+1 > maxRedirects {
				return Result{Detail: fmt.Sprintf("more than %d redirects starting at %s (last at %s)",
					maxRedirects, HTTPTokenURL(host), u)}, nil
			}
			next.User = nil
			next.Fragment = ""
			u = next
		case code >= 300 && code <= 399:
			return Result{Detail: fmt.Sprintf("HTTP %d at %s: only redirects 301, 302, 307 and 308 may be followed", code, u)}, nil
		default:
			return Result{Detail: fmt.Sprintf("HTTP %d at %s", code, u)}, nil
		}
	}
}

// redirectRefused says why a redirect target is not allowed, "" when it is.
func (c *Checker) redirectRefused(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return fmt.Sprintf("scheme %q is not allowed (only http and https)", u.Scheme)
	}
	if u.Hostname() == "" {
		return "no host"
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || !(n == 80 || n == 443 || n == c.schemePort(scheme)) {
			return fmt.Sprintf("port %s is not an authorized port (80, 443)", p)
		}
	}
	return ""
}

func (c *Checker) schemePort(scheme string) int {
	if scheme == "https" {
		return c.cfg.HTTPSPort
	}
	return c.cfg.HTTPPort
}

// fetch does one GET of u without following redirects and returns the response with the
// first maxBody bytes of its body (the body is closed).
func (c *Checker) fetch(ctx context.Context, u *url.URL) (*http.Response, string, error) {
	host := u.Hostname()
	port := u.Port()
	if port == "" {
		port = strconv.Itoa(c.schemePort(strings.ToLower(u.Scheme)))
	}
	ips, err := c.resolveHost(ctx, host)
	if err != nil {
		return nil, "", err
	}
	dialer := &net.Dialer{Control: c.dialControl}
	tr := &http.Transport{
		// Never an environment proxy: the check must reach the domain itself.
		Proxy: nil,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			// The address asked for is ignored: we dial the addresses resolved through our
			// resolver, at the port chosen for this hop.
			var errs []error
			for _, ip := range ips {
				// Judged before dialing as well as in dialControl, because the dialer turns
				// an IPv4-mapped address into the IPv4 address it carries before Control sees it.
				if !c.cfg.AllowPrivate && !isPublic(ip) {
					errs = append(errs, fmt.Errorf("address %s is not public", ip))
					continue
				}
				conn, err := dialer.DialContext(ctx, "tcp", net.JoinHostPort(ip.String(), port))
				if err == nil {
					return conn, nil
				}
				errs = append(errs, err)
			}
			return nil, errors.Join(errs...)
		},
		// The content proves control, not the certificate: public CAs do not verify it.
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true, ServerName: host}, //nolint:gosec // see above
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	cl := &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // redirects are followed by CheckHTTP under BR rules
		},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("User-Agent", "certorder-dcv/1")
	req.Header.Set("Accept", "*/*")
	resp, err := cl.Do(req)
	if err != nil {
		return nil, "", err
	}
	// Read at most maxBody bytes and close without draining, so that a huge or endless body
	// cannot hold the check (keep-alives are off, closing drops the connection).
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	if err != nil && resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil, "", fmt.Errorf("reading body: %w", err)
	}
	return resp, string(b), nil
}

// resolveHost returns the addresses of host (an IP literal as is), IPv4 first, looked up
// through the configured resolver.
func (c *Checker) resolveHost(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	var ips []netip.Addr
	var errs []error
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		a, err := c.lookup(ctx, host, qt)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, rr := range a.rrs {
			var ip net.IP
			switch r := rr.(type) {
			case *dns.A:
				ip = r.A.To4()
			case *dns.AAAA:
				// Kept as written: an IPv4-mapped AAAA is judged as IPv6 (and refused), not
				// unmapped into the IPv4 address it carries.
				ip = r.AAAA.To16()
			}
			if addr, ok := netip.AddrFromSlice(ip); ok {
				ips = append(ips, addr)
			}
		}
	}
	if len(ips) > 0 {
		return ips, nil
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return nil, &noAddressError{host: host}
}

// noAddressError is the definitive DNS answer that a host has no address.
type noAddressError struct{ host string }

func (e *noAddressError) Error() string { return "host " + e.host + " has no A or AAAA record" }

// dialControl refuses non-public addresses just before connecting, so that no path
// (redirect, IP literal, DNS answer) can reach internal services.
func (c *Checker) dialControl(_, address string, _ syscall.RawConn) error {
	if c.cfg.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("address %s cannot be checked: %w", address, err)
	}
	if !isPublic(ap.Addr()) {
		return fmt.Errorf("address %s is not public", ap.Addr())
	}
	return nil
}

// Which addresses an http-token fetch may connect to. A random value served from the CA's own
// network proves nothing about a domain, and a fetch that reaches it is a request forgery
// against that network, so the rule is an allow-list where the registries allow one:
//
// IPv6 is public only inside 2000::/3, the global unicast space IANA allocates from. Everything
// outside it is refused whatever it embeds: loopback, unspecified, IPv4-mapped (::ffff:0:0/96)
// and IPv4-compatible (::/96) addresses, NAT64 (64:ff9b::/96 and the local-use 64:ff9b:1::/48,
// which a translator in the CA's network would carry to any IPv4 address, private ones
// included), the discard prefixes (100::/64, 100:0:0:1::/64), SRv6 SIDs (5f00::/16), unique
// local (fc00::/7), link-local (fe80::/10), site-local (fec0::/10) and multicast (ff00::/8).
// Inside 2000::/3, nonPublicV6 takes out the special-purpose blocks.
//
// All of IPv4 is allocated, so IPv4 is a deny-list: the blocks of the IANA IPv4
// special-purpose registry that are not globally reachable, multicast, and the reserved
// 240.0.0.0/4 (broadcast included).
var (
	globalUnicastV6 = netip.MustParsePrefix("2000::/3")

	nonPublicV6 = []netip.Prefix{
		// IETF protocol assignments: Teredo (2001::/32) tunnels to an IPv4 address it embeds,
		// benchmarking (2001:2::/48), ORCHID; the few anycast services in it serve no website.
		netip.MustParsePrefix("2001::/23"),
		netip.MustParsePrefix("2001:db8::/32"), // documentation
		netip.MustParsePrefix("2002::/16"),     // 6to4: tunnels to the IPv4 address it embeds
		netip.MustParsePrefix("3fff::/20"),     // documentation
	}

	nonPublicV4 = []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
		netip.MustParsePrefix("10.0.0.0/8"),      // private
		netip.MustParsePrefix("100.64.0.0/10"),   // CGNAT shared address space
		netip.MustParsePrefix("127.0.0.0/8"),     // loopback
		netip.MustParsePrefix("169.254.0.0/16"),  // link-local (cloud metadata services)
		netip.MustParsePrefix("172.16.0.0/12"),   // private
		netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments (DS-Lite, NAT64 discovery...)
		netip.MustParsePrefix("192.0.2.0/24"),    // documentation (TEST-NET-1)
		netip.MustParsePrefix("192.88.99.0/24"),  // 6to4 relay anycast (deprecated): a relay tunnels onwards
		netip.MustParsePrefix("192.168.0.0/16"),  // private
		netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
		netip.MustParsePrefix("198.51.100.0/24"), // documentation (TEST-NET-2)
		netip.MustParsePrefix("203.0.113.0/24"),  // documentation (TEST-NET-3)
		netip.MustParsePrefix("224.0.0.0/4"),     // multicast
		netip.MustParsePrefix("240.0.0.0/4"),     // reserved, limited broadcast included
	}
)

// isPublic reports whether an http-token fetch may connect to ip (see the rule above). An
// IPv4-mapped address is judged as the IPv6 address it is, not as the IPv4 address inside it:
// whatever a DNS answer or a URL carries is refused unless it is plainly public.
func isPublic(ip netip.Addr) bool {
	if !ip.IsValid() || ip.Zone() != "" {
		return false
	}
	if ip.Is4() {
		for _, p := range nonPublicV4 {
			if p.Contains(ip) {
				return false
			}
		}
		return true
	}
	if !globalUnicastV6.Contains(ip) {
		return false
	}
	for _, p := range nonPublicV6 {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}
