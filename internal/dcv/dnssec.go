package dcv

// DNSSEC validation of every DCV and CAA lookup (Baseline Requirements 3.2.2.4 and
// 4.2.2.1 as amended by ballot SC-085: validation back to the IANA root trust anchor, by
// the algorithm of RFC 4035 section 5, with NSEC3 and SHA-2, from 2026-03-15).
//
// The configured resolver is asked with DO and CD set, so that it hands over the
// signatures and proofs and leaves the judgement to us, and each answer is validated here
// with miekg/dns's primitives: the chain of DNSKEY and DS RRsets from the closest trust
// anchor down to the zone holding the name, then the answer's RRset (or the NSEC/NSEC3
// proof of a negative answer) against that zone's keys. A name is either
//
//   - secure: its zone's keys are proven from the anchor, and the answer must verify;
//   - insecure: a signed parent proves that a delegation above it has no DS (an NSEC or
//     NSEC3 record without the DS bit, or an NSEC3 opt-out span), or every DS names an
//     algorithm or digest not supported, or no trust anchor is above it; the answer is
//     taken as it comes, as before DNSSEC;
//   - bogus: anything else, which fails the lookup with a *DNSSECError.

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// DNSSECMode is whether lookups are validated.
type DNSSECMode string

const (
	// DNSSECValidate validates every lookup from the trust anchors (the default).
	DNSSECValidate DNSSECMode = "validate"
	// DNSSECOff takes answers as the resolver gives them. For tests whose loopback zones are
	// unsigned; the Baseline Requirements forbid it for a publicly trusted CA.
	DNSSECOff DNSSECMode = "off"
)

// rootAnchors are the IANA root zone's key-signing keys, KSK-2017 (tag 20326) and KSK-2024
// (tag 38696), as DS records (https://data.iana.org/root-anchors/root-anchors.xml).
const rootAnchors = `
. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D
. IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16
`

// RootTrustAnchors returns the IANA root trust anchors, the default of Config.TrustAnchors.
func RootTrustAnchors() []dns.RR {
	rrs, err := ParseTrustAnchors(strings.NewReader(rootAnchors), "root anchors")
	if err != nil {
		panic("dcv: built-in root trust anchors: " + err.Error())
	}
	return rrs
}

// ParseTrustAnchors reads DS and DNSKEY records in zone file syntax (as in unbound's
// root.key; comments allowed, names relative to the root), each anchoring the zone it names.
func ParseTrustAnchors(r io.Reader, file string) ([]dns.RR, error) {
	zp := dns.NewZoneParser(r, ".", file)
	var out []dns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		switch rr.(type) {
		case *dns.DS, *dns.DNSKEY:
			out = append(out, rr)
		default:
			return nil, fmt.Errorf("%s: a %s record is not a trust anchor (DS or DNSKEY)", file, dns.TypeToString[rr.Header().Rrtype])
		}
	}
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no DS or DNSKEY record", file)
	}
	return out, nil
}

// anchorSet turns trust anchors into DS records by zone: a DNSKEY anchor is taken as the
// SHA-256 DS of itself, which asks the same of the zone's DNSKEY RRset (to hold the key and
// be signed by it).
func anchorSet(rrs []dns.RR) (map[string][]*dns.DS, error) {
	out := map[string][]*dns.DS{}
	for _, rr := range rrs {
		var ds *dns.DS
		switch a := rr.(type) {
		case *dns.DS:
			ds = a
		case *dns.DNSKEY:
			if a.Flags&dns.ZONE == 0 || a.Protocol != 3 {
				return nil, fmt.Errorf("dcv: trust anchor %s: not a zone key", a.Hdr.Name)
			}
			ds = a.ToDS(dns.SHA256)
			if ds == nil {
				return nil, fmt.Errorf("dcv: trust anchor %s: DNSKEY cannot be hashed", a.Hdr.Name)
			}
		default:
			return nil, fmt.Errorf("dcv: trust anchor %s: a %s record is not a trust anchor (DS or DNSKEY)",
				rr.Header().Name, dns.TypeToString[rr.Header().Rrtype])
		}
		zone := dns.CanonicalName(ds.Hdr.Name)
		out[zone] = append(out[zone], ds)
	}
	return out, nil
}

// DNSSECError is a lookup whose answer failed DNSSEC validation: the zone is signed (or a
// signed parent says it is) and the answer or its chain of trust does not verify, expired,
// lacks its signatures, or a negative answer lacks its proof. It may be forged; the lookup
// proves nothing and CAA refuses issuance.
type DNSSECError struct {
	Name   string // the name looked up
	Qtype  uint16
	Reason string
}

func (e *DNSSECError) Error() string {
	return fmt.Sprintf("DNSSEC validation of the %s lookup of %s failed (bogus answer, possibly forged): %s",
		dns.TypeToString[e.Qtype], showName(e.Name), e.Reason)
}

// maxNSEC3Iterations: NSEC3 records with more iterations are not used, so that a proof
// relying on them fails (RFC 9276 lets validators refuse them; zones now use 0).
const maxNSEC3Iterations = 150

// supportedAlgorithms are the DNSSEC algorithms miekg/dns verifies. A zone signed only with
// others (ED448, GOST, DSA) is insecure to us, as RFC 4035 section 5.2 says.
var supportedAlgorithms = map[uint8]bool{
	dns.RSASHA1: true, dns.RSASHA1NSEC3SHA1: true, dns.RSASHA256: true, dns.RSASHA512: true,
	dns.ECDSAP256SHA256: true, dns.ECDSAP384SHA384: true, dns.ED25519: true,
}

// secureZone is a zone whose DNSKEY RRset is proven: the keys that may sign its data.
type secureZone struct {
	name string // lower-case FQDN
	keys []*dns.DNSKEY
}

// validator validates the answers of one lookup. It remembers the chain it has proven, so
// that the hops of a CNAME chain share it.
type validator struct {
	c    *Checker
	now  time.Time
	memo map[string]*secureZone // by lower-case FQDN: the zone whose data the name is; nil insecure
}

func (c *Checker) newValidator() *validator {
	return &validator{c: c, now: time.Now(), memo: map[string]*secureZone{}}
}

// bogus is a validation failure found while looking up qtype at name.
type bogus struct{ reason string }

func (b *bogus) Error() string { return b.reason }

func bogusf(format string, args ...any) error { return &bogus{reason: fmt.Sprintf(format, args...)} }

// check validates the answer r to qtype at name and returns the records of qtype owned by
// name, or the target of name's CNAME (to be asked next). Records of other owners (a chain
// a resolver followed) are left for the next hop, which validates them in their own zone.
func (v *validator) check(ctx context.Context, r *dns.Msg, name string, qtype uint16) ([]dns.RR, string, error) {
	z, err := v.zoneOf(ctx, name)
	if err != nil {
		return nil, "", err
	}
	set := owned(r.Answer, name, qtype)
	cname := owned(r.Answer, name, dns.TypeCNAME)
	if qtype == dns.TypeCNAME {
		cname = nil
	}
	if z == nil {
		// Insecure: taken as it comes.
		if len(set) == 0 && len(cname) > 0 {
			return nil, strings.ToLower(cname[0].(*dns.CNAME).Target), nil
		}
		return set, "", nil
	}
	for _, rrset := range [][]dns.RR{set, cname} {
		if len(rrset) == 0 {
			continue
		}
		t := rrset[0].Header().Rrtype
		sig, err := v.verify(z, rrset, sigsFor(r.Answer, name, t))
		if err != nil {
			return nil, "", bogusf("the %s RRset of %s: %v", dns.TypeToString[t], showName(name), err)
		}
		if expandedWildcard(name, sig) {
			if err := v.provesExpansion(z, r.Ns, name, sig.Labels); err != nil {
				return nil, "", err
			}
		}
		if t == qtype {
			return rrset, "", nil
		}
		return nil, strings.ToLower(rrset[0].(*dns.CNAME).Target), nil
	}
	switch out, why := v.deny(z, r.Ns, name, qtype); out {
	case denied:
		return nil, "", nil
	default:
		return nil, "", bogusf("the answer that %s has no %s record is not proven, but the zone %s is signed: %s",
			showName(name), dns.TypeToString[qtype], showName(z.name), why)
	}
}

// zoneOf returns the secure zone whose data name is, nil when name is insecure.
func (v *validator) zoneOf(ctx context.Context, name string) (*secureZone, error) {
	name = dns.CanonicalName(name)
	if z, ok := v.memo[name]; ok {
		return z, nil
	}
	var z *secureZone
	var err error
	if ds, ok := v.c.anchors[name]; ok {
		z, err = v.keysFromDS(ctx, name, ds)
	} else if name == "." {
		z = nil // under no trust anchor: nothing to validate against
	} else {
		var parent *secureZone
		if parent, err = v.zoneOf(ctx, parentName(name)); err == nil && parent != nil {
			z, err = v.descend(ctx, parent, name)
		}
	}
	if err != nil {
		return nil, err
	}
	v.memo[name] = z
	return z, nil
}

// descend looks for a delegation at name, inside the secure zone parent: its DS RRset signed
// by parent leads to name's own keys; a signed proof that there is no DS either shows an
// unsigned delegation (insecure from here down) or that name is no zone cut (parent goes on).
func (v *validator) descend(ctx context.Context, parent *secureZone, name string) (*secureZone, error) {
	r, err := v.c.exchange(ctx, name, dns.TypeDS)
	if err != nil {
		return nil, err
	}
	if set := owned(r.Answer, name, dns.TypeDS); len(set) > 0 {
		if _, err := v.verify(parent, set, sigsFor(r.Answer, name, dns.TypeDS)); err != nil {
			return nil, bogusf("the DS RRset of %s: %v", showName(name), err)
		}
		ds := make([]*dns.DS, 0, len(set))
		for _, rr := range set {
			ds = append(ds, rr.(*dns.DS))
		}
		return v.keysFromDS(ctx, name, ds)
	}
	if cn := owned(r.Answer, name, dns.TypeCNAME); len(cn) > 0 {
		// An alias is never a zone cut.
		if _, err := v.verify(parent, cn, sigsFor(r.Answer, name, dns.TypeCNAME)); err != nil {
			return nil, bogusf("the CNAME RRset of %s: %v", showName(name), err)
		}
		return parent, nil
	}
	switch out, why := v.deny(parent, r.Ns, name, dns.TypeDS); out {
	case denied:
		return parent, nil
	case insecureDelegation:
		return nil, nil
	default:
		return nil, bogusf("the zone %s is signed but does not prove that %s has no DS record: %s",
			showName(parent.name), showName(name), why)
	}
}

// usableDS keeps the DS records of supported algorithms and digests, without SHA-1 ones
// when SHA-2 ones are there (RFC 4509 section 3: no downgrade to the weaker digest).
func usableDS(ds []*dns.DS) []*dns.DS {
	var out []*dns.DS
	sha2 := false
	for _, d := range ds {
		if supportedAlgorithms[d.Algorithm] && (d.DigestType == dns.SHA256 || d.DigestType == dns.SHA384) {
			sha2 = true
		}
	}
	for _, d := range ds {
		if !supportedAlgorithms[d.Algorithm] {
			continue
		}
		switch d.DigestType {
		case dns.SHA256, dns.SHA384:
			out = append(out, d)
		case dns.SHA1:
			if !sha2 {
				out = append(out, d)
			}
		}
	}
	return out
}

// keysFromDS proves zone's DNSKEY RRset from its DS records (or trust anchors): a key
// matching one of them must sign the set. nil without error: no DS is usable, the zone is
// insecure to us (RFC 4035 section 5.2).
func (v *validator) keysFromDS(ctx context.Context, zone string, ds []*dns.DS) (*secureZone, error) {
	ds = usableDS(ds)
	if len(ds) == 0 {
		return nil, nil
	}
	r, err := v.c.exchange(ctx, zone, dns.TypeDNSKEY)
	if err != nil {
		return nil, err
	}
	set := owned(r.Answer, zone, dns.TypeDNSKEY)
	if len(set) == 0 {
		return nil, bogusf("the zone %s has a DS record but no DNSKEY record", showName(zone))
	}
	sigs := sigsFor(r.Answer, zone, dns.TypeDNSKEY)
	matched := false
	var lastErr error
	for _, d := range ds {
		for _, rr := range set {
			k := rr.(*dns.DNSKEY)
			if !usableKey(k) || k.KeyTag() != d.KeyTag || k.Algorithm != d.Algorithm {
				continue
			}
			if kd := k.ToDS(d.DigestType); kd == nil || !strings.EqualFold(kd.Digest, d.Digest) {
				continue
			}
			matched = true
			for _, s := range sigs {
				if s.KeyTag != d.KeyTag || s.Algorithm != k.Algorithm {
					continue
				}
				if err := v.checkSig(s, k, set); err != nil {
					lastErr = err
					continue
				}
				z := &secureZone{name: dns.CanonicalName(zone)}
				for _, rr := range set {
					if k := rr.(*dns.DNSKEY); usableKey(k) {
						z.keys = append(z.keys, k)
					}
				}
				return z, nil
			}
		}
	}
	switch {
	case !matched:
		return nil, bogusf("no DNSKEY of %s matches its DS records", showName(zone))
	case lastErr != nil:
		return nil, bogusf("the DNSKEY RRset of %s: %v", showName(zone), lastErr)
	default:
		return nil, bogusf("the DNSKEY RRset of %s is not signed by the key its DS names", showName(zone))
	}
}

// usableKey: a zone key of a supported algorithm, not revoked (RFC 5011).
func usableKey(k *dns.DNSKEY) bool {
	return k.Flags&dns.ZONE != 0 && k.Flags&dns.REVOKE == 0 && k.Protocol == 3 && supportedAlgorithms[k.Algorithm]
}

// verify finds an RRSIG by z's keys that verifies rrset now, and returns it.
func (v *validator) verify(z *secureZone, rrset []dns.RR, sigs []*dns.RRSIG) (*dns.RRSIG, error) {
	if len(sigs) == 0 {
		return nil, fmt.Errorf("no RRSIG, but the zone %s is signed", showName(z.name))
	}
	var why error
	for _, s := range sigs {
		if dns.CanonicalName(s.SignerName) != z.name {
			why = fmt.Errorf("RRSIG by %s, not by the zone %s", showName(s.SignerName), showName(z.name))
			continue
		}
		found := false
		for _, k := range z.keys {
			if k.KeyTag() != s.KeyTag || k.Algorithm != s.Algorithm {
				continue
			}
			found = true
			if err := v.checkSig(s, k, rrset); err != nil {
				why = err
				continue
			}
			return s, nil
		}
		if !found && why == nil {
			why = fmt.Errorf("RRSIG by key %d, which is not a DNSKEY of %s", s.KeyTag, showName(z.name))
		}
	}
	return nil, why
}

// checkSig verifies one signature: cryptographically, then its validity period.
func (v *validator) checkSig(s *dns.RRSIG, k *dns.DNSKEY, rrset []dns.RR) error {
	if err := s.Verify(k, rrset); err != nil {
		return fmt.Errorf("RRSIG by key %d of %s does not verify (%v)", s.KeyTag, showName(s.SignerName), err)
	}
	// Verify compares the signer as a string suffix; the owner must be in the signer's zone.
	if !dns.IsSubDomain(s.SignerName, rrset[0].Header().Name) {
		return fmt.Errorf("RRSIG by %s for a name outside it", showName(s.SignerName))
	}
	if !s.ValidityPeriod(v.now) {
		return fmt.Errorf("RRSIG by key %d of %s is valid only from %s to %s", s.KeyTag, showName(s.SignerName),
			rrsigTime(s.Inception), rrsigTime(s.Expiration))
	}
	return nil
}

// rrsigTime shows an RRSIG inception or expiration (serial number arithmetic, RFC 4034
// section 3.1.5) as RFC 3339.
func rrsigTime(t uint32) string {
	s := dns.TimeToString(t)
	if tm, err := time.Parse("20060102150405", s); err == nil {
		return tm.Format(time.RFC3339)
	}
	return s
}

// expandedWildcard reports whether the RRset at name verified with sig was synthesized from
// a wildcard: the signature covers fewer labels than name has (a literal "*" owner aside).
func expandedWildcard(name string, sig *dns.RRSIG) bool {
	n := dns.CountLabel(name)
	if int(sig.Labels) >= n {
		return false
	}
	return !(int(sig.Labels) == n-1 && strings.HasPrefix(name, "*."))
}

// provesExpansion checks the proof that comes with a wildcard-expanded answer: name itself
// does not exist (RFC 4035 section 5.3.4, RFC 5155 section 8.8), so that a recorded wildcard
// answer cannot be replayed for a name that has records of its own.
func (v *validator) provesExpansion(z *secureZone, ns []dns.RR, name string, labels uint8) error {
	nsecs, nsec3s, why := v.denialRecords(z, ns)
	for _, n := range nsecs {
		if nsecCovers(n, name) && usableCover(n, name) {
			return nil
		}
	}
	nameLabels := dns.SplitDomainName(name)
	if int(labels)+1 <= len(nameLabels) {
		nc := dns.Fqdn(strings.Join(nameLabels[len(nameLabels)-int(labels)-1:], "."))
		for _, n := range nsec3s {
			if nsec3Covers(n, nc) {
				return nil
			}
		}
	}
	if why == "" {
		why = "no NSEC or NSEC3 record covers it"
	}
	return bogusf("wildcard answer for %s without the signed proof that %s does not exist: %s",
		showName(name), showName(name), why)
}

// denial is what a negative answer's proof shows.
type denial int

const (
	notProven          denial = iota
	denied                    // no record of the type at the name (the name may not exist)
	insecureDelegation        // DS only: an unsigned delegation at or above the name
)

// denialRecords returns the NSEC and NSEC3 records of the authority section that verify
// with z's keys and belong to z, and why others were left out.
func (v *validator) denialRecords(z *secureZone, ns []dns.RR) ([]*dns.NSEC, []*dns.NSEC3, string) {
	var nsecs []*dns.NSEC
	var nsec3s []*dns.NSEC3
	var why []string
	for _, rr := range ns {
		h := rr.Header()
		if h.Rrtype != dns.TypeNSEC && h.Rrtype != dns.TypeNSEC3 {
			continue
		}
		owner := dns.CanonicalName(h.Name)
		if n3, ok := rr.(*dns.NSEC3); ok {
			if parentName(owner) != z.name {
				continue
			}
			if n3.Hash != dns.SHA1 || n3.Flags > 1 {
				continue // unknown hash or flags: ignored (RFC 5155 section 8.2)
			}
			if n3.Iterations > maxNSEC3Iterations {
				why = append(why, fmt.Sprintf("NSEC3 %s has %d iterations, more than %d", owner, n3.Iterations, maxNSEC3Iterations))
				continue
			}
		} else if !dns.IsSubDomain(z.name, owner) {
			continue
		}
		if _, err := v.verify(z, []dns.RR{rr}, sigsFor(ns, owner, h.Rrtype)); err != nil {
			why = append(why, fmt.Sprintf("%s %s: %v", dns.TypeToString[h.Rrtype], showName(owner), err))
			continue
		}
		switch n := rr.(type) {
		case *dns.NSEC:
			nsecs = append(nsecs, n)
		case *dns.NSEC3:
			nsec3s = append(nsec3s, n)
		}
	}
	return nsecs, nsec3s, strings.Join(why, "; ")
}

// deny checks the proof, in the authority section ns, that name has no qtype record in the
// secure zone z: NSEC (RFC 4035 section 5.4) or NSEC3 (RFC 5155 section 8), with the rules
// of RFC 6840 section 4 (the CNAME bit; a delegation's NSEC proves nothing under it).
func (v *validator) deny(z *secureZone, ns []dns.RR, name string, qtype uint16) (denial, string) {
	nsecs, nsec3s, why := v.denialRecords(z, ns)
	name = dns.CanonicalName(name)
	if len(nsecs) > 0 {
		if d, w := denyNSEC(nsecs, z.name, name, qtype); d != notProven {
			return d, ""
		} else if why == "" {
			why = w
		}
	}
	if len(nsec3s) > 0 {
		if d, w := denyNSEC3(nsec3s, z.name, name, qtype); d != notProven {
			return d, ""
		} else if why == "" {
			why = w
		}
	}
	if why == "" {
		why = "no signed NSEC or NSEC3 record in the answer"
	}
	return notProven, why
}

func denyNSEC(nsecs []*dns.NSEC, zone, name string, qtype uint16) (denial, string) {
	for _, n := range nsecs {
		if dns.CanonicalName(n.Hdr.Name) != name {
			continue
		}
		t := n.TypeBitMap
		if qtype == dns.TypeDS {
			switch {
			case hasType(t, dns.TypeDS):
				return notProven, fmt.Sprintf("the NSEC record of %s lists DS", showName(name))
			case hasType(t, dns.TypeSOA):
				continue // the child zone's own apex says nothing of the parent's DS
			case hasType(t, dns.TypeNS):
				return insecureDelegation, ""
			}
			return denied, ""
		}
		if hasType(t, qtype) || hasType(t, dns.TypeCNAME) {
			return notProven, fmt.Sprintf("the NSEC record of %s lists %s or CNAME", showName(name), dns.TypeToString[qtype])
		}
		if hasType(t, dns.TypeNS) && !hasType(t, dns.TypeSOA) {
			continue // a delegation point: the parent knows nothing of the child's records
		}
		return denied, ""
	}
	for _, n := range nsecs {
		if !nsecCovers(n, name) || !usableCover(n, name) {
			continue
		}
		if next := dns.CanonicalName(n.NextDomain); next != name && dns.IsSubDomain(name, next) {
			return denied, "" // an empty non-terminal: it exists, with no records
		}
		if qtype == dns.TypeDS {
			// No name, so no delegation: the walk goes on in the same zone, where the answer
			// itself must then be proven.
			return denied, ""
		}
		// The name does not exist; no wildcard may stand in for it either.
		ce := closestEncloserNSEC(zone, name, n)
		w := "*." + ce
		if ce == "." {
			w = "*."
		}
		for _, m := range nsecs {
			if nsecCovers(m, w) && usableCover(m, w) {
				return denied, ""
			}
			if dns.CanonicalName(m.Hdr.Name) == w && !hasType(m.TypeBitMap, qtype) && !hasType(m.TypeBitMap, dns.TypeCNAME) {
				return denied, ""
			}
		}
		return notProven, fmt.Sprintf("no NSEC record proves that the wildcard %s does not exist", showName(w))
	}
	return notProven, fmt.Sprintf("no NSEC record matches or covers %s", showName(name))
}

// usableCover: an NSEC record at a delegation point or a DNAME covers nothing under its
// owner (RFC 6840 section 4.1): the names there are the child's or the alias's.
func usableCover(n *dns.NSEC, name string) bool {
	owner := dns.CanonicalName(n.Hdr.Name)
	if owner == dns.CanonicalName(name) || !dns.IsSubDomain(owner, name) {
		return true
	}
	t := n.TypeBitMap
	return !(hasType(t, dns.TypeDNAME) || hasType(t, dns.TypeNS) && !hasType(t, dns.TypeSOA))
}

// closestEncloserNSEC is the longest existing ancestor of name, a name an NSEC record
// proves not to exist: the longer of its common ancestors with the record's owner and next
// name (every name between them in canonical order lies under one of these).
func closestEncloserNSEC(zone, name string, n *dns.NSEC) string {
	best := zone
	for _, other := range []string{n.Hdr.Name, n.NextDomain} {
		if a := commonAncestor(name, other); dns.CountLabel(a) > dns.CountLabel(best) && dns.IsSubDomain(zone, a) {
			best = a
		}
	}
	return best
}

// commonAncestor is the longest name both a and b are under (lower case).
func commonAncestor(a, b string) string {
	n := dns.CompareDomainName(a, b)
	labels := dns.SplitDomainName(dns.CanonicalName(a))
	if n == 0 {
		return "."
	}
	return dns.Fqdn(strings.Join(labels[len(labels)-n:], "."))
}

func denyNSEC3(recs []*dns.NSEC3, zone, name string, qtype uint16) (denial, string) {
	match := func(x string) *dns.NSEC3 {
		for _, r := range recs {
			if nsec3Matches(r, x) {
				return r
			}
		}
		return nil
	}
	cover := func(x string) *dns.NSEC3 {
		for _, r := range recs {
			if nsec3Covers(r, x) {
				return r
			}
		}
		return nil
	}
	if m := match(name); m != nil {
		t := m.TypeBitMap
		if qtype == dns.TypeDS {
			switch {
			case hasType(t, dns.TypeDS):
				return notProven, fmt.Sprintf("the NSEC3 record of %s lists DS", showName(name))
			case hasType(t, dns.TypeSOA):
				return notProven, fmt.Sprintf("only the child zone's NSEC3 record of %s", showName(name))
			case hasType(t, dns.TypeNS):
				return insecureDelegation, ""
			}
			return denied, ""
		}
		if hasType(t, qtype) || hasType(t, dns.TypeCNAME) {
			return notProven, fmt.Sprintf("the NSEC3 record of %s lists %s or CNAME", showName(name), dns.TypeToString[qtype])
		}
		if hasType(t, dns.TypeNS) && !hasType(t, dns.TypeSOA) {
			return notProven, fmt.Sprintf("the NSEC3 record of %s is a delegation's", showName(name))
		}
		return denied, ""
	}
	// The closest encloser proof (RFC 5155 section 8.3): the longest ancestor with a
	// matching record, and the next closer name covered.
	labels := dns.SplitDomainName(name)
	for i := 1; i <= len(labels); i++ {
		ce := dns.Fqdn(strings.Join(labels[i:], "."))
		if i == len(labels) {
			ce = "."
		}
		if !dns.IsSubDomain(zone, ce) {
			break
		}
		m := match(ce)
		if m == nil {
			continue
		}
		if hasType(m.TypeBitMap, dns.TypeDNAME) || hasType(m.TypeBitMap, dns.TypeNS) && !hasType(m.TypeBitMap, dns.TypeSOA) {
			return notProven, fmt.Sprintf("the closest encloser %s is a delegation or DNAME", showName(ce))
		}
		nc := dns.Fqdn(strings.Join(labels[i-1:], "."))
		c := cover(nc)
		if c == nil {
			return notProven, fmt.Sprintf("no NSEC3 record covers %s", showName(nc))
		}
		if qtype == dns.TypeDS {
			if c.Flags&1 != 0 {
				return insecureDelegation, "" // opt-out: an unsigned delegation may be there
			}
			return denied, ""
		}
		w := "*." + ce
		if ce == "." {
			w = "*."
		}
		if cover(w) != nil {
			return denied, ""
		}
		if m := match(w); m != nil && !hasType(m.TypeBitMap, qtype) && !hasType(m.TypeBitMap, dns.TypeCNAME) {
			return denied, ""
		}
		return notProven, fmt.Sprintf("no NSEC3 record proves that the wildcard %s does not exist", showName(w))
	}
	return notProven, fmt.Sprintf("no NSEC3 record matches %s or an ancestor", showName(name))
}

// nsec3Matches reports whether the NSEC3 record is name's (its owner's first label is the
// hash of name). The record is known to be of the zone holding name (denialRecords).
// miekg/dns's NSEC3.Match does the same but not for the root zone's records.
func nsec3Matches(n *dns.NSEC3, name string) bool {
	h := dns.HashName(name, n.Hash, n.Iterations, n.Salt)
	return h != "" && h == nsec3Owner(n)
}

// nsec3Covers reports whether the hash of name falls strictly between the record's owner
// hash and next hash (the last record wraps round to the first).
func nsec3Covers(n *dns.NSEC3, name string) bool {
	h := dns.HashName(name, n.Hash, n.Iterations, n.Salt)
	owner, next := nsec3Owner(n), strings.ToUpper(n.NextDomain)
	if h == "" || h == owner {
		return false
	}
	if owner < next {
		return owner < h && h < next
	}
	return h > owner || h < next // the last record (or the only one)
}

// nsec3Owner is the hash in the record's owner name, upper case as dns.HashName gives it.
func nsec3Owner(n *dns.NSEC3) string {
	first, _, _ := strings.Cut(n.Hdr.Name, ".")
	return strings.ToUpper(first)
}

// nsecCovers reports whether name falls strictly between the NSEC record's owner and next
// name in canonical order (the last record of a zone wraps round to the apex).
func nsecCovers(n *dns.NSEC, name string) bool {
	owner, next := n.Hdr.Name, n.NextDomain
	if canonicalCompare(owner, name) >= 0 {
		return false
	}
	return canonicalCompare(name, next) < 0 || canonicalCompare(next, owner) <= 0
}

// canonicalCompare orders names as DNSSEC does (RFC 4034 section 6.1): label by label from
// the right, each label compared as bytes with ASCII upper case folded, a name before the
// names under it. Labels are compared in wire form, so escapes in the text form do not count.
func canonicalCompare(a, b string) int {
	la, lb := wireLabels(a), wireLabels(b)
	for i := 1; i <= len(la) && i <= len(lb); i++ {
		if c := bytes.Compare(la[len(la)-i], lb[len(lb)-i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(la), len(lb))
}

func wireLabels(name string) [][]byte {
	buf := make([]byte, 256)
	n, err := dns.PackDomainName(dns.Fqdn(name), buf, 0, nil, false)
	if err != nil {
		return nil
	}
	var labels [][]byte
	for off := 0; off < n && buf[off] != 0; {
		l := int(buf[off])
		label := buf[off+1 : off+1+l]
		for i, c := range label {
			if c >= 'A' && c <= 'Z' {
				label[i] = c + 'a' - 'A'
			}
		}
		labels = append(labels, label)
		off += 1 + l
	}
	return labels
}

func hasType(types []uint16, t uint16) bool {
	for _, x := range types {
		if x == t {
			return true
		}
	}
	return false
}

// owned returns the records of type t owned by name in rrs.
func owned(rrs []dns.RR, name string, t uint16) []dns.RR {
	var out []dns.RR
	for _, rr := range rrs {
		if h := rr.Header(); h.Rrtype == t && strings.EqualFold(h.Name, name) {
			out = append(out, rr)
		}
	}
	return out
}

// sigsFor returns the RRSIGs in rrs that cover type t at name.
func sigsFor(rrs []dns.RR, name string, t uint16) []*dns.RRSIG {
	var out []*dns.RRSIG
	for _, rr := range rrs {
		if s, ok := rr.(*dns.RRSIG); ok && s.TypeCovered == t && strings.EqualFold(s.Hdr.Name, name) {
			out = append(out, s)
		}
	}
	return out
}

// showName is a name for messages: lower case without the trailing dot, the root as ".".
func showName(s string) string {
	if n := normName(s); n != "" {
		return n
	}
	return "."
}

// parentName is the name one label up; the root stays the root.
func parentName(name string) string {
	i, end := dns.NextLabel(name, 0)
	if end || name == "." {
		return "."
	}
	return name[i:]
}
