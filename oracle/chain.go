package main

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"

	"istio.io/istio/pilot/pkg/simulation"
	"istio.io/istio/pilot/test/xdstest"
)

// The call Envoy's inbound listener sees: the destination port and address, the transport (Istio
// mTLS, other TLS, plain text) and the application protocols the client offers.
type call struct {
	port    uint32
	address string
	tls     simulation.TLSMode
	http    bool // HTTP, else opaque TCP
}

// alpn is what the client offers in its TLS handshake, or for plain text what Envoy's HTTP
// inspector reports: Istio's client sidecar sends istio-http/1.1 for HTTP and istio for TCP over
// mTLS (pilot/pkg/networking/core/cluster_builder.go, the ALPN override of ISTIO_MUTUAL clusters);
// other TLS clients offer http/1.1; the HTTP inspector sets http/1.1 for plain HTTP.
func (c call) alpn() string {
	switch {
	case c.tls == simulation.MTLS && c.http:
		return "istio-http/1.1"
	case c.tls == simulation.MTLS:
		return "istio"
	case c.http:
		return "http/1.1"
	}
	return ""
}

// pickChain selects the filter chain Envoy would for the call, in the order of Envoy's
// FilterChainMatch (envoy/config/listener/v3/listener_components.proto, FilterChainMatch: destination
// port, destination IP, server name, transport protocol, application protocols; the source criteria
// are not used by Istio's inbound chains). At each criterion the chains that set it and match are
// kept, the most specific first (a longer prefix, an exact server name); when no chain that sets
// it matches, only the chains that leave it unset stay. Then the listener's default chain, else none.
// A chain left over with others is ambiguous: an error.
func pickChain(l *listener.Listener, c call, tlsInspector bool) (*listener.FilterChain, error) {
	chains := l.FilterChains
	type rule struct {
		name string
		set  func(*listener.FilterChainMatch) bool
		rank func(*listener.FilterChainMatch) int // 0: no match
	}
	addr, _ := netip.ParseAddr(c.address)
	transport := "raw_buffer"
	if tlsInspector && c.tls != simulation.Plaintext {
		transport = "tls"
	}
	alpn := c.alpn()
	if !tlsInspector && c.tls != simulation.Plaintext {
		alpn = "" // without the TLS inspector Envoy does not read the handshake
	}
	rules := []rule{
		{"destination port", func(m *listener.FilterChainMatch) bool { return m.GetDestinationPort() != nil },
			func(m *listener.FilterChainMatch) int { return b2i(m.GetDestinationPort().GetValue() == c.port) }},
		{"destination IP", func(m *listener.FilterChainMatch) bool { return len(m.GetPrefixRanges()) > 0 },
			func(m *listener.FilterChainMatch) int { return prefixRank(m.GetPrefixRanges(), addr) }},
		{"server names", func(m *listener.FilterChainMatch) bool { return len(m.GetServerNames()) > 0 },
			func(m *listener.FilterChainMatch) int { return 0 }}, // Istio's inbound calls here send no SNI Envoy matches
		{"transport protocol", func(m *listener.FilterChainMatch) bool { return m.GetTransportProtocol() != "" },
			func(m *listener.FilterChainMatch) int { return b2i(m.GetTransportProtocol() == transport) }},
		{"application protocols", func(m *listener.FilterChainMatch) bool { return len(m.GetApplicationProtocols()) > 0 },
			func(m *listener.FilterChainMatch) int {
				return b2i(alpn != "" && contains(m.GetApplicationProtocols(), alpn))
			}},
	}
	for _, r := range rules {
		anySet, best := false, 0
		for _, fc := range chains {
			if r.set(fc.GetFilterChainMatch()) {
				anySet = true
				best = max(best, r.rank(fc.GetFilterChainMatch()))
			}
		}
		if !anySet {
			continue
		}
		var kept []*listener.FilterChain
		for _, fc := range chains {
			m := fc.GetFilterChainMatch()
			if (best > 0 && r.set(m) && r.rank(m) == best) || (best == 0 && !r.set(m)) {
				kept = append(kept, fc)
			}
		}
		chains = kept
	}
	switch {
	case len(chains) == 1:
		return chains[0], nil
	case len(chains) > 1:
		names := make([]string, len(chains))
		for i, fc := range chains {
			names[i] = fc.Name
		}
		return nil, fmt.Errorf("%d filter chains match (%s)", len(chains), strings.Join(names, ", "))
	case l.DefaultFilterChain != nil:
		return l.DefaultFilterChain, nil
	}
	return nil, errNoChain
}

var errNoChain = errors.New("no filter chain matches")

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// prefixRank is the longest prefix of ranges holding addr, plus one (0: none holds it).
func prefixRank(ranges []*core.CidrRange, addr netip.Addr) int {
	best := 0
	for _, r := range ranges {
		p, err := netip.ParsePrefix(fmt.Sprintf("%s/%d", r.GetAddressPrefix(), r.GetPrefixLen().GetValue()))
		if err == nil && addr.IsValid() && p.Contains(addr) {
			best = max(best, p.Bits()+1)
		}
	}
	return best
}

// listenerFilterOn says whether the listener runs the named listener filter for the port (Istio
// disables the TLS and HTTP inspectors on some ports with a FilterDisabled predicate).
func listenerFilterOn(l *listener.Listener, name string, port uint32) bool {
	f, ok := xdstest.ExtractListenerFilters(l)[name]
	if !ok {
		return false
	}
	return f.FilterDisabled == nil || !xdstest.EvaluateListenerFilterPredicates(f.FilterDisabled, int(port))
}
