package main

import (
	"encoding/json"
	"github.com/raxx-app/rotabot/sandbox/demo"
	"strings"
	"testing"

	"github.com/raxx-app/rotabot/handlers"
)

// The bad-input table: every case through the real bot, each with the
// exact message it gets and proof that nothing changed.
//
// Decision: a token with a trailing newline or surrounding spaces is trimmed and
// accepted (copy and paste adds them); spaces or line breaks inside are refused.
func TestBadInputTable(t *testing.T) {
	h := startBot(t)
	const usageTail = "Secrets: GITHUB_API_DISPATCH_TOKEN, GITHUB_API_READONLY_TOKEN"
	commands := []struct{ user, channel, text, want string }{
		{demo.Alice, demo.OpsChannel, "", "Which secret? Type /rotate SECRET_NAME."},
		{demo.Alice, demo.OpsChannel, "    ", "Which secret? Type /rotate SECRET_NAME."},
		{demo.Alice, demo.OpsChannel, "UNKNOWN_TOKEN", "“UNKNOWN_TOKEN” is not a secret in the routing matrix."},
		{demo.Alice, demo.OpsChannel, "github_api_readonly_token", "Secret names are written as in the routing matrix: did you mean GITHUB_API_READONLY_TOKEN?"},
		{demo.Alice, demo.OpsChannel, strings.Repeat("X", 10*1024), "That command is too long (10240 characters): /rotate takes a secret name and at most one flag."},
		{demo.Alice, demo.OpsChannel, "GITHUB_API_READONLY_TOKEN; rm -rf /", "That command holds shell characters (; & | $ ` \\): /rotate takes a secret name and nothing to run, e.g. /rotate GITHUB_API_DISPATCH_TOKEN."},
		{demo.Alice, demo.OpsChannel, "`GITHUB_API_READONLY_TOKEN`", "That command holds shell characters (; & | $ ` \\): /rotate takes a secret name and nothing to run, e.g. /rotate GITHUB_API_DISPATCH_TOKEN."},
		{demo.Alice, demo.OpsChannel, "<mailto:ops@raxx.app|ops@raxx.app>", "That command holds Slack formatting (a mention, a link or an e-mail address): type a secret name, e.g. /rotate GITHUB_API_DISPATCH_TOKEN."},
		{demo.Alice, demo.OpsChannel, "<@U0BOB>", "That command holds Slack formatting (a mention, a link or an e-mail address): type a secret name, e.g. /rotate GITHUB_API_DISPATCH_TOKEN."},
		{demo.Alice, demo.OpsChannel, h.Fresh[2], "That looks like a token: never paste a token in a command. /rotate takes a secret name, e.g. /rotate GITHUB_API_DISPATCH_TOKEN — and if it was a live token, rotate it now."},
		{demo.Alice, demo.OpsChannel, "GITHUB_API_READONLY_TOKEN --force", "I do not understand “--force” after the secret name: the only flag is --dry-run."},
		{demo.Alice, demo.OpsChannel, "--dry-run", "Put the secret name first, e.g. /rotate GITHUB_API_DISPATCH_TOKEN --dry-run."},
		{demo.Alice, demo.OpsChannel, "status banana", "“banana” is not a run id: run ids look like r42."},
		{demo.Alice, demo.OpsChannel, "history", "/rotate history takes one secret name, e.g. /rotate history GITHUB_API_DISPATCH_TOKEN."},
		{demo.Alice, demo.OpsChannel, "list all", "/rotate list takes nothing after it."},
		{demo.Alice, demo.OpsChannel, "ÜNICODE_TOKEN", "“ÜNICODE_TOKEN” is not a secret name: names look like GITHUB_API_DISPATCH_TOKEN."},
		{demo.Alice, "C0ELSEWHERE", "GITHUB_API_READONLY_TOKEN", "Rotations start in <#C0OPS> only, so the team sees them. Run `/rotate GITHUB_API_READONLY_TOKEN` there. (Read-only commands like `--dry-run`, `status` and `expiring` work anywhere.)"},
		{demo.Mallory, demo.OpsChannel, "GITHUB_API_READONLY_TOKEN", "Only members of the ops user group <!subteam^S0OPS> may do this. Ask an ops member."},
		{demo.Alice, demo.OpsChannel, "status r99", "There is no run r99"},
	}
	for i, c := range commands {
		before := writes(h)
		n := h.EphemeralCount(c.user)
		must(t, h.Slash(c.user, c.channel, c.text))
		got, err := h.WaitEphemeral(c.user, n+1)
		must(t, err)
		first, rest, _ := strings.Cut(got, "\n\n")
		if first != c.want {
			t.Errorf("command %d %.30q:\n got %q\nwant %q", i, c.text, first, c.want)
		}
		if i < 16 && !strings.Contains(rest, usageTail) {
			t.Errorf("command %d %.30q: the answer lacks the usage and the known secrets", i, c.text)
		}
		if writes(h) != before {
			t.Errorf("command %d %.30q changed something", i, c.text)
		}
	}
	if _, ok := h.Card(""); ok {
		t.Fatal("a bad command started a run")
	}

	must(t, h.Slash(demo.Alice, demo.OpsChannel, "GITHUB_API_READONLY_TOKEN"))
	card := h.mustCard(t, "r1", "Waiting for token")
	modal := []struct{ value, want string }{
		{"   ", "The token is empty: paste the new token GitHub showed you"},
		{"\n", "The token is empty: paste the new token GitHub showed you"},
		{"github_pat_11AB CDEF_0123456789abcdef", "The token contains spaces or line breaks: paste it as one word"},
		{"ghp_abc\ndef0123456789abcdefghijkl", "The token contains spaces or line breaks: paste it as one word"},
		{"hunter2", "That is not a GitHub token (ghp_… or github_pat_…)"},
		{strings.Repeat("a", 10*1024), "That is not a GitHub token (ghp_… or github_pat_…)"},
		{"github_pat_short", "That is not a whole GitHub token: it is too short or too long (ghp_… or github_pat_…)"},
		{"github_pat_11ABCDEFGH-0123456789abcdefghij", "That is not a GitHub token: it holds characters GitHub tokens never have (ghp_… or github_pat_…)"},
		{"xoxb-1234567890-0987654321-abcdefghijklmnop", "That is a Slack bot token, not a GitHub personal access token (ghp_… or github_pat_…)"},
		{"xapp-1-A0123-0123456789-abcdef", "That is a Slack app token, not a GitHub personal access token (ghp_… or github_pat_…)"},
		{"gho_abcdefghijklmnopqrstuvwxyz0123456789", "That is a GitHub OAuth token, not a GitHub personal access token (ghp_… or github_pat_…)"},
		{"<@U0BOB>", "That is not a GitHub token (ghp_… or github_pat_…)"},
		{h.OldToken, "That is the current token: generate a new one on GitHub"},
		{h.OtherLogin, "This token belongs to someone-else, not raxx-bot"},
		{h.DispatchToken, "This is a classic token but GITHUB_API_READONLY_TOKEN is configured as fine-grained: make a fine-grained token"},
		{h.Expired, "GitHub refused this token (401): it is expired, revoked or mistyped"},
		{h.Revoked, "GitHub refused this token (401): it is expired, revoked or mistyped"},
		{h.Blind, "The workload probe GET /repos/raxx-app/TradeMasterAPI/actions/runs?per_page=1 answered 404: the token cannot see that repository"},
	}
	for _, c := range modal {
		if len(strings.TrimSpace(c.value)) >= 16 {
			h.Track(c.value) // the leak guard checks none of them was echoed
		}
	}
	for i, c := range modal {
		before := writes(h)
		ack, err := h.SubmitToken(demo.Alice, card, c.value)
		must(t, err)
		var a struct {
			ResponseAction string            `json:"response_action"`
			Errors         map[string]string `json:"errors"`
		}
		must(t, json.Unmarshal(ack, &a))
		if a.ResponseAction != "errors" || a.Errors[handlers.BlockToken] != c.want {
			t.Errorf("modal %d: got %q %q\nwant %q", i, a.ResponseAction, a.Errors[handlers.BlockToken], c.want)
		}
		if writes(h) != before {
			t.Errorf("modal %d changed something", i)
		}
		if m, _ := h.Card("r1"); !strings.Contains(m.Text, "Waiting for token") {
			t.Fatalf("modal %d moved the run", i)
		}
	}
	// Trailing newline and spaces: trimmed and accepted.
	ack, err := h.SubmitToken(demo.Alice, card, "  "+h.Fresh[0]+"\n")
	must(t, err)
	if strings.Contains(string(ack), "errors") {
		t.Fatalf("a token with a trailing newline was refused: %s", ack)
	}
	h.mustCard(t, "r1", "Waiting for approval")
	if n := len(commands) + len(modal); n < 30 {
		t.Fatalf("only %d cases", n)
	}
}
