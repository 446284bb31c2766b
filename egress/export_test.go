package egress

import "net/http"

// TransportOf is the *http.Transport under a client Open or LoopbackOnly made.
func TransportOf(c *http.Client) *http.Transport {
	if o, ok := c.Transport.(open); ok {
		t, _ := o.next.(*http.Transport)
		return t
	}
	return nil
}
