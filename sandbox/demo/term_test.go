package demo

import (
	"strings"
	"testing"
)

func TestTermRendersMrkdwn(t *testing.T) {
	names := map[string]string{"U0ALICE": "@alice", "C0OPS": "#ops", "S0OPS": "@ops"}
	long := "https://github.com/settings/personal-access-tokens/new?actions=read&contents=read&description=rotabot%3A+X&expires_in=90"
	cases := []struct {
		in, plain, color string
	}{
		{"*Status:* Waiting for token", "Status: Waiting for token", "\x1b[1mStatus:\x1b[0m Waiting for token"},
		{"new `6bfb20dc` *expires soon*", "new 6bfb20dc expires soon", "new \x1b[36m6bfb20dc\x1b[0m \x1b[1mexpires soon\x1b[0m"},
		{"_not yet_ · ~gone~", "not yet · gone", "\x1b[3mnot yet\x1b[0m · \x1b[9mgone\x1b[0m"},
		{"by <@U0ALICE> in <#C0OPS> for <!subteam^S0OPS>", "by @alice in #ops for @ops", "by @alice in #ops for @ops"},
		{"<@U0NOBODY> and <#C0X|general>", "@U0NOBODY and #general", "@U0NOBODY and #general"},
		{"(<" + long + "|open GitHub's page>):", "(open GitHub's page (https://github.com/settings/personal-access-tokens/new?…)):",
			"(\x1b]8;;" + long + "\x1b\\\x1b[4mopen GitHub's page\x1b[0m\x1b]8;;\x1b\\):"},
		{"see <https://github.com/settings/tokens>", "see https://github.com/settings/tokens",
			"see \x1b]8;;https://github.com/settings/tokens\x1b\\\x1b[4mhttps://github.com/settings/tokens\x1b[0m\x1b]8;;\x1b\\"},
		{"GITHUB_API_READONLY_TOKEN * 2 &lt;b&gt; &amp;", "GITHUB_API_READONLY_TOKEN * 2 <b> &", "GITHUB_API_READONLY_TOKEN * 2 <b> &"},
		{"pull:\n```export A=\"$(x)\"```\nthen *Done*", "pull:\nexport A=\"$(x)\"\nthen Done", "pull:\n\x1b[36mexport A=\"$(x)\"\x1b[0m\nthen \x1b[1mDone\x1b[0m"},
	}
	for _, c := range cases {
		if got := (Term{Names: names}).Inline(c.in); got != c.plain {
			t.Errorf("plain %q:\n got %q\nwant %q", c.in, got, c.plain)
		}
		if got := (Term{Names: names, Color: true}).Inline(c.in); got != c.color {
			t.Errorf("color %q:\n got %q\nwant %q", c.in, got, c.color)
		}
	}
}

func TestTermWrapsToTheWidth(t *testing.T) {
	text := "✅ *5. Propagate* — done · 19:51 UTC\n      every destination holds the new value; console build status ok, workload probe ok, " +
		"and a word too long for any line: " + strings.Repeat("x", 130)
	for _, color := range []bool{false, true} {
		lines := Term{Color: color, Width: 60}.Lines("   │ ", text)
		if len(lines) < 5 {
			t.Fatalf("not wrapped: %q", lines)
		}
		for _, l := range lines {
			// A word wider than a line is not cut: it has a line of its own.
			if w := Width(l); w > 60 && strings.TrimSpace(strings.TrimPrefix(StripANSI(l), "   │ ")) != strings.Repeat("x", 130) {
				t.Errorf("color %v: %d columns: %q", color, w, l)
			}
			if !strings.HasPrefix(l, "   │ ") {
				t.Errorf("lost its prefix: %q", l)
			}
		}
		// A continuation keeps the line's own indentation, two columns more.
		if !strings.HasPrefix(StripANSI(lines[2]), "   │         ") {
			t.Errorf("continuation not indented under its line: %q", lines)
		}
	}
	if w := Width("✅ ⚪ ⏭️ ↩️ ab"); w != 14 {
		t.Errorf("emoji width %d, want 14", w)
	}
	if w := Width("\x1b[1mbold\x1b[0m \x1b]8;;https://x\x1b\\link\x1b]8;;\x1b\\"); w != 9 {
		t.Errorf("escapes counted: width %d, want 9", w)
	}
}

// A command is never broken, whatever the width: it overflows on a line of its
// own. The last line of a paragraph is not one short word alone.
func TestTermKeepsCommandsWhole(t *testing.T) {
	cmd := "export GITHUB_API_READONLY_TOKEN=\"$(infisical secrets get GITHUB_API_READONLY_TOKEN --env=prod --path=/MooseQuest/github/ --plain)\""
	text := "Update your shell rc from Infisical:\n```" + cmd + "```\nthen open a new shell and press Done."
	for _, w := range []int{60, 80, 100} {
		lines := Term{Width: w}.Lines("   ", text)
		found := false
		for _, l := range lines {
			if strings.TrimSpace(l) == cmd {
				found = true
			} else if Width(l) > w {
				t.Errorf("width %d: %d columns: %q", w, Width(l), l)
			}
		}
		if !found {
			t.Errorf("width %d: the command was broken:\n%s", w, strings.Join(lines, "\n"))
		}
	}
	lines := Term{Width: 100}.Lines("", "People: alice and bob (ops) · olga (ops, keeps the token in her shell rc) · owen (the secret's owner) · mallory")
	if last := strings.Fields(lines[len(lines)-1]); len(lines) < 2 || len(last) < 2 {
		t.Errorf("a word alone on the last line: %q", lines)
	}
}
