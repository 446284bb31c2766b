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

// copyable is a line a person copies whole: the shell-rc command of olga's DM.
var copyable = regexp.MustCompile(`^\s*export [A-Z_]+="\$\(infisical secrets get [A-Z_]+ --env=\S+ --path=\S+ --plain --projectId=\$INFISICAL_PROJECT_ID\)"$`)

// The terminal demo, the README's first command, reads well: every line fits the
// terminal (COLUMNS here; 100 columns when the output is not a terminal), except
// a command to copy, which is never broken; no line is one short word left
// over; fingerprints are explained at the top; Slack's formatting is rendered
// (bold and links as terminal styles and hyperlinks, or plain words when the
// output is not a terminal), and after the first card only what changed is
// printed.
func TestDemoReadsWell(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		color   bool
		columns string
		width   int
	}{{false, "", 100}, {true, "", 100}, {false, "80", 80}} {
		color := c.color
		var out, errb bytes.Buffer
		cl := &cli{stdout: &out, stderr: &errb, getenv: func(k string) string {
			if k == "COLUMNS" {
				return c.columns
			}
			return ""
		}}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		err := cl.playDemo(ctx, &out, color)
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
		commands := 0
		for i, l := range lines {
			plain := demo.StripANSI(l)
			if copyable.MatchString(plain) {
				commands++
			} else if w := demo.Width(l); w > c.width {
				t.Errorf("width %d: line %d is %d columns wide: %q", c.width, i+1, w, plain)
			}
			if m := rawMrkdwn.FindString(plain); m != "" {
				t.Errorf("color %v: line %d shows Slack's formatting %q: %q", color, i+1, m, plain)
			}
			if f := strings.Fields(strings.TrimLeft(plain, " │")); len(f) == 1 && len([]rune(f[0])) <= 6 && f[0] != "…" && f[0] != "└─" {
				t.Errorf("width %d: line %d is one short word left over: %q", c.width, i+1, plain)
			}
		}
		if commands != 2 {
			t.Errorf("width %d: %d whole shell-rc commands, want 2 (olga's DMs): one was broken", c.width, commands)
		}
		if head := demo.StripANSI(strings.Join(lines[:min(8, len(lines))], "\n")); !strings.Contains(head, "fingerprint: 8 hex digits of its SHA-256") {
			t.Errorf("fingerprints are not explained at the top:\n%s", head)
		}
		// The first card is printed whole, once; later versions only where they changed.
		if n := strings.Count(demo.StripANSI(text), "⚪ 4. Store — pending"); n != 1 {
			t.Errorf("color %v: the whole card was printed %d times, want once", color, n)
		}
		if n := strings.Count(text, "updated in place — what changed"); n < 6 {
			t.Errorf("color %v: %d card updates shown as changes, want every one after the first", color, n)
		}
		// The PAT's story and its rollback, the drift repair, and the Heroku
		// key's few lines after them: 225 lines at 100 columns, 264 at 80 on a
		// quiet machine. A busy one adds a dozen: the card versions the story
		// sees come further apart, so more of each shows as changed.
		if max := map[int]int{100: 245, 80: 285}[c.width]; len(lines) > max {
			t.Errorf("width %d: %d lines; the demo should stay short:\n%s", c.width, len(lines), demo.StripANSI(text))
		}
		t.Logf("color %v, width %d: %d lines", color, c.width, len(lines))
	}
}
