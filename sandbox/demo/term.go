package demo

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// Term renders Slack's mrkdwn for a terminal, as the demo prints it: bold and
// italics as ANSI styles and links as OSC 8 hyperlinks when Color is on, plain
// words when it is off (output to a file or a pipe); mentions as names; lines
// wrapped to Width columns. No mrkdwn markup (*bold*, <url|text>, <@U…>, ```)
// is left in what it prints.
type Term struct {
	// Color turns ANSI styles and hyperlinks on.
	Color bool
	// Width is the widest line, in terminal columns (0: 100).
	Width int
	// Names shows mentions as names: user and user group ids → "@name", channel
	// ids → "#name".
	Names map[string]string
}

// MaxWidth is the widest line the demo prints.
const MaxWidth = 100

// span is a piece of rendered text with one style.
type span struct {
	text                       string
	bold, italic, strike, code bool
	href                       string
}

// Lines renders mrkdwn text, each of its lines prefixed with prefix and wrapped
// so no printed line is wider than Width; continuation lines are indented two
// columns more than the line they continue.
func (t Term) Lines(prefix, text string) []string {
	w := t.Width
	if w <= 0 {
		w = MaxWidth
	}
	var out []string
	for _, line := range t.parse(text) {
		out = append(out, t.wrap(prefix, line, w)...)
	}
	return out
}

// Inline renders mrkdwn text as one string (line breaks kept, no wrapping).
func (t Term) Inline(text string) string {
	var lines []string
	for _, line := range t.parse(text) {
		lines = append(lines, t.paint(line))
	}
	return strings.Join(lines, "\n")
}

// parse splits mrkdwn into lines of styled spans.
func (t Term) parse(text string) [][]span {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var lines [][]span
	var cur []span
	add := func(s span) {
		// Line breaks inside a span start new lines, the style carried over.
		parts := strings.Split(s.text, "\n")
		for i, p := range parts {
			if i > 0 {
				lines = append(lines, cur)
				cur = nil
			}
			if p != "" {
				c := s
				c.text = p
				cur = append(cur, c)
			}
		}
	}
	t.inline(text, span{}, add)
	return append(lines, cur)
}

// inline walks mrkdwn, calling add with each styled piece; style is the style
// of the text around it.
func (t Term) inline(s string, style span, add func(span)) {
	var plain strings.Builder
	flush := func() {
		if plain.Len() > 0 {
			p := style
			p.text = unescape(plain.String())
			add(p)
			plain.Reset()
		}
	}
	for i := 0; i < len(s); {
		rest := s[i:]
		switch {
		case strings.HasPrefix(rest, "```"):
			if end := strings.Index(rest[3:], "```"); end >= 0 {
				flush()
				p := style
				p.code = true
				p.text = unescape(strings.Trim(rest[3:3+end], "\n"))
				add(p)
				i += 3 + end + 3
				continue
			}
		case rest[0] == '`':
			if end := strings.IndexAny(rest[1:], "`\n"); end > 0 && rest[1+end] == '`' {
				flush()
				p := style
				p.code = true
				p.text = unescape(rest[1 : 1+end])
				add(p)
				i += end + 2
				continue
			}
		case rest[0] == '<':
			if end := strings.IndexAny(rest, ">\n"); end > 0 && rest[end] == '>' {
				flush()
				t.control(rest[1:end], style, add)
				i += end + 1
				continue
			}
		case rest[0] == '*' || rest[0] == '_' || rest[0] == '~':
			if end := closing(s, i); end > 0 {
				flush()
				inner := style
				switch rest[0] {
				case '*':
					inner.bold = true
				case '_':
					inner.italic = true
				case '~':
					inner.strike = true
				}
				t.inline(s[i+1:end], inner, add)
				i = end + 1
				continue
			}
		}
		_, n := utf8.DecodeRuneInString(rest)
		plain.WriteString(rest[:n])
		i += n
	}
	flush()
}

// closing finds the mark that closes the one at s[i] (*, _ or ~), as Slack does:
// the opening mark starts a word, the closing one ends a word on the same line.
func closing(s string, i int) int {
	mark := s[i]
	if i > 0 {
		prev, _ := utf8.DecodeLastRuneInString(s[:i])
		if !boundary(prev) {
			return -1
		}
	}
	if i+1 >= len(s) || s[i+1] == ' ' || s[i+1] == '\n' || s[i+1] == mark {
		return -1
	}
	for j := i + 2; j < len(s); j++ {
		switch s[j] {
		case '\n':
			return -1
		case mark:
			if s[j-1] == ' ' {
				continue
			}
			next := rune(' ')
			if j+1 < len(s) {
				next, _ = utf8.DecodeRuneInString(s[j+1:])
			}
			if boundary(next) {
				return j
			}
		}
	}
	return -1
}

func boundary(r rune) bool {
	return unicode.IsSpace(r) || (unicode.IsPunct(r) && r != '*' && r != '_' && r != '~') || unicode.IsSymbol(r)
}

// control renders a <…> sequence: a mention, a channel, a user group, a link.
func (t Term) control(c string, style span, add func(span)) {
	target, label, _ := strings.Cut(c, "|")
	name := func(id, sigil string) string {
		if n, ok := t.Names[id]; ok {
			return n
		}
		if label != "" {
			return sigil + strings.TrimPrefix(label, sigil)
		}
		return sigil + id
	}
	p := style
	switch {
	case strings.HasPrefix(target, "@"):
		p.text = name(target[1:], "@")
	case strings.HasPrefix(target, "#"):
		p.text = name(target[1:], "#")
	case strings.HasPrefix(target, "!subteam^"):
		p.text = name(strings.TrimPrefix(target, "!subteam^"), "@")
	case strings.HasPrefix(target, "!"):
		p.text = "@" + strings.TrimPrefix(target, "!")
	default:
		u := unescape(target)
		p.href = u
		p.text = unescape(label)
		if p.text == "" {
			p.text = shortURL(u)
		}
		if !t.Color && label != "" {
			// Without hyperlinks, the address follows the words (without its
			// query, which only prefills a form and makes lines hundreds long).
			add(p)
			p = style
			p.text = " (" + shortURL(u) + ")"
		}
	}
	add(p)
}

// shortURL drops a long URL's query string.
func shortURL(u string) string {
	if len(u) <= 60 {
		return u
	}
	pu, err := url.Parse(u)
	if err != nil || pu.RawQuery == "" {
		return u
	}
	pu.RawQuery = ""
	return pu.String() + "?…"
}

func unescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

// ANSI escapes.
const (
	esc       = "\x1b["
	ansiReset = esc + "0m"
)

// paint renders spans as text, with escapes when Color is on.
func (t Term) paint(spans []span) string {
	var b strings.Builder
	for _, s := range spans {
		b.WriteString(t.styled(s))
	}
	return b.String()
}

func (t Term) styled(s span) string {
	if !t.Color {
		return s.text
	}
	var codes []string
	if s.bold {
		codes = append(codes, "1")
	}
	if s.italic {
		codes = append(codes, "3")
	}
	if s.code {
		codes = append(codes, "36")
	}
	if s.strike {
		codes = append(codes, "9")
	}
	if s.href != "" {
		codes = append(codes, "4")
	}
	out := s.text
	if len(codes) > 0 {
		out = esc + strings.Join(codes, ";") + "m" + out + ansiReset
	}
	if s.href != "" {
		out = "\x1b]8;;" + s.href + "\x1b\\" + out + "\x1b]8;;\x1b\\"
	}
	return out
}

// wrap breaks one line of spans at spaces into printed lines no wider than w.
// Code (a command, a fingerprint) is never broken: a word or a piece of code
// wider than a line has a line of its own, wider than w, so that copied it
// still works. The last line is never one short word alone: the word before it
// joins it when both fit.
func (t Term) wrap(prefix string, line []span, w int) []string {
	words, lead := splitWords(line)
	indent := prefix + strings.Repeat(" ", lead+2)
	// Break into lines of word indexes.
	var lines [][]int
	var cur []int
	col := Width(prefix) + lead
	for i, wd := range words {
		gap := wd.gap
		if len(cur) > 0 && col+gap+wd.width > w {
			lines = append(lines, cur)
			cur, col = nil, Width(indent)
		}
		if len(cur) == 0 {
			gap = 0
		}
		cur = append(cur, i)
		col += gap + wd.width
	}
	lines = noWidow(append(lines, cur), words, w-Width(indent))
	out := make([]string, len(lines))
	for n, ws := range lines {
		var b strings.Builder
		if n == 0 {
			b.WriteString(prefix + strings.Repeat(" ", lead))
		} else {
			b.WriteString(indent)
		}
		for k, i := range ws {
			if k > 0 {
				b.WriteString(strings.Repeat(" ", words[i].gap))
			}
			for _, sp := range words[i].spans {
				b.WriteString(t.styled(sp))
			}
		}
		out[n] = b.String()
	}
	return out
}

// word is what wrap never breaks: the spans between two spaces (several styles
// may touch, as in "*Done*,"), or a whole piece of code. gap is how many spaces
// come before it.
type word struct {
	spans []span
	width int
	gap   int
}

// splitWords splits a line into words, and counts the spaces that start it
// (its indentation).
func splitWords(line []span) (words []word, lead int) {
	gap, open := 0, false // open: the last word goes on (no space since)
	add := func(s span) {
		if !open {
			words = append(words, word{gap: gap})
			gap, open = 0, true
		}
		w := &words[len(words)-1]
		w.spans = append(w.spans, s)
		w.width += Width(s.text)
	}
	for _, s := range line {
		if s.code {
			add(s)
			continue
		}
		for i, part := range strings.Split(s.text, " ") {
			if i > 0 {
				if len(words) == 0 {
					lead++
				} else {
					gap++
				}
				open = false
			}
			if part != "" {
				c := s
				c.text = part
				add(c)
			}
		}
	}
	return words, lead
}

// noWidow moves the last word of the line before the last down when the last
// line holds a single short word, and both fit in room columns.
func noWidow(lines [][]int, words []word, room int) [][]int {
	n := len(lines)
	if n < 2 || len(lines[n-1]) != 1 || len(lines[n-2]) < 3 {
		return lines
	}
	last, prev := lines[n-1][0], lines[n-2][len(lines[n-2])-1]
	if words[last].width > 12 || words[prev].width+words[last].gap+words[last].width > room {
		return lines
	}
	lines[n-1] = []int{prev, last}
	lines[n-2] = lines[n-2][:len(lines[n-2])-1]
	return lines
}

// Width is how many terminal columns s takes: escape sequences take none, wide
// characters and emoji take two.
func Width(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] == 0x1b {
			i += escapeLen(s[i:])
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		n += runeWidth(r, s[i+size:])
		i += size
	}
	return n
}

// escapeLen is the length of the escape sequence at the start of s (CSI or OSC).
func escapeLen(s string) int {
	if len(s) < 2 {
		return len(s)
	}
	switch s[1] {
	case '[':
		for j := 2; j < len(s); j++ {
			if s[j] >= 0x40 && s[j] <= 0x7e {
				return j + 1
			}
		}
	case ']':
		if end := strings.Index(s, "\x1b\\"); end >= 0 {
			return end + 2
		}
	}
	return len(s)
}

// runeWidth is r's width; rest is what follows it (an emoji variation selector
// makes a narrow symbol wide).
func runeWidth(r rune, rest string) int {
	switch {
	case r == 0x200d || r == 0xfe0f || r == 0xfe0e || unicode.Is(unicode.Mn, r) || unicode.IsControl(r):
		return 0
	case strings.HasPrefix(rest, "\ufe0f"):
		return 2
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}

// StripANSI removes escape sequences: what a person reads.
func StripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == 0x1b {
			i += escapeLen(s[i:])
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}
