// Package dcv performs domain control validation (DCV) checks against the live DNS and
// HTTP, CAA checks (RFC 8659), and sends DCV e-mails through an SMTP relay.
//
// Every DNS lookup goes to one configured resolver through github.com/miekg/dns, never
// the system resolver, so that tests can point the checker at a loopback server and
// production at a known recursive resolver.
package dcv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Config of a Checker. Zero values take the defaults noted.
type Config struct {
	// Resolver is host:port of the DNS server every lookup goes to (a recursive resolver in
	// production, a loopback test server in tests). Empty: the first nameserver of
	// /etc/resolv.conf, port 53.
	Resolver string
	// Timeout bounds one DNS exchange and one HTTP fetch (each redirect hop included in one
	// fetch). Default 5s.
	Timeout time.Duration
	// HTTPPort and HTTPSPort are the ports http-token fetches connect to for http:// and
	// https:// URLs (the Baseline Requirements' authorized ports 80 and 443; tests set loopback
	// ports). A redirect to an explicit port is allowed only when it is 80/443 or equals the
	// configured port of its scheme.
	HTTPPort, HTTPSPort int
	// AllowPrivate lets http-token fetches connect to addresses that are not public (loopback,
	// private, link-local, CGNAT, documentation, NAT64, 6to4, Teredo, IPv4-mapped... see
	// isPublic). Off in production (refused with a clear reason); tests turn it on.
	AllowPrivate bool
	// CNAMETarget is the host a dns-cname-token record points to. Default
	// "dcv.certorder.invalid".
	CNAMETarget string
	// CAAIdentities are the issuer-domain-names (RFC 8659) that name this CA in CAA
	// issue/issuewild records, compared case-insensitively. Default []string{"certorder"}.
	CAAIdentities []string
	// DNSSEC is whether every lookup is validated (DNSSECValidate, the default when empty)
	// or taken as the resolver gives it (DNSSECOff, for tests whose loopback zones are
	// unsigned). See dnssec.go.
	DNSSEC DNSSECMode
	// TrustAnchors are the DS or DNSKEY records validation starts from, each anchoring the
	// zone it names; the closest one above a name is used. Empty: RootTrustAnchors (the IANA
	// root KSKs), which are above every name. Tests anchor their signed loopback zones.
	TrustAnchors []dns.RR
}

// Defaults applied by New.
const (
	DefaultTimeout     = 5 * time.Second
	DefaultCNAMETarget = "dcv.certorder.invalid"
	DefaultCAAIdentity = "certorder"
)

// resolvConf is a variable so that a test could point it elsewhere.
var resolvConf = "/etc/resolv.conf"

// Checker runs DCV and CAA checks. It is safe for concurrent use.
type Checker struct {
	cfg Config
	// identities is CAAIdentities lower-cased without trailing dots, for comparison.
	identities map[string]bool
	// anchors are the trust anchors as DS records by zone; nil when DNSSEC is off.
	anchors map[string][]*dns.DS
}

// New returns a Checker for cfg with defaults filled in. It fails only when cfg.Resolver is
// empty and /etc/resolv.conf cannot be read or names no server.
func New(cfg Config) (*Checker, error) {
	if cfg.Resolver == "" {
		cc, err := dns.ClientConfigFromFile(resolvConf)
		if err != nil {
			return nil, fmt.Errorf("dcv: no resolver configured and %s unreadable: %w", resolvConf, err)
		}
		if len(cc.Servers) == 0 {
			return nil, fmt.Errorf("dcv: no resolver configured and %s names no nameserver", resolvConf)
		}
		port := cc.Port
		if port == "" {
			port = "53"
		}
		cfg.Resolver = net.JoinHostPort(cc.Servers[0], port)
	} else if _, _, err := net.SplitHostPort(cfg.Resolver); err != nil {
		// A bare address is accepted as port 53 rather than failing every lookup later.
		cfg.Resolver = net.JoinHostPort(cfg.Resolver, "53")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.HTTPPort <= 0 {
		cfg.HTTPPort = 80
	}
	if cfg.HTTPSPort <= 0 {
		cfg.HTTPSPort = 443
	}
	if cfg.CNAMETarget == "" {
		cfg.CNAMETarget = DefaultCNAMETarget
	}
	if len(cfg.CAAIdentities) == 0 {
		cfg.CAAIdentities = []string{DefaultCAAIdentity}
	} else {
		// Copy so that the caller cannot change our configuration afterwards.
		cfg.CAAIdentities = append([]string(nil), cfg.CAAIdentities...)
	}
	ids := make(map[string]bool, len(cfg.CAAIdentities))
	for _, id := range cfg.CAAIdentities {
		ids[normName(id)] = true
	}
	c := &Checker{cfg: cfg, identities: ids}
	switch cfg.DNSSEC {
	case "", DNSSECValidate:
		c.cfg.DNSSEC = DNSSECValidate
		if len(cfg.TrustAnchors) == 0 {
			c.cfg.TrustAnchors = RootTrustAnchors()
		} else {
			c.cfg.TrustAnchors = copyRRs(cfg.TrustAnchors)
		}
		var err error
		if c.anchors, err = anchorSet(c.cfg.TrustAnchors); err != nil {
			return nil, err
		}
	case DNSSECOff:
		c.cfg.TrustAnchors = nil
	default:
		return nil, fmt.Errorf("dcv: DNSSEC mode %q is neither %q nor %q", cfg.DNSSEC, DNSSECValidate, DNSSECOff)
	}
	return c, nil
}

func copyRRs(rrs []dns.RR) []dns.RR {
	out := make([]dns.RR, len(rrs))
	for i, rr := range rrs {
		out[i] = dns.Copy(rr)
	}
	return out
}

// validating reports whether lookups are DNSSEC-validated.
func (c *Checker) validating() bool { return c.anchors != nil }

// Config returns the configuration with defaults filled in.
func (c *Checker) Config() Config {
	cfg := c.cfg
	cfg.CAAIdentities = append([]string(nil), c.cfg.CAAIdentities...)
	if cfg.TrustAnchors != nil {
		cfg.TrustAnchors = copyRRs(cfg.TrustAnchors)
	}
	return cfg
}

// Result of looking for a random value. Found false with a nil error means a definitive
// answer that the value is not there (NXDOMAIN, no such record, record with other value,
// 404, body without the value); Detail then says what was seen, for an error message shown
// to the API client. A non-nil error means the check could not be made (timeout, SERVFAIL,
// connection refused, refused private address...): callers retry later.
type Result struct {
	Found  bool
	Where  string // the record name or URL where the value was found
	Detail string
}

// normName lower-cases a domain name and removes one trailing dot, the form used in
// messages and comparisons.
func normName(s string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
}

// errEmptyToken guards against an empty random value, which every "contains" or
// "equals after trimming" check would otherwise match trivially.
var errEmptyToken = errors.New("dcv: empty random value")

// checkDomain validates a domain given to a check, so that malformed input is reported
// as such rather than as a DNS packing error.
func checkDomain(domain string) (string, error) {
	d := normName(domain)
	if d == "" {
		return "", errors.New("dcv: empty domain name")
	}
	if _, ok := dns.IsDomainName(d); !ok || strings.ContainsAny(d, " /:\\@") {
		return "", fmt.Errorf("dcv: invalid domain name %q", domain)
	}
	return d, nil
}

// answer is the outcome of one DNS question: rrs of the asked type (following CNAMEs when
// the server did not), or nxdomain/empty.
type answer struct {
	rrs      []dns.RR
	nxdomain bool
	// cnames are the CNAME hops followed, in order ("a.example.com -> b.example.net").
	cnames []string
}

// describe says what an empty answer was, for Detail messages.
func (a answer) describe() string {
	switch {
	case a.nxdomain:
		return "NXDOMAIN"
	default:
		return "no records"
	}
}

// rcodeError is a DNS answer whose rcode makes the lookup inconclusive.
type rcodeError struct {
	name  string
	qtype uint16
	rcode int
}

func (e *rcodeError) Error() string {
	return fmt.Sprintf("DNS %s lookup of %s: server answered %s",
		dns.TypeToString[e.qtype], normName(e.name), dns.RcodeToString[e.rcode])
}

// exchange sends one question to the resolver: UDP first, TCP if the answer is truncated,
// one retry when the exchange times out. NOERROR and NXDOMAIN answers are returned; other
// rcodes are errors.
func (c *Checker) exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(strings.ToLower(name)), qtype)
	m.RecursionDesired = true
	// A large EDNS buffer avoids most TCP fallbacks for TXT and CAA sets (and signatures).
	// When validating, DO asks for the RRSIGs and proofs, and CD has a validating resolver
	// hand over even an answer it finds bogus, so that we judge it and say why.
	m.SetEdns0(4096, c.validating())
	m.CheckingDisabled = c.validating()

	var r *dns.Msg
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		r, err = c.exchangeOnce(ctx, m, "udp")
		if err == nil && r.Truncated {
			r, err = c.exchangeOnce(ctx, m, "tcp")
		}
		if err == nil || ctx.Err() != nil || !isTimeout(err) {
			break
		}
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = ctxErr
		}
		return nil, fmt.Errorf("DNS %s lookup of %s via %s: %w",
			dns.TypeToString[qtype], normName(name), c.cfg.Resolver, err)
	}
	if r.Rcode != dns.RcodeSuccess && r.Rcode != dns.RcodeNameError {
		return nil, &rcodeError{name: name, qtype: qtype, rcode: r.Rcode}
	}
	return r, nil
}

// exchangeOnce is one exchange over network. The connection's deadline is moved to now
// when ctx is cancelled, because miekg/dns only honours a context deadline, not a cancel.
func (c *Checker) exchangeOnce(ctx context.Context, m *dns.Msg, network string) (*dns.Msg, error) {
	cl := &dns.Client{Net: network, Timeout: c.cfg.Timeout}
	conn, err := cl.DialContext(ctx, c.cfg.Resolver)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	r, _, err := cl.ExchangeWithConnContext(ctx, m, conn)
	return r, err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// maxCNAMEHops bounds CNAME chains we follow ourselves (RFC 8659 uses 8 for CAA; the same
// bound is reasonable for TXT and address lookups).
const maxCNAMEHops = 8

// lookup asks for qtype at name and returns the records of that type. When the answer holds
// only a CNAME for the name (an authoritative-style server that does not chase), the target
// is queried, at most maxCNAMEHops times. A recursive resolver chases itself and returns the
// chain together with the records, which are then taken directly.
//
// When validating, each hop is validated in its own zone (dnssec.go) and only the records
// owned by the name asked are taken: a chain the resolver followed is asked again hop by
// hop. A bogus answer fails the lookup with a *DNSSECError.
func (c *Checker) lookup(ctx context.Context, name string, qtype uint16) (answer, error) {
	var a answer
	var v *validator
	if c.validating() {
		v = c.newValidator()
	}
	cur := dns.Fqdn(strings.ToLower(name))
	for hop := 0; ; hop++ {
		r, err := c.exchange(ctx, cur, qtype)
		if err != nil {
			return a, err
		}
		var cname string
		if v != nil {
			var rrs []dns.RR
			rrs, cname, err = v.check(ctx, r, cur, qtype)
			var b *bogus
			if errors.As(err, &b) {
				return a, &DNSSECError{Name: name, Qtype: qtype, Reason: b.reason}
			}
			if err != nil {
				return a, err
			}
			a.rrs = append(a.rrs, rrs...)
		} else {
			for _, rr := range r.Answer {
				if rr.Header().Rrtype == qtype {
					a.rrs = append(a.rrs, rr)
				}
				if cn, ok := rr.(*dns.CNAME); ok && qtype != dns.TypeCNAME && strings.EqualFold(cn.Hdr.Name, cur) {
					cname = strings.ToLower(cn.Target)
				}
			}
		}
		if len(a.rrs) > 0 || cname == "" {
			a.nxdomain = r.Rcode == dns.RcodeNameError
			return a, nil
		}
		if hop >= maxCNAMEHops {
			return a, fmt.Errorf("DNS %s lookup of %s: more than %d CNAME hops",
				dns.TypeToString[qtype], normName(name), maxCNAMEHops)
		}
		a.cnames = append(a.cnames, normName(cur)+" -> "+normName(cname))
		cur = cname
	}
}

// txtValue joins the character-strings of one TXT record, as DNS providers split long
// values into 255-byte strings.
func txtValue(rr dns.RR) string {
	t, ok := rr.(*dns.TXT)
	if !ok {
		return ""
	}
	return strings.Join(t.Txt, "")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
