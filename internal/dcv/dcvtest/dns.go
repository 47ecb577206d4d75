// Package dcvtest provides real loopback DNS, HTTP and SMTP servers for tests of DCV and
// CAA checks and of the code that sends DCV e-mails.
package dcvtest

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// DNS is a real authoritative-style DNS server on 127.0.0.1 (UDP and TCP on the same random
// port) built with miekg/dns. Records are set and removed while it runs (safe for concurrent
// use). Names are case-insensitive; a query for a name with no records of any type gets
// NXDOMAIN; a name with records of other types gets NOERROR with an empty answer. A name with
// a CNAME answers any other type with the CNAME alone (the client follows it, as it must for
// CAA). Answers set AA and RA.
type DNS struct {
	addr string
	udp  *dns.Server
	tcp  *dns.Server

	mu      sync.Mutex
	names   map[string]*entry // by lower-case FQDN
	fail    map[string]int
	queries map[qkey]int
	zones   map[string]*Zone // signed zones by apex (dnssec.go)
	cuts    map[string]bool  // unsigned delegations
	breaks  map[qkey]Breakage
}

// CAA is one CAA record.
type CAA struct {
	Flag       uint8
	Tag, Value string
}

type entry struct {
	txt   [][]string // each record's character-strings
	cname string
	a     []net.IP
	aaaa  []net.IP
	caa   []CAA
}

func (e *entry) empty() bool {
	return len(e.txt) == 0 && e.cname == "" && len(e.a) == 0 && len(e.aaaa) == 0 && len(e.caa) == 0
}

type qkey struct {
	name  string
	qtype uint16
}

const ttl = 60

// StartDNS starts a server, stopped with t.Cleanup.
func StartDNS(t testing.TB) *DNS {
	t.Helper()
	d := &DNS{names: map[string]*entry{}, fail: map[string]int{}, queries: map[qkey]int{},
		zones: map[string]*Zone{}, cuts: map[string]bool{}, breaks: map[qkey]Breakage{}}
	pc, ln := listenSamePort(t)
	d.addr = pc.LocalAddr().String()
	h := dns.HandlerFunc(d.serve)
	d.udp = &dns.Server{PacketConn: pc, Handler: h}
	d.tcp = &dns.Server{Listener: ln, Handler: h}
	for _, s := range []*dns.Server{d.udp, d.tcp} {
		started := make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		go func() { _ = s.ActivateAndServe() }()
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			t.Fatal("dcvtest: DNS server did not start")
		}
	}
	t.Cleanup(func() {
		_ = d.udp.Shutdown()
		_ = d.tcp.Shutdown()
	})
	return d
}

// listenSamePort binds UDP on a random port, then TCP on the same port, retrying when the
// TCP port happens to be taken.
func listenSamePort(t testing.TB) (net.PacketConn, net.Listener) {
	t.Helper()
	var lastErr error
	for i := 0; i < 20; i++ {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("dcvtest: listen udp: %v", err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln
		}
		lastErr = err
		pc.Close()
	}
	t.Fatalf("dcvtest: no port free for both UDP and TCP: %v", lastErr)
	return nil, nil
}

// Addr is "127.0.0.1:port", for dcv.Config.Resolver.
func (d *DNS) Addr() string { return d.addr }

func key(name string) string { return dns.Fqdn(strings.ToLower(strings.TrimSpace(name))) }

// update runs f on the entry of name, creating it, and drops it when left empty.
func (d *DNS) update(name string, f func(e *entry)) {
	k := key(name)
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.names[k]
	if e == nil {
		e = &entry{}
	}
	f(e)
	if e.empty() {
		delete(d.names, k)
	} else {
		d.names[k] = e
	}
}

// SetTXT replaces the TXT set of name, one record per value (values longer than 255 bytes
// are split into several character-strings, as DNS providers do); no values removes it.
func (d *DNS) SetTXT(name string, values ...string) {
	var recs [][]string
	for _, v := range values {
		var parts []string
		for len(v) > 255 {
			parts = append(parts, v[:255])
			v = v[255:]
		}
		recs = append(recs, append(parts, v))
	}
	d.update(name, func(e *entry) { e.txt = recs })
}

// SetCNAME sets the CNAME of name; an empty target removes it.
func (d *DNS) SetCNAME(name, target string) {
	t := ""
	if target != "" {
		t = key(target)
	}
	d.update(name, func(e *entry) { e.cname = t })
}

// SetA replaces the A and AAAA sets of name with ips, sorted by address family; no ips
// removes both.
func (d *DNS) SetA(name string, ips ...string) {
	var a, aaaa []net.IP
	for _, s := range ips {
		ip := net.ParseIP(s)
		switch {
		case ip == nil:
			panic(fmt.Sprintf("dcvtest: SetA(%q): invalid IP %q", name, s))
		case ip.To4() != nil:
			a = append(a, ip.To4())
		default:
			aaaa = append(aaaa, ip)
		}
	}
	d.update(name, func(e *entry) { e.a, e.aaaa = a, aaaa })
}

// SetAAAA replaces the AAAA set of name with ips taken as IPv6 as written, so that an
// IPv4-mapped address ("::ffff:127.0.0.1") is served as the AAAA record it is; no ips removes it.
func (d *DNS) SetAAAA(name string, ips ...string) {
	var aaaa []net.IP
	for _, s := range ips {
		ip := net.ParseIP(s)
		if ip == nil || !strings.Contains(s, ":") {
			panic(fmt.Sprintf("dcvtest: SetAAAA(%q): invalid IPv6 address %q", name, s))
		}
		aaaa = append(aaaa, ip.To16())
	}
	d.update(name, func(e *entry) { e.aaaa = aaaa })
}

// SetCAA replaces the CAA set of name; no records removes it.
func (d *DNS) SetCAA(name string, recs ...CAA) {
	cp := append([]CAA(nil), recs...)
	d.update(name, func(e *entry) { e.caa = cp })
}

// Fail makes every query for name get rcode (e.g. dns.RcodeServerFailure); 0 stops failing.
func (d *DNS) Fail(name string, rcode int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if rcode == 0 {
		delete(d.fail, key(name))
	} else {
		d.fail[key(name)] = rcode
	}
}

// Queries is how many queries for name and qtype were received.
func (d *DNS) Queries(name string, qtype uint16) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.queries[qkey{key(name), qtype}]
}

func (d *DNS) serve(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	if len(r.Question) != 1 {
		m.SetRcode(r, dns.RcodeFormatError)
		_ = w.WriteMsg(m)
		return
	}
	m.SetReply(r)
	m.Authoritative = true
	m.RecursionAvailable = true
	q := r.Question[0]
	name := key(q.Name)

	do := r.IsEdns0() != nil && r.IsEdns0().Do()

	d.mu.Lock()
	d.queries[qkey{name, q.Qtype}]++
	rcode, failing := d.fail[name]
	e := d.names[name]
	z := d.zoneFor(name, q.Qtype)
	switch {
	case failing:
		m.Rcode = rcode
	case z != nil:
		z.respond(m, q.Name, q.Qtype, do)
	case e == nil:
		m.Rcode = dns.RcodeNameError
	default:
		m.Answer = e.answer(q.Name, q.Qtype)
	}
	d.mu.Unlock()

	if opt := r.IsEdns0(); opt != nil {
		m.SetEdns0(opt.UDPSize(), do)
	}
	// Truncate UDP answers that do not fit, so that clients exercise their TCP fallback.
	if w.LocalAddr().Network() == "udp" {
		size := dns.MinMsgSize
		if opt := r.IsEdns0(); opt != nil && int(opt.UDPSize()) > size {
			size = int(opt.UDPSize())
		}
		m.Truncate(size)
	}
	_ = w.WriteMsg(m)
}

// answer builds the answer records of e for qtype, owned by qname as asked.
func (e *entry) answer(qname string, qtype uint16) []dns.RR {
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: qname, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
	}
	var rrs []dns.RR
	if e.cname != "" {
		// A CNAME owner has no other data; it answers everything with the CNAME.
		return []dns.RR{&dns.CNAME{Hdr: hdr(dns.TypeCNAME), Target: e.cname}}
	}
	switch qtype {
	case dns.TypeTXT:
		for _, t := range e.txt {
			rrs = append(rrs, &dns.TXT{Hdr: hdr(dns.TypeTXT), Txt: t})
		}
	case dns.TypeA:
		for _, ip := range e.a {
			rrs = append(rrs, &dns.A{Hdr: hdr(dns.TypeA), A: ip})
		}
	case dns.TypeAAAA:
		for _, ip := range e.aaaa {
			rrs = append(rrs, &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: ip})
		}
	case dns.TypeCAA:
		for _, c := range e.caa {
			rrs = append(rrs, &dns.CAA{Hdr: hdr(dns.TypeCAA), Flag: c.Flag, Tag: c.Tag, Value: c.Value})
		}
	}
	return rrs
}
