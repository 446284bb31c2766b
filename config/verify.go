package config

import (
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/raxx-app/rotabot/egress"
	"github.com/raxx-app/rotabot/rotation"
)

// userPart is a URL's scheme and user part (scheme://user:password@), found also
// in a URL that does not parse.
var userPart = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.\-]*://)[^/?#]*@`)

// verify reads a secret's verify: checks — the HTTP GETs made after
// propagation — and their headers_env.
func (c *checker) verify(e entry, p string) []rotation.VerifyCheck {
	if e.val.Kind != yaml.SequenceNode {
		c.addf(e.line, "%sverify should be a list of checks, each with a name and a url — write e.g. verify: [{name: console build status, url: https://console.raxx.app/api/status/builds}]", p)
		return nil
	}
	var checks []rotation.VerifyCheck
	for _, raw := range e.val.Content {
		n := resolve(raw)
		if n.Kind != yaml.MappingNode {
			c.addf(raw.Line, "%sa verify check should be a block with a name and a url, not %s — write e.g. - {name: console build status, url: https://console.raxx.app/api/status/builds}", p, describe(n))
			continue
		}
		f := c.fields(n, p+"verify ", "in a verify check of "+strings.TrimSuffix(p, ": "), verifyKeys)
		vc := rotation.VerifyCheck{ExpectStatus: 200}
		what := p + "verify check"
		if ne, ok := f["name"]; ok && !isNull(ne.val) {
			if v, ok := c.scalar(ne, p+"verify name"); ok && strings.TrimSpace(v) != "" {
				vc.Name = v
				what = p + "verify check " + show(v)
			}
		}
		if vc.Name == "" {
			c.missing(n, "name", lineOf(f["name"], nil, raw.Line), "%sa verify check has no name — add name: (what it checks, shown on the run card)", p)
		}
		if ue, ok := f["url"]; ok && !isNull(ue.val) {
			if v, ok := c.scalar(ue, what+" url"); ok {
				vc.URL = v
				if userPart.MatchString(v) {
					// Never repeat the user part: it is a password, or a token standing in for a name.
					c.addf(ue.line, "%s: url %s has a user name or password in it (before the @) — a verify URL is shown on dry runs and in messages, so it must hold no credential: remove that part, and send the credential in a header from an environment variable with headers_env, e.g. headers_env: {Authorization: CONSOLE_AUTH} with CONSOLE_AUTH set to \"Basic …\"", what, show(userPart.ReplaceAllString(v, "${1}")))
				} else if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					fix := "write the whole URL, starting with https://"
					if err == nil && u.Scheme == "" && !strings.HasPrefix(v, "/") {
						fix += ": https://" + v
					}
					c.addf(ue.line, "%s: url %s is not an http(s) URL — %s", what, show(v), fix)
				} else if u.Scheme == "http" && !egress.Loopback(u.Hostname()) {
					c.addf(ue.line, "%s: url %s uses plain http to %s — use https: what the check sends (a session cookie) would cross the network in clear text (plain http is only for a loopback host such as 127.0.0.1)", what, show(v), u.Hostname())
				}
			}
		} else {
			noURL := what
			if vc.Name == "" {
				noURL = p + "a verify check"
			}
			c.missing(n, "url", lineOf(f["url"], nil, raw.Line), "%s has no url — add the URL to GET after propagation", noURL)
		}
		if se, ok := f["expect_status"]; ok && !isNull(se.val) {
			if v, ok := c.scalar(se, what+" expect_status"); ok {
				if st, err := strconv.Atoi(v); err != nil || st < 100 || st > 599 {
					shown := show(v)
					if err == nil {
						shown = v
					}
					c.addf(se.line, "%s: expect_status %s is not an HTTP status — use 100 to 599 (or leave it out for 200)", what, shown)
				} else {
					vc.ExpectStatus = st
				}
			}
		}
		if he, ok := f["headers_env"]; ok && !isNull(he.val) {
			vc.HeadersEnv = c.headersEnv(he, what)
		}
		checks = append(checks, vc)
	}
	return checks
}

func (c *checker) headersEnv(e entry, what string) map[string]string {
	h := map[string]string{}
	if e.val.Kind != yaml.MappingNode {
		c.addf(e.line, "%s: headers_env should map a header to the environment variable holding its value — write e.g. headers_env: {Cookie: CONSOLE_OPS_COOKIE}", what)
		return h
	}
	seen := map[string]int{}
	for _, he := range c.pairs(e.val) {
		canon := strings.ToLower(he.key)
		if l, dup := seen[canon]; dup {
			c.addf(he.line, "%s: header %s is set twice, on lines %d and %d — keep one", what, he.key, l, he.line)
			continue
		}
		seen[canon] = he.line
		if !headerNameRe.MatchString(he.key) {
			c.addf(he.line, "%s: %s is not an HTTP header name — use letters, digits and dashes, e.g. Cookie or X-Api-Key", what, show(he.key))
		}
		n := he.val
		if isNull(n) || n.Kind != yaml.ScalarNode || !envNameRe.MatchString(n.Value) {
			// Never repeat the value: it may be the secret itself, pasted by mistake.
			c.addf(he.line, "%s: header %s must name an environment variable (like CONSOLE_OPS_COOKIE) — headers_env holds the variable's name, never the header's value", what, he.key)
			continue
		}
		if slices.Contains(Vars(), n.Value) {
			// A verify check GETs a URL of the matrix's choosing: it must never
			// carry GITHUB_TOKEN, a Slack token, the Infisical identity, the
			// Heroku key or the database's password there.
			c.addf(he.line, "%s: header %s names %s, one of rotabot's own variables — a verify check may not send rotabot's credentials anywhere: give the check its own variable, e.g. CONSOLE_OPS_COOKIE", what, he.key, n.Value)
			continue
		}
		h[he.key] = n.Value
	}
	return h
}
