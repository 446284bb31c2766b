package demo

import (
	"bytes"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/raxx-app/rotabot/config"
	"github.com/raxx-app/rotabot/egress"
	"github.com/raxx-app/rotabot/rotation"
)

// A routing matrix's verify checks name the team's real services. The sandbox
// points each one at its console stand-in, whatever the URL's spelling — any
// scheme case, any port, with or without a user part — by reading the URLs as
// URLs in the YAML tree, never by searching the text; and what the bot is then
// given is checked to name loopback hosts only.

// urlSpot is where one verify url's scalar is written in the file.
type urlSpot struct {
	node      *yaml.Node
	line, col int // 1-based, col in characters, as the YAML parser counts
}

// aimVerifyChecks returns data with every verify check's url aimed at standIn
// (the console stand-in's URL): scheme, user part, host and port are its own,
// path and query the check's. Each url is rewritten where it stands, on its line, so a
// problem found in the result is at the line the author wrote. A url that is
// not an http(s) URL with a host is left for the routing matrix's check to
// report. Data that is not YAML is returned as it is, for the same reason.
func aimVerifyChecks(data []byte, standIn string) ([]byte, error) {
	to, err := url.Parse(standIn)
	if err != nil || to.Host == "" {
		return nil, fmt.Errorf("the stand-in's URL %q is not a URL", standIn)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return data, nil
	}
	spots := verifyURLSpots(&root)
	sort.Slice(spots, func(i, j int) bool {
		if spots[i].line != spots[j].line {
			return spots[i].line > spots[j].line
		}
		return spots[i].col > spots[j].col
	})
	lines := bytes.SplitAfter(data, []byte("\n"))
	for _, s := range spots {
		u, err := url.Parse(s.node.Value)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			continue
		}
		aimed := *to
		aimed.User, aimed.Path, aimed.RawPath, aimed.RawQuery, aimed.Fragment = nil, u.Path, u.RawPath, u.RawQuery, ""
		line, err := replaceScalar(lines[s.line-1], s, strconv.Quote(aimed.String()))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", s.line, err)
		}
		lines[s.line-1] = line
	}
	return bytes.Join(lines, nil), nil
}

// verifyURLSpots finds the url scalar of every verify check under secrets:,
// aliases followed, each node once.
func verifyURLSpots(root *yaml.Node) []urlSpot {
	seen := map[*yaml.Node]bool{}
	var out []urlSpot
	doc := root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	for _, sc := range values(child(doc, "secrets")) {
		for _, check := range items(child(sc, "verify")) {
			n := child(check, "url")
			if n == nil || n.Kind != yaml.ScalarNode || seen[n] {
				continue
			}
			seen[n] = true
			out = append(out, urlSpot{node: n, line: n.Line, col: n.Column})
		}
	}
	return out
}

// replaceScalar replaces, in line, the scalar s written there with text. Only a
// scalar written on one line can be: a URL always is, unless folded on purpose.
func replaceScalar(line []byte, s urlSpot, text string) ([]byte, error) {
	r := []rune(string(line))
	start := s.col - 1
	if start < 0 || start >= len(r) {
		return nil, fmt.Errorf("the sandbox cannot find the verify url %s was read from", strconv.Quote(s.node.Value))
	}
	// A node's position is that of its anchor or tag, when it has one.
	for start < len(r) && (r[start] == '&' || r[start] == '!') {
		for start < len(r) && r[start] != ' ' && r[start] != '\t' {
			start++
		}
		for start < len(r) && (r[start] == ' ' || r[start] == '\t') {
			start++
		}
	}
	rest := string(r[start:])
	n := 0
	switch s.node.Style &^ yaml.TaggedStyle {
	case 0:
		if strings.HasPrefix(rest, s.node.Value) {
			n = len(s.node.Value)
		}
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		n = quotedLen(rest)
	}
	if n == 0 {
		return nil, fmt.Errorf("the sandbox cannot point verify url %s at its stand-in: write the url on one line", strconv.Quote(s.node.Value))
	}
	return []byte(string(r[:start]) + text + rest[n:]), nil
}

// quotedLen is the length, quotes included, of the quoted scalar at the start
// of s, or 0 when it does not end on this line.
func quotedLen(s string) int {
	if s == "" {
		return 0
	}
	q := s[0]
	for i := 1; i < len(s); i++ {
		switch {
		case q == '"' && s[i] == '\\':
			i++
		case s[i] == q && q == '\'' && i+1 < len(s) && s[i+1] == '\'':
			i++
		case s[i] == q:
			return i + 1
		}
	}
	return 0
}

// child is the value of key in mapping n, aliases followed (nil: none).
func child(n *yaml.Node, key string) *yaml.Node {
	n = follow(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := follow(n.Content[i]); k != nil && k.Value == key {
			return follow(n.Content[i+1])
		}
	}
	return nil
}

// values are the values of mapping n; items the entries of sequence n.
func values(n *yaml.Node) []*yaml.Node {
	var out []*yaml.Node
	if n = follow(n); n != nil && n.Kind == yaml.MappingNode {
		for i := 1; i < len(n.Content); i += 2 {
			out = append(out, follow(n.Content[i]))
		}
	}
	return out
}

func items(n *yaml.Node) []*yaml.Node {
	var out []*yaml.Node
	if n = follow(n); n != nil && n.Kind == yaml.SequenceNode {
		for _, it := range n.Content {
			out = append(out, follow(it))
		}
	}
	return out
}

func follow(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

// aimedMatrix is the routing matrix in data (name is its file, for messages)
// with its verify checks aimed at the stand-in at standIn, as text for the bot
// and parsed; an error when the matrix has problems, or a check could not be
// aimed.
func aimedMatrix(name string, data []byte, standIn string) ([]byte, *rotation.Matrix, error) {
	data, err := aimVerifyChecks(data, standIn)
	if err != nil {
		return nil, nil, fmt.Errorf("the routing matrix %s: %w", name, err)
	}
	m, probs := config.Parse(name, data)
	if len(probs) > 0 {
		return nil, nil, matrixProblems(probs)
	}
	if stray := strayVerifyChecks(m); len(stray) > 0 {
		return nil, nil, fmt.Errorf("the sandbox could not point these verify checks at its stand-in, and nothing may leave this machine: %s", strings.Join(stray, "; "))
	}
	return data, m, nil
}

// strayVerifyChecks names the verify checks of m whose host is not loopback
// (none, once aimVerifyChecks has done its work).
func strayVerifyChecks(m *rotation.Matrix) []string {
	var out []string
	for _, sc := range m.Secrets {
		for _, v := range sc.Verify {
			if u, err := url.Parse(v.URL); err != nil || !egress.Loopback(u.Hostname()) {
				out = append(out, sc.Name+": "+v.Name)
			}
		}
	}
	sort.Strings(out)
	return out
}
