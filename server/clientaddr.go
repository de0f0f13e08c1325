package server

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// proxies are the reverse proxies Options.TrustedProxies names.
type proxies []netip.Prefix

// parseProxies parses Options.TrustedProxies: addresses ("10.0.0.7") and
// prefixes ("10.0.0.0/8", "fd00::/8").
func parseProxies(list []string) (proxies, error) {
	var out proxies
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%w: TrustedProxies: %q is neither an IP address nor a prefix like 10.0.0.0/8", ErrBadOptions, s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

func (ps proxies) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peerAddr is the address of a request's TCP peer; the zero Addr when
// RemoteAddr is not an address (a test's handler call).
func peerAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		a, _ := netip.ParseAddr(r.RemoteAddr)
		return a.Unmap()
	}
	return ap.Addr().Unmap()
}

// clientAddr is the address of the client that made r: its TCP peer or,
// when the peer is a trusted proxy (Options.TrustedProxies), the last
// address of X-Forwarded-For that is not one. A proxy appends the address
// it got the request from, so entries left of the last untrusted one may
// be anything the client wrote and are never used. Without trusted proxies
// the header is ignored.
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	peer := peerAddr(r)
	if len(s.proxies) == 0 || !s.proxies.trusted(peer) {
		return peer
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	addr := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			// Not written by a proxy we trust: the last proxy that
			// forwarded the request is its client as far as we know.
			return addr
		}
		addr = a.Unmap()
		if !s.proxies.trusted(addr) {
			return addr
		}
	}
	return addr
}

// requestScheme is the scheme the client used: https over TLS, or when a
// trusted proxy forwarded the request, what its X-Forwarded-Proto says.
func (s *Server) requestScheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	if len(s.proxies) > 0 && s.proxies.trusted(peerAddr(r)) {
		p, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
		if p = strings.ToLower(strings.TrimSpace(p)); p == "https" || p == "http" {
			return p
		}
	}
	return "http"
}

// sameOrigin reports whether a and b have the same scheme, host name and
// port (an absent port is the scheme's default).
func sameOrigin(a, b *url.URL) bool {
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		if strings.EqualFold(u.Scheme, "https") {
			return "443"
		}
		return "80"
	}
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}
