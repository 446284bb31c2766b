package config

import (
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Reading the YAML tree: entries of a mapping, single values, blocks and lists,
// each reporting what is in the wrong shape at its line.

// pairs returns a mapping's entries in order, duplicates included, aliases resolved.
func (c *checker) pairs(n *yaml.Node) []entry {
	var out []entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" {
			c.addf(k.Line, "merge keys (<<) are not supported in the routing matrix — write the keys out, or use an alias (*name) for a whole value")
			continue
		}
		k = resolve(k)
		if k.Kind != yaml.ScalarNode {
			c.addf(k.Line, "a key here is %s — keys are plain words", describe(k))
			continue
		}
		out = append(out, entry{key: k.Value, line: n.Content[i].Line, val: resolve(v)})
	}
	return out
}

// fields returns a mapping's known keys, reporting unknown and repeated ones. prefix
// goes before a key in messages ("vault."), where says which block it is in.
func (c *checker) fields(n *yaml.Node, prefix, where string, known []string) map[string]entry {
	f := map[string]entry{}
	for _, e := range c.pairs(n) {
		if prev, dup := f[e.key]; dup {
			c.addf(e.line, "%s%s is set twice, on lines %d and %d — keep one", prefix, e.key, prev.line, e.line)
			continue
		}
		if !slices.Contains(known, e.key) {
			if g := Suggest(e.key, known); g != "" {
				c.addf(e.line, "unknown key %s %s — did you mean %s?", show(e.key), where, g)
				if c.typos == nil {
					c.typos = map[*yaml.Node]map[string]bool{}
				}
				if c.typos[n] == nil {
					c.typos[n] = map[string]bool{}
				}
				c.typos[n][g] = true
			} else {
				c.addf(e.line, "unknown key %s %s — remove it (known here: %s)", show(e.key), where, strings.Join(known, ", "))
			}
			continue
		}
		f[e.key] = e
	}
	return f
}

// scalar returns the single value of e, reporting a list or block in its place.
func (c *checker) scalar(e entry, what string) (string, bool) {
	if e.val.Kind != yaml.ScalarNode {
		c.addf(e.line, "%s should be a single value, not %s — write it as one word or a quoted string", what, describe(e.val))
		return "", false
	}
	if isNull(e.val) {
		return "", true
	}
	return e.val.Value, true
}

// block returns e's mapping, reporting anything else in its place.
func (c *checker) block(e entry, what string) (*yaml.Node, bool) {
	if isNull(e.val) {
		return &yaml.Node{Kind: yaml.MappingNode, Line: e.line}, true
	}
	if e.val.Kind != yaml.MappingNode {
		c.addf(e.line, "%s should be a block of settings, not %s — see rotabot.example.yaml", what, describe(e.val))
		return nil, false
	}
	return e.val, true
}

// list returns e's items, reporting a single value in place of a list, items that
// are not single values, and items listed twice.
func (c *checker) list(e entry, what, example string) []item {
	if isNull(e.val) {
		return nil
	}
	if e.val.Kind != yaml.SequenceNode {
		c.addf(e.line, "%s should be a list — write e.g. %s", what, example)
		return nil
	}
	var out []item
	seen := map[string]int{}
	for _, raw := range e.val.Content {
		n := resolve(raw)
		if k, v, ok := onePair(n); ok {
			// [raxx-app/x: GH_TOKEN] is a key and a value, not "raxx-app/x:GH_TOKEN";
			// so is "- raxx-app/x:" (with no value).
			if isNull(resolve(n.Content[1])) {
				c.addf(raw.Line, "%s: an entry is read as a key with no value, %s — write the name right after the colon, or remove the colon", what, show(k+":"))
			} else {
				c.addf(raw.Line, "%s: an entry is read as a key and a value, %s — write it without a space after the colon: %s", what, show(k+": "+v), show(k+":"+v))
			}
			continue
		}
		if n.Kind != yaml.ScalarNode || isNull(n) || n.Value == "" {
			c.addf(raw.Line, "%s: an entry is %s — each entry is one name", what, describe(n))
			continue
		}
		if l, dup := seen[n.Value]; dup {
			c.addf(raw.Line, "%s: %s is listed twice%s — remove one", what, show(n.Value), alsoOn(l, raw.Line))
			continue
		}
		seen[n.Value] = raw.Line
		out = append(out, item{val: n.Value, line: raw.Line})
	}
	return out
}

// hasEntries reports whether e is a list with entries, good or not: a list whose
// entries are all reported does not also "name no destination".
func hasEntries(e entry) bool {
	return e.val != nil && e.val.Kind == yaml.SequenceNode && len(e.val.Content) > 0
}

// onePair returns the key and value of n when it is a block of a single key with a
// single (or no) value: what a list entry becomes when a space follows its colon, or
// when it ends with one.
func onePair(n *yaml.Node) (key, val string, ok bool) {
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		return "", "", false
	}
	k, v := resolve(n.Content[0]), resolve(n.Content[1])
	if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" || isNull(k) || v.Kind != yaml.ScalarNode {
		return "", "", false
	}
	return k.Value, v.Value, true
}

// alsoOn is " (also on line N)" when the first mention is on another line.
func alsoOn(first, line int) string {
	if first == line || first == 0 {
		return ""
	}
	return " (also on line " + strconv.Itoa(first) + ")"
}

func vals(items []item) []string {
	if len(items) == 0 {
		return nil
	}
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.val
	}
	return out
}

// lineOf is e's line when it is present, else the line of the block n, else fallback.
func lineOf(e entry, n *yaml.Node, fallback ...int) int {
	if e.line > 0 {
		return e.line
	}
	if len(fallback) > 0 && fallback[0] > 0 {
		return fallback[0]
	}
	if n != nil {
		return n.Line
	}
	return 0
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// describe names what a node is, for "should be X, not Y" messages.
func describe(n *yaml.Node) string {
	switch {
	case isNull(n):
		return "empty"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.MappingNode:
		return "a block of keys"
	case n.Kind == yaml.ScalarNode:
		return "the single value " + show(n.Value)
	}
	return "something else"
}

func showNode(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return show(n.Value)
	}
	return describe(n)
}
