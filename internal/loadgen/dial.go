package loadgen

import (
	"net"
)

// sourceAddr spreads loopback connections over 127.0.0.1–127.0.0.254 so
// that many subscribers do not exhaust one address's ephemeral ports. It
// returns nil (any address) for hosts that are not IPv4 loopback.
func sourceAddr(host string, i int) net.Addr {
	ip := net.ParseIP(host)
	if host == "localhost" {
		ip = net.IPv4(127, 0, 0, 1)
	}
	if ip == nil || !ip.IsLoopback() || ip.To4() == nil {
		return nil
	}
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%254))}
}
