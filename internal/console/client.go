package console

import (
	"net/http"
	"net/netip"
	"strings"
)

// clientAddr is the address a request comes from, as the sign-in throttle
// counts it: the connection's peer, or, when the peer is a proxy the
// operator trusts (TrustedProxies), the address the proxies forwarded for:
// the last X-Forwarded-For entry that is not itself a trusted proxy. A
// peer that is no trusted proxy is the client whatever its header says, so
// a guesser cannot name a fresh address per attempt. The zero Addr when
// there is none to read.
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	addr := ap.Addr().Unmap()
	if !s.trusted(addr) {
		return addr
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			// A hop the proxies wrote that is no address: what is before it
			// cannot be trusted either; the last proxy is the client.
			return addr
		}
		addr = a.Unmap()
		if !s.trusted(addr) {
			return addr
		}
	}
	return addr
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedHTTPS: the browser reached the console over HTTPS through a
// trusted proxy that ended TLS and said so (X-Forwarded-Proto: https, the
// last value: the one the proxy nearest certorder set). The cookies then
// take their __Host- names. Anyone else's header is not believed.
func (s *Server) forwardedHTTPS(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !s.trusted(ap.Addr().Unmap()) {
		return false
	}
	vals := strings.Split(strings.Join(r.Header.Values("X-Forwarded-Proto"), ","), ",")
	return strings.EqualFold(strings.TrimSpace(vals[len(vals)-1]), "https")
}
