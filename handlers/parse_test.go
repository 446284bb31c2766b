package handlers

import (
	"strings"
	"testing"
)

var known = []string{"GITHUB_API_DISPATCH_TOKEN", "GITHUB_API_READONLY_TOKEN"}

func TestParseCommand(t *testing.T) {
	ok := []struct {
		text string
		want Command
	}{
		{"GITHUB_API_READONLY_TOKEN", Command{Kind: CmdStart, Secret: "GITHUB_API_READONLY_TOKEN"}},
		{"  GITHUB_API_READONLY_TOKEN  ", Command{Kind: CmdStart, Secret: "GITHUB_API_READONLY_TOKEN"}},
		{"GITHUB_API_READONLY_TOKEN --dry-run", Command{Kind: CmdDryRun, Secret: "GITHUB_API_READONLY_TOKEN"}},
		{"status", Command{Kind: CmdStatus}},
		{"status r42", Command{Kind: CmdStatus, RunID: "r42"}},
		{"STATUS R42", Command{Kind: CmdStatus, RunID: "r42"}},
		{"list", Command{Kind: CmdList}},
		{"history GITHUB_API_DISPATCH_TOKEN", Command{Kind: CmdHistory, Secret: "GITHUB_API_DISPATCH_TOKEN"}},
		{"expiring", Command{Kind: CmdExpiring}},
		{"help", Command{Kind: CmdHelp}},
		{"abandon R42 old version gone from Infisical;  restored by hand (see INC-7)", Command{Kind: CmdAbandon, RunID: "r42", Reason: "old version gone from Infisical; restored by hand (see INC-7)"}},
	}
	for _, c := range ok {
		got, err := ParseCommand(c.text, known)
		if err != nil || got != c.want {
			t.Errorf("%q: %+v %v, want %+v", c.text, got, err, c.want)
		}
	}
}

func TestParseCommandRefusals(t *testing.T) {
	bad := []struct{ text, want string }{
		{"", "Which secret? Type /rotate SECRET_NAME."},
		{"   \t ", "Which secret? Type /rotate SECRET_NAME."},
		{"NOPE", "“NOPE” is not a secret in the routing matrix."},
		{"github_api_readonly_token", "Secret names are written as in the routing matrix: did you mean GITHUB_API_READONLY_TOKEN?"},
		{"github-api-readonly-token", "Secret names are written as in the routing matrix: did you mean GITHUB_API_READONLY_TOKEN?"},
		{strings.Repeat("A", 10*1024), "That command is too long (10240 characters): /rotate takes a secret name and at most one flag."},
		{"GITHUB_API_READONLY_TOKEN; rm -rf /", "That command holds shell characters (; & | $ ` \\): /rotate takes a secret name and nothing to run, e.g. /rotate GITHUB_API_DISPATCH_TOKEN."},
		{"$(whoami)", "That command holds shell characters (; & | $ ` \\): /rotate takes a secret name and nothing to run, e.g. /rotate GITHUB_API_DISPATCH_TOKEN."},
		{"GITHUB_API_READONLY_TOKEN && curl evil", "That command holds shell characters (; & | $ ` \\): /rotate takes a secret name and nothing to run, e.g. /rotate GITHUB_API_DISPATCH_TOKEN."},
		{"GITHUB_API_READONLY_TOKEN 'x'", "I do not understand “'x'” after the secret name: the only flag is --dry-run."},
		{"<mailto:ops@raxx.app|ops@raxx.app>", "That command holds Slack formatting (a mention, a link or an e-mail address): type a secret name, e.g. /rotate GITHUB_API_DISPATCH_TOKEN."},
		{"<@U0BOB>", "That command holds Slack formatting (a mention, a link or an e-mail address): type a secret name, e.g. /rotate GITHUB_API_DISPATCH_TOKEN."},
		{"ghp_abcdefghijklmnopqrstuvwxyz0123456789", "That looks like a token: never paste a token in a command. /rotate takes a secret name, e.g. /rotate GITHUB_API_DISPATCH_TOKEN — and if it was a live token, rotate it now."},
		{"GITHUB_API_READONLY_TOKEN --force", "I do not understand “--force” after the secret name: the only flag is --dry-run."},
		{"--dry-run GITHUB_API_READONLY_TOKEN", "Put the secret name first, e.g. /rotate GITHUB_API_DISPATCH_TOKEN --dry-run."},
		{"status banana", "“banana” is not a run id: run ids look like r42."},
		{"status r1 r2", "/rotate status takes at most one run id, e.g. /rotate status r42."},
		{"history", "/rotate history takes one secret name, e.g. /rotate history GITHUB_API_DISPATCH_TOKEN."},
		{"list everything", "/rotate list takes nothing after it."},
		{"help me", "/rotate help takes nothing after it."},
		{"GITHUB_API_READONLY_TOKEN \xff", "That command holds characters I cannot read."},
		{"abandon", "Which run? Type /rotate abandon r42 REASON: the reason goes in the audit trail."},
		{"abandon r42", "Say why: /rotate abandon r42 REASON — the reason goes in the audit trail, e.g. /rotate abandon r42 old version gone from Infisical; restored by hand."},
		{"abandon GITHUB_API_READONLY_TOKEN stuck", "“GITHUB_API_READONLY_TOKEN” is not a run id: run ids look like r42 (/rotate abandon r42 REASON)."},
		{"abandon r42 ask <@U0BOB>", "That reason holds Slack formatting (a mention, a link or an e-mail address): write it in plain words."},
		{"abandon r42 pasted ghp_abcdefghijklmnopqrstuvwxyz0123456789", "That looks like a token: never paste a token in a command. Say why in words — and if it was a live token, rotate it now."},
		{"abandon r42 " + strings.Repeat("why ", 130), "The reason is 519 characters long: keep it under 500 — a sentence or two for the audit trail."},
	}
	for _, c := range bad {
		_, err := ParseCommand(c.text, known)
		if err == nil {
			t.Errorf("%q accepted", c.text)
			continue
		}
		if err.Error() != c.want {
			t.Errorf("%.40q: %q, want %q", c.text, err.Error(), c.want)
		}
	}
}

// A token pasted into the command is never echoed back.
func TestParseCommandNeverEchoesATokenLikeValue(t *testing.T) {
	for _, tok := range []string{"ghp_abcdefghijklmnopqrstuvwxyz0123456789", "github_pat_11ABCDEFGH_abcdefghijklmnopqrstuvwxyz", "xoxb-1234-5678-abcdefghijkl"} {
		for _, text := range []string{tok, "GITHUB_API_READONLY_TOKEN " + tok, "history " + tok} {
			_, err := ParseCommand(text, known)
			if err == nil {
				t.Fatalf("%q accepted", text)
			}
			if strings.Contains(err.Error(), tok[len(tok)-10:]) {
				t.Errorf("%q echoed: %s", text, err)
			}
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"GITHUB_API_READONLY_TOKEN", "status r1", "history X", "<@U1>", "", "a --dry-run", "ghp_x", "abandon r1 old version gone; fixed by hand"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := ParseCommand(text, known)
		if err != nil {
			msg := err.Error()
			if msg == "" || strings.ContainsAny(msg, "<>") && !strings.Contains(msg, "Slack formatting") {
				t.Fatalf("bad message %q for %q", msg, text)
			}
			// A refusal never repeats more than 40 characters of the input.
			if len(text) > 48 && strings.Contains(msg, text) {
				t.Fatalf("the whole input was echoed")
			}
			return
		}
		switch c.Kind {
		case CmdStart, CmdDryRun, CmdHistory:
			if c.Secret != known[0] && c.Secret != known[1] {
				t.Fatalf("%q started an unknown secret %q", text, c.Secret)
			}
		case CmdStatus, CmdList, CmdExpiring, CmdHelp:
		case CmdAbandon:
			if !runIDRe.MatchString(c.RunID) || c.Reason == "" || looksSecret(c.Reason) || strings.ContainsAny(c.Reason, "<>") {
				t.Fatalf("%q abandons %q for %q", text, c.RunID, c.Reason)
			}
		default:
			t.Fatalf("unknown kind %q", c.Kind)
		}
	})
}
