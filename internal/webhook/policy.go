package webhook

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
)

// ErrRefusedAddress means an endpoint's address is one the policy does
// not let herald reach (loopback, private, link-local, …).
var ErrRefusedAddress = errors.New("address refused")

// Policy decides which addresses webhooks may reach: by default none of
// loopback, private, link-local, multicast, unspecified or otherwise
// special ranges, so that an API client cannot make herald call what
// only herald's network can reach. It is checked when a connection is
// dialled, on the address the name resolved to, so a name that resolves
// to another address later (DNS rebinding) cannot get around it.
type Policy struct {
	AllowPrivate bool           // every address
	Allow        []netip.Prefix // these ranges, whatever they are
}

// special are ranges that are neither loopback, private nor link-local by
// netip's reckoning and still not the public Internet.
var special = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"), // NAT64: an IPv4 address inside
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2002::/16"), // 6to4: likewise
}

// CheckAddr returns an error wrapping ErrRefusedAddress if a may not be
// reached.
func (p *Policy) CheckAddr(a netip.Addr) error {
	a = a.Unmap()
	if p == nil || p.AllowPrivate {
		return nil
	}
	for _, pf := range p.Allow {
		if pf.Contains(a) {
			return nil
		}
	}
	what := ""
	switch {
	case a.IsLoopback():
		what = "loopback"
	case a.IsPrivate():
		what = "private"
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		what = "link-local"
	case a.IsMulticast(), a.IsInterfaceLocalMulticast():
		what = "multicast"
	case a.IsUnspecified():
		what = "unspecified"
	case a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		what = "broadcast"
	default:
		for _, pf := range special {
			if pf.Contains(a) {
				what = "special-purpose"
			}
		}
	}
	if what == "" {
		return nil
	}
	return fmt.Errorf("%w: %s is a %s address (allow it with --webhooks-allow-private or --webhooks-allow)", ErrRefusedAddress, a, what)
}

// CheckHost checks a URL's host when it is an address, or "localhost";
// other names are checked when they are dialled.
func (p *Policy) CheckHost(host string) error {
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return p.CheckAddr(a)
	}
	if h := strings.TrimSuffix(strings.ToLower(host), "."); h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return p.CheckAddr(netip.IPv6Loopback())
	}
	return nil
}

// control is a net.Dialer's Control: it runs after the name is resolved,
// before each connection is made, with the address it is made to.
func (p *Policy) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrRefusedAddress, address, err)
	}
	return p.CheckAddr(ap.Addr())
}

// Dialer returns a dialer that connects only where p allows.
func (p *Policy) Dialer() *net.Dialer {
	return &net.Dialer{Control: p.control}
}
