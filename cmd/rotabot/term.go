package main

import (
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DefaultWidth is how wide the CLI's and the demo's lines are when the output is
// not a terminal (a file, a pipe) and COLUMNS does not say otherwise.
const DefaultWidth = 100

// width is how many columns w shows: COLUMNS when it holds a number, else the
// terminal's own width, else DefaultWidth. Narrower than 40 counts as 40.
func (c *cli) width(w io.Writer) int {
	n := DefaultWidth
	if v, err := strconv.Atoi(strings.TrimSpace(c.getenv("COLUMNS"))); err == nil && v > 0 {
		n = v
	} else if f, ok := w.(*os.File); ok && isTerminal(w) {
		if cols := terminalColumns(f); cols > 0 {
			n = cols
		}
	}
	return max(n, 40)
}

// wrap breaks s at spaces into lines no wider than width columns: the first
// starts with first, the others with indent. A word wider than a line (a URL, a
// fingerprint, a command) stays whole on a line of its own, wider than the rest:
// copied, it still works.
func wrap(first, indent, s string, width int) string {
	var b strings.Builder
	b.WriteString(first)
	col, empty := utf8.RuneCountInString(first), true
	for _, word := range strings.Fields(s) {
		n := utf8.RuneCountInString(word)
		if !empty && col+1+n > width {
			b.WriteString("\n" + indent)
			col, empty = utf8.RuneCountInString(indent), true
		}
		if !empty {
			b.WriteByte(' ')
			col++
		}
		b.WriteString(word)
		col += n
		empty = false
	}
	return b.String()
}
