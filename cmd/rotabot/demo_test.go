package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/sandbox/demo"
)

// rawMrkdwn is Slack formatting a terminal would print as is.
var rawMrkdwn = regexp.MustCompile("(^|[\\s(])[*_~][^\\s*_~][^\\n]*?[*_~]($|[\\s.,:;)])|`|<(https?:|mailto:|@|#|!)|&(lt|gt|amp);")

// The terminal demo, the README's first command, reads well: every line fits
// 100 columns, Slack's formatting is rendered (bold and links as terminal styles
// and hyperlinks, or plain words when the output is not a terminal), and after
// the first card only what changed is printed.
func TestDemoReadsWell(t *testing.T) {
	for _, color := range []bool{false, true} {
		var out, errb bytes.Buffer
		c := &cli{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		err := c.playDemo(ctx, &out, color)
		cancel()
		if err != nil {
			t.Fatalf("color %v: %v\n%s\n%s", color, err, out.String(), errb.String())
		}
		text := out.String()
		if color {
			if !strings.Contains(text, "\x1b[1m") || !strings.Contains(text, "\x1b]8;;https://github.com/settings/personal-access-tokens/new?") {
				t.Errorf("no bold or no hyperlink in the terminal's output:\n%s", text)
			}
		} else if strings.Contains(text, "\x1b") {
			t.Errorf("escape sequences in output that is not a terminal:\n%q", text)
		}
		lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
		for i, l := range lines {
			if w := demo.Width(l); w > demo.MaxWidth {
				t.Errorf("color %v: line %d is %d columns wide: %q", color, i+1, w, demo.StripANSI(l))
			}
			if m := rawMrkdwn.FindString(demo.StripANSI(l)); m != "" {
				t.Errorf("color %v: line %d shows Slack's formatting %q: %q", color, i+1, m, demo.StripANSI(l))
			}
		}
		// The first card is printed whole, once; later versions only where they changed.
		if n := strings.Count(demo.StripANSI(text), "⚪ 4. Store — pending"); n != 1 {
			t.Errorf("color %v: the whole card was printed %d times, want once", color, n)
		}
		if n := strings.Count(text, "updated in place — what changed"); n < 6 {
			t.Errorf("color %v: %d card updates shown as changes, want every one after the first", color, n)
		}
		if len(lines) > 220 {
			t.Errorf("color %v: %d lines; the demo should stay short", color, len(lines))
		}
		t.Logf("color %v: %d lines", color, len(lines))
	}
}
