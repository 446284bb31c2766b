package main

import (
	"context"
	"fmt"
	"io"
	"os/user"
	"strings"
	"time"

	"github.com/raxx-app/rotabot/config"
	"github.com/raxx-app/rotabot/rotation"
)

const rotateSynopsis = `rotabot rotate SECRET [--dry-run] [--vault-path P] [--apps a,b] [--gh-secret-repo o/r] [-config FILE]

The SOP's bridge script (step 5, option A) on rotabot's engine: reads SECRET's new
value from Infisical, sets it on every Heroku app and GitHub Actions secret of the
routing matrix in parallel, verifies each, records the run and an audit entry, and
prints a SUMMARY with the next steps for revoking the old token. Exit 0 only if
every destination succeeded. Run it again to retry only what failed.`

// rotate is `rotabot rotate`.
func (c *cli) rotate(ctx context.Context, args []string) int {
	fs := newFlagSet(c, "rotate", rotateSynopsis)
	dry := fs.Bool("dry-run", false, "print the plan and the current token's login and expiry; write nothing")
	vaultPath := fs.String("vault-path", "", "Infisical folder of the secret (default: vault.path of the routing matrix)")
	apps := fs.String("apps", "", "comma-separated Heroku apps, instead of the routing matrix's heroku_apps")
	repo := fs.String("gh-secret-repo", "", "owner/repo whose Actions secret to set, instead of the routing matrix's github_secrets")
	cfg := fs.String("config", "", "routing matrix (default $ROTABOT_CONFIG, else rotabot.yaml)")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(c.stderr, "rotabot rotate: name one secret, e.g. rotabot rotate GITHUB_API_READONLY_TOKEN (rotabot rotate --help)")
		return 2
	}
	secret := pos[0]
	o := rotation.Overrides{VaultPath: *vaultPath, HerokuApps: splitList(*apps), GitHubSecret: *repo}
	if msg := checkOverrides(o, secret); msg != "" {
		fmt.Fprintln(c.stderr, "rotabot rotate: "+msg)
		return 2
	}
	env, m, ok := c.loadSetup(*cfg)
	if !ok {
		return 2
	}
	plan, err := m.Plan(secret, o, time.Now())
	if err != nil {
		fmt.Fprintf(c.stderr, "rotabot rotate: %s — known secrets: %s\n", rotation.ErrorMessage(err), strings.Join(m.Names(), ", "))
		return 2
	}
	if missing := need(env, plan); len(missing) > 0 {
		for _, l := range missing {
			fmt.Fprintln(c.stderr, l)
		}
		return 2
	}
	log := newLogger(c.stderr).With("method", "cli")
	ad, err := buildAdapters(ctx, env, c.getenv, log)
	if err != nil {
		if ad != nil {
			ad.Close()
		}
		fmt.Fprintln(c.stderr, rotation.ErrorMessage(err))
		return 1
	}
	defer ad.Close()

	if *dry {
		eng := ad.engine(m, nil, nil, log, 0)
		dr, err := eng.DryRun(ctx, secret, o)
		if err != nil {
			fmt.Fprintln(c.stderr, rotation.ErrorMessage(err))
			return 1
		}
		fmt.Fprintln(c.stdout, "DRY RUN — nothing is written.")
		for _, l := range dr.Plan.Lines() {
			fmt.Fprintln(c.stdout, l)
		}
		if dr.Problem != "" {
			fmt.Fprintln(c.stdout, "  ⚠ "+dr.Problem)
		} else {
			fmt.Fprintf(c.stdout, "  value in Infisical: login %s, %s, %s\n", dr.Current.Login, dr.Current.Kind, rotation.ExpiryText(dr.Current.ExpiresAt))
		}
		return 0
	}

	st, err := openStore(ctx, env)
	if err != nil {
		fmt.Fprintln(c.stderr, rotation.ErrorMessage(err))
		return 1
	}
	defer st.Close()
	eng := ad.engine(m, st, &cliNotifier{w: c.stdout}, log, 0)
	run, err := eng.StartCLI(ctx, rotation.CLIRequest{Secret: secret, Actor: actor(), Overrides: o})
	if err != nil {
		fmt.Fprintln(c.stderr, "rotabot rotate: "+rotation.ErrorMessage(err))
		return 1
	}
	fmt.Fprintf(c.stdout, "Run %s: propagating %s (%s) to %d destinations…\n", run.ID, secret, run.NewFingerprint, len(run.Destinations))
	run, err = eng.Advance(ctx, run.ID)
	if err != nil {
		fmt.Fprintln(c.stderr, "rotabot rotate: "+rotation.ErrorMessage(err))
		if run == nil {
			return 1
		}
	}
	printSummary(c.stdout, run, m)
	if run.State != rotation.StateCompleted {
		return 1
	}
	return 0
}

// checkOverrides checks the flags with the routing matrix's own rules.
func checkOverrides(o rotation.Overrides, secret string) string {
	for _, a := range o.HerokuApps {
		if msg := config.CheckConsumerEntry("heroku_apps", a, secret); msg != "" {
			return "--apps: " + msg
		}
	}
	if o.GitHubSecret != "" {
		if msg := config.CheckConsumerEntry("github_secrets", o.GitHubSecret, secret); msg != "" {
			return "--gh-secret-repo: " + msg
		}
	}
	if o.VaultPath != "" && (!strings.HasPrefix(o.VaultPath, "/") || !strings.HasSuffix(o.VaultPath, "/")) {
		return fmt.Sprintf("--vault-path: %q must start and end with / (e.g. /MooseQuest/github/)", o.VaultPath)
	}
	return ""
}

func actor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}

// printSummary is the bridge script's SUMMARY: each destination with its status,
// then the next steps for revoking the old token.
func printSummary(w io.Writer, r *rotation.Run, m *rotation.Matrix) {
	fmt.Fprintf(w, "\nSUMMARY — %s, run %s: %s\n", r.Secret, r.ID, r.State.Word())
	width := 0
	for _, d := range r.Destinations {
		width = max(width, len([]rune(d.Label())))
	}
	for _, d := range r.Destinations {
		status := "OK (set and verified)"
		switch d.State {
		case rotation.DestVerified:
		case rotation.DestWritten:
			status = "SET (not verified)"
		case rotation.DestFailed:
			status = "FAILED: " + d.LastError
		default:
			status = strings.ToUpper(string(d.State))
		}
		fmt.Fprintf(w, "  %-*s  %s\n", width, d.Label(), status)
	}
	if v := r.Step(rotation.StepVerify); v != nil && v.Message != "" {
		fmt.Fprintf(w, "  verify: %s\n", v.Message)
	}
	if r.Notice != "" {
		fmt.Fprintf(w, "  %s\n", r.Notice)
	}
	fmt.Fprintln(w, "\nNext steps:")
	if r.State != rotation.StateCompleted {
		fmt.Fprintf(w, "  1. Fix what failed above, then run `rotabot rotate %s` again: only the failed destinations are retried.\n", r.Secret)
		fmt.Fprintln(w, "  2. Do not revoke the old token until every destination is OK.")
		return
	}
	fmt.Fprintf(w, "  1. Revoke the OLD token (fingerprint %s) at %s (Delete for classic, Revoke for fine-grained).\n", orDash(r.OldFingerprint), r.TokenKind.SettingsURL())
	fmt.Fprintln(w, "  2. Confirm it is dead: GET https://api.github.com/user with the old token must answer 401.")
	if sc, err := m.Secret(r.Secret); err == nil && len(sc.Consumers.ShellRCOperators) > 0 {
		fmt.Fprintf(w, "  3. Tell the shell-rc operators (%s) to pull the new value from Infisical: the CLI does not DM them.\n", strings.Join(sc.Consumers.ShellRCOperators, ", "))
	}
	fmt.Fprintf(w, "Audit: %s written (method cli).\n", rotation.ActionCompleted)
}

func orDash(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// cliNotifier prints the run's progress lines for the person at the terminal.
type cliNotifier struct{ w io.Writer }

func (n *cliNotifier) RunChanged(_ context.Context, r *rotation.Run, note string) (rotation.CardRef, error) {
	if note != "" {
		fmt.Fprintf(n.w, "  · %s\n", note)
	}
	return rotation.CardRef{}, nil // no card: the terminal is the only place it shows
}

func (n *cliNotifier) AskOperator(context.Context, *rotation.Run, string, rotation.OperatorAction) error {
	return rotation.Errorf(rotation.EINVALID, "the CLI cannot DM shell-rc operators")
}

func (n *cliNotifier) Audited(context.Context, *rotation.Run, rotation.AuditEntry) error { return nil }
