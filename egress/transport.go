package egress

import "net/http"

// IdlePerHost is how many idle connections Transport keeps to one host.
// net/http's default keeps 2: a burst of more calls to one service at once —
// several runs' steps, a scan's listings in parallel, a card and its thread —
// opened a new connection (a TLS handshake, at the real services) for every
// call past the second, and closed it once answered. Each idle connection
// costs its two buffers and two goroutines (about 25 KB) until IdleConnTimeout
// (90 s) closes it.
const IdlePerHost = 16

// Transport is the transport every client of rotabot's speaks through unless
// it is given one: net/http's default (proxy from the environment, its dial,
// TLS and idle timeouts, HTTP/2), keeping IdlePerHost idle connections a host.
// Bind and Open wrap it; they never change it.
var Transport http.RoundTripper = newTransport()

func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = IdlePerHost
	return t
}
