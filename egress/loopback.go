package egress

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// LoopbackDialer connects to this machine only: the sandbox's rule, where
// nothing may leave the machine whatever a routing matrix names. It resolves a
// host name itself and connects to the resolved addresses that are loopback —
// the address, never the name again — so a name whose answer is anywhere else,
// or changes between two lookups, reaches nothing.
type LoopbackDialer struct {
	// Lookup resolves a host name (nil: net.DefaultResolver.LookupIPAddr).
	Lookup func(ctx context.Context, host string) ([]net.IPAddr, error)
	// Dial connects to an "address:port" that passed (nil: a net.Dialer).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// LoopbackError is a connection refused because the host is not this machine.
// It names the host and what it resolved to.
type LoopbackError struct {
	Host  string
	Addrs []string
}

func (e *LoopbackError) Error() string {
	at := ""
	if len(e.Addrs) > 0 && (len(e.Addrs) > 1 || e.Addrs[0] != e.Host) {
		at = " (" + strings.Join(e.Addrs, ", ") + ")"
	}
	return fmt.Sprintf("refused to connect to %s%s: only this machine (a loopback address) may be reached", e.Host, at)
}

// DialContext is a net.Dialer's DialContext that refuses every address that is
// not loopback, after resolution.
func (d LoopbackDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	var ips []net.IP
	if ip := net.ParseIP(host); ip != nil {
		ips = []net.IP{ip}
	} else {
		lookup := d.Lookup
		if lookup == nil {
			lookup = net.DefaultResolver.LookupIPAddr
		}
		found, err := lookup(ctx, host)
		if err != nil {
			return nil, err
		}
		for _, a := range found {
			ips = append(ips, a.IP)
		}
	}
	dial := d.Dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second}).DialContext
	}
	var refused []string
	var last error
	for _, ip := range ips {
		if !ip.IsLoopback() {
			refused = append(refused, ip.String())
			continue
		}
		c, err := dial(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return c, nil
		}
		last = err
	}
	if last != nil {
		return nil, last
	}
	return nil, &LoopbackError{Host: host, Addrs: refused}
}

// LoopbackOnly returns a client for requests that must stay on this machine:
// Open's rules (https only, except to a loopback host; no redirect off its
// origin; a deadline of timeout), over a transport that connects through d and
// uses no proxy — a proxy, even one on this machine, would carry the request on
// to wherever it names.
func LoopbackOnly(d LoopbackDialer, timeout time.Duration) *http.Client {
	t := newTransport()
	t.Proxy = nil
	t.DialContext = d.DialContext
	t.DialTLSContext = nil
	return Open(&http.Client{Transport: t}, timeout)
}
