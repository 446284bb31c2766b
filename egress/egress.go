// Package egress is rotabot's one rule for what leaves the process over HTTP: a
// credential is sent only to the host it belongs to. A client bound to a service's
// base URL (GITHUB_API_URL, HEROKU_API_URL, INFISICAL_SITE_URL, SLACK_API_URL)
// sends nothing to any other scheme, host or port — not a first request, not a
// redirected one — and a redirect that would change them is refused with an error
// naming both hosts. A client that carries no credential of rotabot's (verify
// checks, Slack's response_url, log streams) still speaks https only, except to a
// loopback host, and follows no redirect off its host either. Every client has a
// deadline. Base URLs must be https unless their host is loopback (the sandbox).
//
// For the sandbox, where nothing may leave the machine whatever a routing matrix
// names, LoopbackOnly is a client whose every connection goes to a loopback
// address, checked after the name is resolved.
//
// It also resolves a path given in the routing matrix (the workload probe) against
// a base URL so that it stays on the base's host and under its path, refusing an
// absolute URL in any disguise.
//
// It knows nothing of the services, their SDKs, tokens or rotabot's other
// packages: it sees URLs and requests, never a credential's value, and its errors
// name hosts only. Standard library only.
package egress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Origin is the scheme, host and port a credential belongs to. Port is always
// explicit ("443" for https without one), so two spellings of one origin compare
// equal.
type Origin struct {
	Scheme, Host, Port string
}

// OriginOf returns u's origin.
func OriginOf(u *url.URL) Origin {
	port := u.Port()
	if port == "" {
		switch strings.ToLower(u.Scheme) {
		case "https", "wss":
			port = "443"
		case "http", "ws":
			port = "80"
		}
	}
	return Origin{Scheme: strings.ToLower(u.Scheme), Host: strings.ToLower(u.Hostname()), Port: port}
}

// String is how errors name an origin: scheme://host, with the port when it is
// not the scheme's own.
func (o Origin) String() string {
	host := o.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if (o.Scheme == "https" && o.Port == "443") || (o.Scheme == "http" && o.Port == "80") || o.Port == "" {
		return o.Scheme + "://" + host
	}
	return o.Scheme + "://" + host + ":" + o.Port
}

// Loopback reports whether host (an address, with or without brackets, or a
// name) is this machine: an address in 127.0.0.0/8 or ::1, or the name
// localhost. Only there may plain http carry a credential: nothing crosses a
// network. Any other name — console.localhost included — is resolved through
// DNS, whose answer this cannot know, so it is not loopback.
func Loopback(host string) bool {
	h := strings.ToLower(strings.Trim(host, "[]"))
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// URLError says why a base URL cannot be used. It names the variable and the
// host, never the whole value (which may hold a password).
type URLError struct {
	Name    string // the variable, e.g. GITHUB_API_URL
	Problem string
}

func (e *URLError) Error() string { return e.Name + " " + e.Problem }

// ErrInsecure is why a base URL or a request is refused: plain http to a host that
// is not loopback would carry a credential, or a session cookie, in clear text.
var ErrInsecure = errors.New("plain http to a host that is not loopback")

// Base checks a service's base URL (a *_URL variable) and returns it parsed: http
// or https with a host, no user name or password, https unless the host is
// loopback. name is the variable, for the error.
func Base(name, raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		return nil, &URLError{Name: name, Problem: "is not an http(s) URL"}
	case u.User != nil:
		return nil, &URLError{Name: name, Problem: "holds a user name or password"}
	case u.Scheme == "http" && !Loopback(u.Hostname()):
		return nil, &URLError{Name: name, Problem: "uses plain http to " + u.Hostname() + ": use https (plain http is only for a loopback host such as 127.0.0.1)"}
	}
	return u, nil
}

// RedirectError is a redirect refused because it would change scheme, host or
// port. From and To are origins; neither holds a path, a query or a value.
type RedirectError struct {
	From, To Origin
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("refused a redirect from %s to %s: rotabot follows no redirect to another host, scheme or port", e.From, e.To)
}

// HostError is a request refused because its credential belongs to another origin.
type HostError struct {
	To, Bound Origin
}

func (e *HostError) Error() string {
	return fmt.Sprintf("refused a request to %s: this client's credential belongs to %s only", e.To, e.Bound)
}

// InsecureError is a request refused because it would go out in clear text.
type InsecureError struct {
	To Origin
}

func (e *InsecureError) Error() string {
	return fmt.Sprintf("refused a request to %s: plain http is only for a loopback host; use https", e.To)
}

func (e *InsecureError) Unwrap() error { return ErrInsecure }

// Refusal returns the origins an egress refusal names, when err is one: from is
// where the request was meant to go (or was redirected from), to where it would
// have gone.
func Refusal(err error) (from, to Origin, ok bool) {
	var re *RedirectError
	var he *HostError
	var ie *InsecureError
	switch {
	case errors.As(err, &re):
		return re.From, re.To, true
	case errors.As(err, &he):
		return he.Bound, he.To, true
	case errors.As(err, &ie):
		return ie.To, ie.To, true
	}
	return Origin{}, Origin{}, false
}

// checkRedirect refuses a redirect that changes scheme, host or port. Within one
// origin it allows what Go allows (10 redirects).
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) == 0 {
		return nil
	}
	from, to := OriginOf(via[len(via)-1].URL), OriginOf(req.URL)
	if from != to {
		return &RedirectError{From: from, To: to}
	}
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	return nil
}

// bound is a RoundTripper that sends only to one origin: it sits under whatever
// adds the credential (go-github, heroku-go, resty), so it sees every request —
// first and redirected — and refuses before anything is sent.
type bound struct {
	origin  Origin
	next    http.RoundTripper
	timeout time.Duration
}

func (b bound) RoundTrip(req *http.Request) (*http.Response, error) {
	if o := OriginOf(req.URL); o != b.origin {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, &HostError{To: o, Bound: b.origin}
	}
	return timed(b.next, req, b.timeout)
}

// open is a RoundTripper for requests that carry no credential of rotabot's: any
// host, https only unless the host is loopback.
type open struct {
	next    http.RoundTripper
	timeout time.Duration
}

func (o open) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" && !(req.URL.Scheme == "http" && Loopback(req.URL.Hostname())) {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, &InsecureError{To: OriginOf(req.URL)}
	}
	return timed(o.next, req, o.timeout)
}

// Bind returns a client that sends only to base's origin: a copy of c (nil: a new
// client on Transport) whose transport refuses any other origin, whose
// redirects may not change origin, and whose every request (its answer's body
// read included) has a deadline: c's Timeout when it has one, else timeout.
// base must have passed Base.
func Bind(base *url.URL, c *http.Client, timeout time.Duration) *http.Client {
	out, timeout := copyClient(c, timeout)
	out.Transport = bound{origin: OriginOf(base), next: out.Transport, timeout: timeout}
	out.CheckRedirect = checkRedirect
	return out
}

// Open returns a client for requests that carry no credential of rotabot's (a
// verify check's URL, Slack's response_url, a log stream): a copy of c (nil: a new
// client) that speaks https only, except to a loopback host, follows no redirect
// that changes origin, and gives every request a deadline as Bind does (none when
// both c's Timeout and timeout are 0).
func Open(c *http.Client, timeout time.Duration) *http.Client {
	out, timeout := copyClient(c, timeout)
	out.Transport = open{next: out.Transport, timeout: timeout}
	out.CheckRedirect = checkRedirect
	return out
}

// copyClient copies c and takes its Timeout, if any, in place of timeout. The
// copy's Timeout is zero: the deadline travels in each request's context, set by
// the transport (timed). A Client.Timeout over a transport that is not net/http's
// own makes net/http start two goroutines and a timer for every request, to
// cancel it the way Go had before contexts.
func copyClient(c *http.Client, timeout time.Duration) (*http.Client, time.Duration) {
	out := &http.Client{}
	if c != nil {
		*out = *c
	}
	if out.Transport == nil {
		out.Transport = Transport
	}
	if out.Timeout > 0 {
		timeout = out.Timeout
	}
	out.Timeout = 0
	return out, timeout
}

// timed sends req through next with a deadline of timeout from now (unless its
// context ends sooner), which lasts until the answer's body is closed: what a
// Client.Timeout bounds, one request at a time.
func timed(next http.RoundTripper, req *http.Request, timeout time.Duration) (*http.Response, error) {
	if timeout <= 0 {
		return next.RoundTrip(req)
	}
	if d, ok := req.Context().Deadline(); ok && time.Until(d) <= timeout {
		return next.RoundTrip(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), timeout)
	resp, err := next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelOnClose ends a request's deadline when its answer's body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// WebsocketProxy is the Proxy of a websocket dialer (gorilla's Dialer.Proxy, which
// is handed the URL being dialled as http or https): it refuses a plain ws:// URL
// to a host that is not loopback, then answers as http.ProxyFromEnvironment.
// Slack hands out the Socket Mode URL; this keeps its ticket off clear text.
func WebsocketProxy(req *http.Request) (*url.URL, error) {
	if req.URL.Scheme != "https" && !Loopback(req.URL.Hostname()) {
		return nil, &InsecureError{To: OriginOf(req.URL)}
	}
	return http.ProxyFromEnvironment(req)
}
