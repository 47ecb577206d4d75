package validation

import (
	"fmt"
	"net"
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

var idnaProfile = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.BidiRule(), idna.VerifyDNSLength(true), idna.StrictDomainName(true))

// NormalizeDNSName checks one name as the Baseline Requirements want it on
// a public TLS certificate and returns its canonical form: lower-case
// A-labels (Unicode names are converted), an optional leading "*." when
// wildcards are allowed, a registrable domain under a public suffix.
func NormalizeDNSName(raw string, allowWildcard bool) (string, error) {
	name := strings.TrimSpace(raw)
	if name == "" {
		return "", fmt.Errorf("the name is empty")
	}
	if strings.HasSuffix(name, ".") {
		return "", fmt.Errorf("%q must not end with a dot", raw)
	}
	if net.ParseIP(name) != nil {
		return "", fmt.Errorf("%q is an IP address; this product secures domain names only", raw)
	}
	wildcard := false
	if strings.HasPrefix(name, "*.") {
		if !allowWildcard {
			return "", fmt.Errorf("%q is a wildcard name, which this product does not allow", raw)
		}
		wildcard = true
		name = name[2:]
	}
	if strings.Contains(name, "*") {
		return "", fmt.Errorf("%q: a wildcard may only be the whole left-most label", raw)
	}
	ascii, err := idnaProfile.ToASCII(name)
	if err != nil {
		return "", fmt.Errorf("%q is not a valid domain name", raw)
	}
	ascii = strings.ToLower(ascii)
	if len(ascii) > 253 {
		return "", fmt.Errorf("%q is longer than 253 characters", raw)
	}
	labels := strings.Split(ascii, ".")
	if len(labels) < 2 {
		return "", fmt.Errorf("%q is not a fully qualified domain name", raw)
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 {
			return "", fmt.Errorf("%q has an empty label or one longer than 63 characters", raw)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "", fmt.Errorf("%q has a label that starts or ends with a hyphen", raw)
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", fmt.Errorf("%q contains a character not allowed in a host name", raw)
			}
		}
	}
	if reservedTLDs[labels[len(labels)-1]] {
		return "", fmt.Errorf("%q is under a special-use top-level domain that a public certificate may not name", raw)
	}
	suffix, icann := publicsuffix.PublicSuffix(ascii)
	if !icann && !strings.Contains(suffix, ".") {
		return "", fmt.Errorf("%q does not end in a public top-level domain", raw)
	}
	if _, err := publicsuffix.EffectiveTLDPlusOne(ascii); err != nil {
		return "", fmt.Errorf("%q is a public suffix, not a domain that can be validated", raw)
	}
	if wildcard {
		return "*." + ascii, nil
	}
	return ascii, nil
}

// reservedTLDs are the special-use names of RFC 6761, RFC 7686 (.onion,
// whose certificates need the CA/B Forum's appendix C rules we do not
// implement), RFC 8375 (home.arpa, reached through .arpa), RFC 9476 (.alt)
// and ICANN's reservation of .internal. None can be validated publicly.
var reservedTLDs = map[string]bool{
	"onion": true, "test": true, "localhost": true, "invalid": true, "example": true,
	"local": true, "alt": true, "internal": true, "arpa": true,
}

// WWWTwin is the name CertCentral secures for free beside a single name:
// www.example.com for example.com and the other way round.
func WWWTwin(name string) string {
	if strings.HasPrefix(name, "www.") {
		return strings.TrimPrefix(name, "www.")
	}
	return "www." + name
}
