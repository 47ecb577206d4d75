package dcvtest

import (
	"crypto"
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Zone is a DNSSEC-signed zone served by a DNS, so that DNSSEC validation of DCV and CAA
// lookups is tested against real signatures. The names set on the server at and under the
// zone's apex (down to any child zone or delegation) are its contents. The apex has an SOA,
// an NS and a DNSKEY RRset (one ECDSA P-256 key, used as KSK and ZSK at once); a child zone
// signed on the same server is delegated with a DS record, a Delegate'd name without one.
//
// Every RRset is signed when it is served (the query's DO bit set), valid from an hour ago
// for a day. Negative answers carry the SOA and the NSEC records (or NSEC3, see UseNSEC3)
// proving them; wildcard owners ("*.example.com") are expanded for names that do not exist,
// with the proof that they do not. BreakDNSSEC spoils chosen answers.
type Zone struct {
	d      *DNS
	name   string
	key    *dns.DNSKEY
	signer crypto.Signer
	nsec3  *nsec3Params // guarded by d.mu; nil: NSEC
}

type nsec3Params struct {
	iterations uint16
	salt       string
	optOut     bool
}

// Breakage is how BreakDNSSEC spoils an answer.
type Breakage int

const (
	// BadSignature: every RRSIG of the answer has a corrupted signature.
	BadSignature Breakage = iota + 1
	// ExpiredSignature: every RRSIG of the answer expired a day ago.
	ExpiredSignature
	// NoSignature: the answer comes without any RRSIG, and a negative answer without its
	// NSEC/NSEC3 proof, as a forger or a stripping middlebox would send it.
	NoSignature
	// ForgedDenial: whatever there is, the answer says there is no such record (NOERROR,
	// an unsigned SOA and nothing else), as a forger hiding a CAA or DS record would.
	ForgedDenial
	// NoDenialProof: a negative or wildcard-expanded answer keeps its signatures but comes
	// without the NSEC/NSEC3 records proving it.
	NoDenialProof
)

// SignZone makes name (and the names under it, down to child zones and delegations) a
// signed zone and returns it. A signed zone under another one is delegated from it with a
// DS record.
func (d *DNS) SignZone(name string) *Zone {
	k := &dns.DNSKEY{
		Hdr:   dns.RR_Header{Name: key(name), Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: ttl},
		Flags: dns.ZONE | dns.SEP, Protocol: 3, Algorithm: dns.ECDSAP256SHA256,
	}
	priv, err := k.Generate(256)
	if err != nil {
		panic(fmt.Sprintf("dcvtest: generating a key for %s: %v", name, err))
	}
	z := &Zone{d: d, name: key(name), key: k, signer: priv.(crypto.Signer)}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.zones[z.name] = z
	return z
}

// Delegate makes name an unsigned child zone: its names are answered without signatures,
// and the signed zone above it (if any) answers DS queries for name with the signed proof
// that the delegation has no DS record (an insecure delegation).
func (d *DNS) Delegate(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cuts[key(name)] = true
}

// BreakDNSSEC spoils every answer to qtype queries for name in the way b says (0 repairs):
// the answer's RRset, or the proof of a negative answer. A DS query is answered by the zone
// above the delegation, a DNSKEY query by the zone itself.
func (d *DNS) BreakDNSSEC(name string, qtype uint16, b Breakage) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if b == 0 {
		delete(d.breaks, qkey{key(name), qtype})
	} else {
		d.breaks[qkey{key(name), qtype}] = b
	}
}

// Name is the zone's apex, a lower-case FQDN.
func (z *Zone) Name() string { return z.name }

// DNSKEY is the zone's key.
func (z *Zone) DNSKEY() *dns.DNSKEY { return dns.Copy(z.key).(*dns.DNSKEY) }

// DS is the SHA-256 DS record of the zone's key: what the parent publishes, and what a test
// gives the checker as trust anchor.
func (z *Zone) DS() *dns.DS { return z.key.ToDS(dns.SHA256) }

// UseNSEC3 makes the zone prove negative answers with NSEC3 (RFC 5155) instead of NSEC.
// With optOut, unsigned delegations are left out of the chain and every NSEC3 record has
// the opt-out flag.
func (z *Zone) UseNSEC3(iterations uint16, salt string, optOut bool) {
	z.d.mu.Lock()
	defer z.d.mu.Unlock()
	z.nsec3 = &nsec3Params{iterations: iterations, salt: salt, optOut: optOut}
}

// zoneFor is the signed zone that answers qtype at name, nil when the name is in no signed
// zone or under an unsigned delegation. DS at a zone's apex is answered by the zone above.
// d.mu is held.
func (d *DNS) zoneFor(name string, qtype uint16) *Zone {
	for a := name; ; a = parentName(a) {
		if a != name || qtype != dns.TypeDS {
			if z := d.zones[a]; z != nil {
				return z
			}
			if d.cuts[a] {
				return nil
			}
		}
		if a == "." {
			return nil
		}
	}
}

// under is the name of label under parent.
func under(label, parent string) string {
	if parent == "." {
		return label + "."
	}
	return label + "." + parent
}

// parentName is the name one label up ("." stays ".").
func parentName(name string) string {
	if name == "." {
		return "."
	}
	i, end := dns.NextLabel(name, 0)
	if end {
		return "."
	}
	return name[i:]
}

// isCut reports whether name is the apex of another zone or a delegation (d.mu held).
func (z *Zone) isCut(name string) bool {
	return name != z.name && (z.d.zones[name] != nil || z.d.cuts[name])
}

// owns reports whether name's data belongs to z: under the apex and not at or under a cut.
// A cut itself is in z only as a delegation point (see contents). d.mu is held.
func (z *Zone) owns(name string) bool {
	if !dns.IsSubDomain(z.name, name) {
		return false
	}
	for a := name; a != z.name; a = parentName(a) {
		if z.isCut(a) {
			return false
		}
	}
	return true
}

// contents maps every name of the zone holding data to its types: the apex, the names set
// on the server, and the delegation points (NS, and DS when the child is signed). d.mu is held.
func (z *Zone) contents() map[string][]uint16 {
	c := map[string][]uint16{z.name: {dns.TypeNS, dns.TypeSOA, dns.TypeDNSKEY}}
	for n, e := range z.d.names {
		if z.owns(n) {
			c[n] = append(c[n], e.types()...)
		}
	}
	delegation := func(n string, signed bool) {
		if n == z.name || !dns.IsSubDomain(z.name, n) || !z.owns(parentName(n)) {
			return
		}
		c[n] = []uint16{dns.TypeNS}
		if signed {
			c[n] = append(c[n], dns.TypeDS)
		}
	}
	for n := range z.d.zones {
		delegation(n, true)
	}
	for n := range z.d.cuts {
		delegation(n, false)
	}
	return c
}

func (e *entry) types() []uint16 {
	var t []uint16
	if e.cname != "" {
		return []uint16{dns.TypeCNAME}
	}
	if len(e.txt) > 0 {
		t = append(t, dns.TypeTXT)
	}
	if len(e.a) > 0 {
		t = append(t, dns.TypeA)
	}
	if len(e.aaaa) > 0 {
		t = append(t, dns.TypeAAAA)
	}
	if len(e.caa) > 0 {
		t = append(t, dns.TypeCAA)
	}
	return t
}

func hasType(types []uint16, t uint16) bool {
	for _, x := range types {
		if x == t {
			return true
		}
	}
	return false
}

// rrset builds the RRset of qtype at name (which holds data in z), owned by owner.
func (z *Zone) rrset(name, owner string, qtype uint16) []dns.RR {
	hdr := dns.RR_Header{Name: owner, Rrtype: qtype, Class: dns.ClassINET, Ttl: ttl}
	if name == z.name {
		switch qtype {
		case dns.TypeSOA:
			return []dns.RR{&dns.SOA{Hdr: hdr, Ns: under("ns", z.name), Mbox: under("hostmaster", z.name),
				Serial: 1, Refresh: 3600, Retry: 600, Expire: 86400, Minttl: ttl}}
		case dns.TypeNS:
			return []dns.RR{&dns.NS{Hdr: hdr, Ns: under("ns", z.name)}}
		case dns.TypeDNSKEY:
			k := z.DNSKEY()
			k.Hdr = hdr
			return []dns.RR{k}
		}
	}
	if z.isCut(name) {
		switch qtype {
		case dns.TypeNS:
			return []dns.RR{&dns.NS{Hdr: hdr, Ns: "ns." + name}}
		case dns.TypeDS:
			if child := z.d.zones[name]; child != nil {
				ds := child.DS()
				ds.Hdr = hdr
				return []dns.RR{ds}
			}
		}
		return nil
	}
	if e := z.d.names[name]; e != nil {
		if e.cname != "" && qtype != dns.TypeCNAME {
			return nil
		}
		return e.answer(owner, qtype)
	}
	return nil
}

// signed appends rrset and, when do, its RRSIG spoiled as b says.
func (z *Zone) signed(out []dns.RR, rrset []dns.RR, do bool, b Breakage) []dns.RR {
	out = append(out, rrset...)
	if !do || b == NoSignature || len(rrset) == 0 {
		return out
	}
	return append(out, z.sign(rrset, b))
}

// sign makes the RRSIG of rrset. A wildcard-expanded RRset (owner not the wildcard) is
// signed as the wildcard RRset it comes from, as RFC 4035 section 5.3.4 has validators check.
func (z *Zone) sign(rrset []dns.RR, b Breakage) *dns.RRSIG {
	now := time.Now()
	sig := &dns.RRSIG{
		Hdr:       dns.RR_Header{Ttl: ttl},
		Algorithm: z.key.Algorithm, SignerName: z.name, KeyTag: z.key.KeyTag(),
		Inception: uint32(now.Add(-time.Hour).Unix()), Expiration: uint32(now.Add(24 * time.Hour).Unix()),
	}
	if b == ExpiredSignature {
		sig.Inception, sig.Expiration = uint32(now.Add(-48*time.Hour).Unix()), uint32(now.Add(-24*time.Hour).Unix())
	}
	if err := sig.Sign(z.signer, rrset); err != nil {
		panic(fmt.Sprintf("dcvtest: signing %s: %v", rrset[0].Header().Name, err))
	}
	if b == BadSignature {
		raw, _ := base64.StdEncoding.DecodeString(sig.Signature)
		raw[len(raw)/2] ^= 0x5a
		sig.Signature = base64.StdEncoding.EncodeToString(raw)
	}
	return sig
}

// signWildcard signs the RRset of the wildcard w and returns the RRset and RRSIG renamed
// to the name asked.
func (z *Zone) signWildcard(out []dns.RR, w, qname string, qtype uint16, do bool, b Breakage) []dns.RR {
	rrset := z.rrset(w, w, qtype)
	var sig *dns.RRSIG
	if do && b != NoSignature {
		sig = z.sign(rrset, b)
	}
	for _, rr := range rrset {
		rr.Header().Name = qname
		out = append(out, rr)
	}
	if sig != nil {
		sig.Hdr.Name = qname
		out = append(out, sig)
	}
	return out
}

// respond fills m with z's answer to qtype at qname (d.mu held).
func (z *Zone) respond(m *dns.Msg, qname string, qtype uint16, do bool) {
	name := key(qname)
	b := z.d.breaks[qkey{name, qtype}]
	if b == ForgedDenial {
		m.Ns = z.rrset(z.name, z.name, dns.TypeSOA)
		return
	}
	c := z.contents()
	p := &proof{z: z, c: c, do: do, b: b}
	if types, ok := c[name]; ok && !(z.isCut(name) && qtype != dns.TypeDS) {
		switch {
		case hasType(types, dns.TypeCNAME) && qtype != dns.TypeCNAME:
			m.Answer = z.signed(nil, z.rrset(name, qname, dns.TypeCNAME), do, b)
		case hasType(types, qtype):
			m.Answer = z.signed(nil, z.rrset(name, qname, qtype), do, b)
		default:
			m.Ns = p.noData(name)
		}
		return
	}
	if p.isEmptyNonTerminal(name) {
		m.Ns = p.noData(name)
		return
	}
	ce := p.closestEncloser(name)
	w := under("*", ce)
	if types, ok := c[w]; ok {
		switch {
		case hasType(types, dns.TypeCNAME) && qtype != dns.TypeCNAME:
			m.Answer = z.signWildcard(nil, w, qname, dns.TypeCNAME, do, b)
		case hasType(types, qtype):
			m.Answer = z.signWildcard(nil, w, qname, qtype, do, b)
		default:
			m.Ns = p.wildcardNoData(name, ce, w)
			return
		}
		m.Ns = p.expanded(name, ce)
		return
	}
	m.Rcode = dns.RcodeNameError
	m.Ns = p.nxDomain(name, ce, w)
}

// proof builds the authority section of negative and wildcard answers.
type proof struct {
	z  *Zone
	c  map[string][]uint16
	do bool
	b  Breakage
}

func (p *proof) isEmptyNonTerminal(name string) bool {
	for n := range p.c {
		if n != name && dns.IsSubDomain(name, n) {
			return true
		}
	}
	return false
}

// closestEncloser is the longest existing ancestor of name (a name that does not exist).
func (p *proof) closestEncloser(name string) string {
	for a := parentName(name); a != p.z.name; a = parentName(a) {
		if _, ok := p.c[a]; ok || p.isEmptyNonTerminal(a) {
			return a
		}
	}
	return p.z.name
}

// soa is the signed SOA every negative answer carries.
func (p *proof) soa() []dns.RR {
	return p.z.signed(nil, p.z.rrset(p.z.name, p.z.name, dns.TypeSOA), p.do, p.b)
}

// withDenial appends the denial records (signed) to the SOA, unless the answer is stripped.
func (p *proof) withDenial(recs ...dns.RR) []dns.RR {
	out := p.soa()
	if !p.do || p.b == NoSignature || p.b == NoDenialProof {
		return out
	}
	seen := map[string]bool{}
	for _, rr := range recs {
		if rr == nil || seen[rr.Header().Name] {
			continue
		}
		seen[rr.Header().Name] = true
		out = p.z.signed(out, []dns.RR{rr}, true, p.b)
	}
	return out
}

func (p *proof) noData(name string) []dns.RR {
	if p.z.nsec3 != nil {
		if m := p.nsec3Match(name); m != nil {
			return p.withDenial(m)
		}
		// Left out of an opt-out chain: the closest encloser proof with the opt-out span.
		ce := p.nsec3Encloser(name)
		return p.withDenial(p.nsec3Match(ce), p.nsec3Cover(nextCloser(name, ce)))
	}
	if _, ok := p.c[name]; ok {
		return p.withDenial(p.nsecAt(name))
	}
	return p.withDenial(p.nsecCover(name)) // an empty non-terminal
}

func (p *proof) nxDomain(name, ce, w string) []dns.RR {
	if p.z.nsec3 != nil {
		return p.withDenial(p.nsec3Match(ce), p.nsec3Cover(nextCloser(name, ce)), p.nsec3Cover(w))
	}
	return p.withDenial(p.nsecCover(name), p.nsecCover(w))
}

func (p *proof) wildcardNoData(name, ce, w string) []dns.RR {
	if p.z.nsec3 != nil {
		return p.withDenial(p.nsec3Match(ce), p.nsec3Cover(nextCloser(name, ce)), p.nsec3Match(w))
	}
	return p.withDenial(p.nsecCover(name), p.nsecAt(w))
}

// expanded is the proof that a wildcard-expanded name does not exist itself (no SOA).
func (p *proof) expanded(name, ce string) []dns.RR {
	if !p.do || p.b == NoSignature || p.b == NoDenialProof {
		return nil
	}
	if p.z.nsec3 != nil {
		return p.z.signed(nil, []dns.RR{p.nsec3Cover(nextCloser(name, ce))}, true, p.b)
	}
	return p.z.signed(nil, []dns.RR{p.nsecCover(name)}, true, p.b)
}

// nextCloser is the ancestor of name one label longer than its closest encloser ce.
func nextCloser(name, ce string) string {
	labels := dns.SplitDomainName(name)
	n := dns.CountLabel(ce) + 1
	return dns.Fqdn(strings.Join(labels[len(labels)-n:], "."))
}

// nsecChain is the zone's names in canonical order.
func (p *proof) nsecChain() []string {
	names := make([]string, 0, len(p.c))
	for n := range p.c {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return canonicalLess(names[i], names[j]) })
	return names
}

func (p *proof) nsecRecord(chain []string, i int) dns.RR {
	next := chain[0]
	if i+1 < len(chain) {
		next = chain[i+1]
	}
	types := append(append([]uint16(nil), p.c[chain[i]]...), dns.TypeRRSIG, dns.TypeNSEC)
	sort.Slice(types, func(a, b int) bool { return types[a] < types[b] })
	return &dns.NSEC{Hdr: dns.RR_Header{Name: chain[i], Rrtype: dns.TypeNSEC, Class: dns.ClassINET, Ttl: ttl},
		NextDomain: next, TypeBitMap: types}
}

func (p *proof) nsecAt(name string) dns.RR {
	chain := p.nsecChain()
	for i, n := range chain {
		if n == name {
			return p.nsecRecord(chain, i)
		}
	}
	return nil
}

// nsecCover is the NSEC record whose span holds name (the last one wraps to the apex).
func (p *proof) nsecCover(name string) dns.RR {
	chain := p.nsecChain()
	i := sort.Search(len(chain), func(i int) bool { return !canonicalLess(chain[i], name) }) - 1
	if i < 0 {
		i = len(chain) - 1
	}
	return p.nsecRecord(chain, i)
}

// nsec3Names maps the hash of every name of the NSEC3 chain (the names with data and the
// empty non-terminals above them, without unsigned delegations when opting out) to its types.
func (p *proof) nsec3Names() map[string][]uint16 {
	out := map[string][]uint16{}
	prm := p.z.nsec3
	for n, types := range p.c {
		if prm.optOut && p.z.isCut(n) && !hasType(types, dns.TypeDS) {
			continue
		}
		t := append(append([]uint16(nil), types...), dns.TypeRRSIG)
		sort.Slice(t, func(a, b int) bool { return t[a] < t[b] })
		out[dns.HashName(n, dns.SHA1, prm.iterations, prm.salt)] = t
		for a := parentName(n); a != p.z.name && dns.IsSubDomain(p.z.name, a); a = parentName(a) {
			h := dns.HashName(a, dns.SHA1, prm.iterations, prm.salt)
			if _, ok := out[h]; !ok {
				out[h] = nil
			}
		}
	}
	return out
}

func (p *proof) nsec3Record(hashes []string, names map[string][]uint16, i int) dns.RR {
	prm := p.z.nsec3
	next := hashes[(i+1)%len(hashes)]
	var flags uint8
	if prm.optOut {
		flags = 1
	}
	return &dns.NSEC3{
		Hdr:  dns.RR_Header{Name: under(strings.ToLower(hashes[i]), p.z.name), Rrtype: dns.TypeNSEC3, Class: dns.ClassINET, Ttl: ttl},
		Hash: dns.SHA1, Flags: flags, Iterations: prm.iterations, SaltLength: uint8(len(prm.salt) / 2), Salt: prm.salt,
		HashLength: 20, NextDomain: next, TypeBitMap: names[hashes[i]],
	}
}

func (p *proof) nsec3Sorted() ([]string, map[string][]uint16) {
	names := p.nsec3Names()
	hashes := make([]string, 0, len(names))
	for h := range names {
		hashes = append(hashes, h)
	}
	sort.Strings(hashes)
	return hashes, names
}

func (p *proof) nsec3Match(name string) dns.RR {
	hashes, names := p.nsec3Sorted()
	h := dns.HashName(name, dns.SHA1, p.z.nsec3.iterations, p.z.nsec3.salt)
	for i, x := range hashes {
		if x == h {
			return p.nsec3Record(hashes, names, i)
		}
	}
	return nil
}

func (p *proof) nsec3Cover(name string) dns.RR {
	hashes, names := p.nsec3Sorted()
	h := dns.HashName(name, dns.SHA1, p.z.nsec3.iterations, p.z.nsec3.salt)
	i := sort.SearchStrings(hashes, h) - 1
	if i < 0 {
		i = len(hashes) - 1
	}
	return p.nsec3Record(hashes, names, i)
}

// nsec3Encloser is the closest ancestor of name that is in the NSEC3 chain.
func (p *proof) nsec3Encloser(name string) string {
	for a := parentName(name); ; a = parentName(a) {
		if a == p.z.name || p.nsec3Match(a) != nil {
			return a
		}
	}
}

// canonicalLess orders names as DNSSEC does (RFC 4034 section 6.1): label by label from
// the right, each compared as lower-case bytes, a name before the names under it.
func canonicalLess(a, b string) bool {
	la, lb := dns.SplitDomainName(strings.ToLower(a)), dns.SplitDomainName(strings.ToLower(b))
	for i := 1; i <= len(la) && i <= len(lb); i++ {
		if x, y := la[len(la)-i], lb[len(lb)-i]; x != y {
			return x < y
		}
	}
	return len(la) < len(lb)
}
