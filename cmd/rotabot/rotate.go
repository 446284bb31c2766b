package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os/user"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/raxx-app/rotabot/config"
	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/handlers/card"
	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/discover"
)

// rotateOptions are `rotabot rotate`'s.
type rotateOptions struct {
	Secret       string
	DryRun       bool
	VaultPath    string   // --vault-path
	Apps         []string // --apps
	GHSecretRepo string   // --gh-secret-repo
	Config       configOption
	// typed is the command line as typed, for a Try: line that keeps its flags.
	typed []string
}

func (o *rotateOptions) overrides() rotation.Overrides {
	return rotation.Overrides{VaultPath: o.VaultPath, HerokuApps: o.Apps, GitHubSecret: o.GHSecretRepo}
}

func newRotateCmd(c *cli, runF func(context.Context, *rotateOptions) error) *command {
	cmd := newCommand("rotate", "SECRET", "propagate the value in Infisical to every consumer and verify (the bridge script)",
		"The team procedure's bridge script (propagation, scripted) on rotabot's engine, for when Slack is\n"+
			"down: reads SECRET's new value from Infisical, sets it on every Heroku app and GitHub Actions\n"+
			"secret of the routing matrix in parallel, verifies each, records the run and an audit entry, and\n"+
			"prints a SUMMARY with the next steps for revoking the old token. Exit 0 only if every destination\n"+
			"succeeded. Run it again to retry what failed. With --dry-run it reads (Infisical, GitHub's\n"+
			"GET /user) and writes nothing; it needs only the Infisical variables.")
	opts := &rotateOptions{}
	var apps string
	cmd.flags.BoolVar(&opts.DryRun, "dry-run", false, "print the plan and the current token's login and expiry; write nothing")
	cmd.flags.StringVar(&opts.VaultPath, "vault-path", "", "the Infisical folder `P` of the secret, instead of vault.path of the routing matrix")
	cmd.flags.StringVar(&apps, "apps", "", "comma-separated Heroku apps `a,b`, instead of the routing matrix's heroku_apps")
	cmd.flags.StringVar(&opts.GHSecretRepo, "gh-secret-repo", "", "the repository `o/r` whose Actions secret to set, instead of the routing matrix's github_secrets")
	addConfigFlag(cmd, &opts.Config)
	cmd.run = func(ctx context.Context, args []string) error {
		secret, err := cmd.oneSecret(args)
		if err != nil {
			return err
		}
		opts.Secret, opts.typed = secret, cmd.typed
		opts.Apps = splitList(apps)
		opts.Config.given(cmd.flags)
		if msg := checkOverrides(opts.overrides(), opts.Secret); msg != "" {
			return &usageError{msg: msg, hint: "rotabot help rotate"}
		}
		if runF != nil {
			return runF(ctx, opts)
		}
		return c.runRotate(ctx, opts)
	}
	return cmd
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

func (c *cli) runRotate(ctx context.Context, opts *rotateOptions) error {
	su, problems := c.loadSetup(opts.Config)
	log := c.logger(su.env).With("method", "cli")
	o := opts.overrides()
	var plan rotation.Plan
	if su.m != nil {
		var err error
		if plan, err = su.m.Plan(opts.Secret, o, rotation.WallNow()); err != nil {
			if _, serr := su.m.Secret(opts.Secret); serr != nil {
				return unknownSecret(serr, "rotate", opts.Secret, opts.typed, su.m)
			}
			return err
		}
	}
	// A dry run reads the vault and asks GitHub about the token it holds: it
	// needs the Infisical identity, nothing that writes.
	problems = append(problems, readNeeds(su.env)...)
	written := cliDestinations(plan.Destinations)
	missing := writeNeeds(su.env, written)
	if !opts.DryRun {
		problems = append(problems, missing...)
	}
	if len(problems) > 0 {
		return &problemsError{lines: problems, what: "problem", fix: "fix %s and run again"}
	}
	ad, err := openAdapters(ctx, su.env, su.m, c.getenv, log)
	if err != nil {
		return err
	}
	defer ad.Close()
	if opts.DryRun {
		return c.dryRun(ctx, ad.engine(su.m, nil, nil, log, 0), su.env, opts.Secret, o, missing)
	}

	st, err := openStore(ctx, su.env)
	if err != nil {
		return err
	}
	defer st.Close()
	eng := ad.engine(su.m, st, &cliNotifier{w: c.stdout, width: c.width(c.stdout)}, log, 0)
	run, err := eng.StartCLI(ctx, rotation.CLIRequest{Secret: opts.Secret, Actor: actor(), Overrides: o})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Run %s: propagating %s (%s) to %s…\n", run.ID, opts.Secret, run.NewFingerprint, words.Plural(len(run.Destinations), "destination", "destinations"))
	run, err = eng.Advance(ctx, run.ID)
	if run == nil {
		return err
	}
	var operators []string
	if sc, err := su.m.Secret(run.Secret); err == nil {
		operators = sc.Consumers.ShellRCOperators
	}
	printSummary(c.stdout, run, su.m, su.env, c.peopleNames(ctx, su.env, operators))
	if err != nil {
		return err
	}
	if run.State != rotation.StateCompleted {
		return withNext(fmt.Errorf("run %s ended %s: see the SUMMARY above", run.ID, run.State.Word()),
			fmt.Sprintf("fix what the SUMMARY names, then run rotabot rotate %s again: only what failed is retried", run.Secret))
	}
	return nil
}

// peopleNames names the Slack users among ids when SLACK_BOT_TOKEN is set (nil
// otherwise, or when Slack does not answer within a few seconds): the CLI's output
// then says "Slack user U…".
func (c *cli) peopleNames(ctx context.Context, env config.Env, ids []string) map[string]string {
	if env.SlackBotToken == "" || len(ids) == 0 {
		return nil
	}
	api, err := slackAPI(env)
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return handlers.PeopleNames(ctx, api, ids)
}

// cliDestinations are the destinations the CLI writes: not shell-rc operators,
// whom it cannot DM (the SUMMARY names them).
func cliDestinations(ds []rotation.Destination) []rotation.Destination {
	var out []rotation.Destination
	for _, d := range ds {
		if d.Kind != rotation.DestShellRC {
			out = append(out, d)
		}
	}
	return out
}

// dryRun prints the plan as the CLI would carry it out and what the value in
// Infisical is; a credential a real run would miss is a warning in it.
func (c *cli) dryRun(ctx context.Context, eng *rotation.Engine, env config.Env, secret string, o rotation.Overrides, missing []string) error {
	dr, err := eng.DryRun(ctx, secret, o)
	if err != nil {
		return err
	}
	plan := dr.Plan
	targets := handlers.ShellRCTargets(plan.Destinations)
	names := c.peopleNames(ctx, env, targets)
	var shell []string
	for _, t := range targets {
		shell = append(shell, rotation.PlainOperatorName(t, names))
	}
	plan.Destinations = cliDestinations(plan.Destinations)
	fmt.Fprintln(c.stdout, "DRY RUN — nothing is written.")
	for _, l := range card.PlanLines(plan, nil) {
		fmt.Fprintln(c.stdout, plainText(l))
	}
	for _, l := range discover.PlanLines(dr.Unknown) {
		fmt.Fprintln(c.stdout, l)
	}
	if len(shell) > 0 {
		fmt.Fprintf(c.stdout, "  not written by the CLI: the shell rc of %s (it cannot DM them: the SUMMARY says whom to tell)\n", strings.Join(shell, ", "))
	}
	for _, m := range missing {
		fmt.Fprintln(c.stdout, "  ⚠ "+m)
	}
	if dr.Problem != "" {
		fmt.Fprintln(c.stdout, "  ⚠ "+plainText(dr.Problem))
	} else {
		fmt.Fprintf(c.stdout, "  value in Infisical: %s\n", strings.TrimSuffix(fmt.Sprintf("login %s, %s, %s, %s", dr.Current.Login, dr.Current.Kind, words.ExpiryText(dr.Current.ExpiresAt), dr.Current.Detail), ", "))
	}
	return nil
}

func actor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}

// printSummary is the bridge script's SUMMARY: each destination with its status,
// then the next steps for revoking the old token, on the configured GitHub.
func printSummary(w io.Writer, r *rotation.Run, m *rotation.Matrix, env config.Env, names map[string]string) {
	fmt.Fprintf(w, "\nSUMMARY — %s, run %s: %s\n", r.Secret, r.ID, r.State.Word())
	label := func(d rotation.Destination) string {
		if d.From != "" {
			return d.PlainLabel() + " (from " + d.From + ")"
		}
		return d.PlainLabel()
	}
	width := 0
	for _, d := range r.Destinations {
		width = max(width, len([]rune(label(d))))
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
		fmt.Fprintf(w, "  %-*s  %s\n", width, label(d), plainText(status))
	}
	for _, d := range r.Dropped {
		fmt.Fprintf(w, "  dropped, no longer named: %s — %s\n", label(d), d.Holds())
	}
	if v := r.Step(rotation.StepVerify); v != nil && v.Message != "" {
		fmt.Fprintf(w, "  verify: %s\n", plainText(v.Message))
	}
	if r.Notice != "" {
		fmt.Fprintf(w, "  %s\n", plainText(r.Notice))
	}
	if d := r.OldHolders; d != nil && (len(d.Holders) > 0 || len(d.Copies) > 0 || d.Problem != "") {
		fmt.Fprintf(w, "  Not in the routing matrix, holding the old token (%s):\n", discover.Summary(d))
		for _, h := range d.Holders {
			fmt.Fprintf(w, "    - %s\n", discover.OldHolderLine(h, false))
		}
		for _, c := range d.Copies {
			fmt.Fprintf(w, "    - %s\n", discover.CopyLine(c, "the old token", r.Created))
		}
		if d.Problem != "" {
			fmt.Fprintf(w, "    ⚠ the scan is incomplete: %s\n", d.Problem)
		}
	}
	fmt.Fprintln(w, "\nNext steps:")
	if r.State != rotation.StateCompleted {
		fmt.Fprintf(w, "  1. Fix what failed above, then run `rotabot rotate %s` again: only the failed destinations are retried.\n", r.Secret)
		fmt.Fprintln(w, "  2. Do not revoke the old token until every destination is OK.")
		return
	}
	settings := r.TokenKind.SettingsURL(m.GitHubWeb)
	how := "Revoke"
	if r.TokenKind == rotation.Classic {
		how = "Delete"
	}
	if d := r.OldHolders; d != nil && len(d.Holders) > 0 {
		fmt.Fprintf(w, "  0. Set the new value on the %s above that still hold the old token, or remove it there: revoking breaks them.\n", words.Plural(len(d.Holders), "place", "places"))
	}
	if d := r.OldHolders; d != nil && len(d.Copies) > 0 {
		fmt.Fprintf(w, "  0. Of the %s above that may hold the old token, set the new value on each one in use (gh secret set), or add it to the routing matrix.\n",
			words.Plural(len(d.Copies), "GitHub secret", "GitHub secrets"))
	}
	if r.TokenKind == rotation.HerokuAPIKey {
		// A Heroku key is an authorization of its account: deleted by its id.
		fmt.Fprintf(w, "  1. Delete the OLD key's authorization (fingerprint %s): `heroku authorizations` lists them (its description says what it was for), then `heroku authorizations:revoke ID`, or at %s.\n", cmp.Or(r.OldFingerprint, "unknown"), settings)
		fmt.Fprintf(w, "  2. Confirm it is dead: GET %s/account with the old key must answer 401.\n", strings.TrimRight(env.HerokuAPIURL, "/"))
	} else if r.OldFingerprint != "" {
		fmt.Fprintf(w, "  1. Revoke the OLD token (fingerprint %s) at %s (%s).\n", r.OldFingerprint, settings, how)
	} else {
		fmt.Fprintf(w, "  1. Revoke the OLD token at %s (%s). Its fingerprint is unknown: %s.\n", settings, how, unknownOldReason(r))
		fmt.Fprintf(w, "     To tell it apart there: it belongs to %s, it is not the new one (%s), and it is the token your consumers used before this run — GitHub lists each token's name, expiry and when it was last used.\n",
			orUnknown(r.Login), words.ExpiryText(r.NewExpiry))
	}
	if r.TokenKind != rotation.HerokuAPIKey {
		fmt.Fprintf(w, "  2. Confirm it is dead: GET %s/user with the old token must answer 401.\n", env.GitHubAPIURL)
	}
	if sc, err := m.Secret(r.Secret); err == nil && len(sc.Consumers.ShellRCOperators) > 0 {
		var who []string
		for _, op := range sc.Consumers.ShellRCOperators {
			who = append(who, rotation.PlainOperatorName(op, names))
		}
		fmt.Fprintf(w, "  3. Tell the shell-rc operators (%s) to pull the new value from Infisical: the CLI does not DM them.\n", strings.Join(who, ", "))
	}
	fmt.Fprintf(w, "Audit: %s written (method cli).\n", rotation.ActionCompleted)
}

// unknownOldReason says why the CLI could not fingerprint the old token: it reads
// it from the vault version before the one it propagated.
func unknownOldReason(r *rotation.Run) string {
	if r.VaultVersionBefore == 0 {
		return fmt.Sprintf("Infisical keeps no earlier version of %s (the value propagated is its first), so rotabot never saw the old token", r.Secret)
	}
	return fmt.Sprintf("Infisical's version %d of %s, the one before the value propagated, could not be read (deleted from its history, or the machine identity may not read old versions)", r.VaultVersionBefore, r.Secret)
}

func orUnknown(s string) string {
	if s == "" {
		return "the same GitHub account"
	}
	return "login " + s
}

var (
	slackLinkRe    = regexp.MustCompile(`<(https?://[^|>]+)\|([^>]+)>`)
	slackMentionRe = regexp.MustCompile(`<([@#!])([A-Za-z0-9^]+)(?:\|[^>]*)?>`)
)

// plainText turns Slack's formatting in a line meant for a card into text for a
// terminal: <@U1> → @U1, <#C1> → #C1, <url|text> → text (url).
func plainText(s string) string {
	s = slackLinkRe.ReplaceAllString(s, "$2 ($1)")
	return slackMentionRe.ReplaceAllStringFunc(s, func(m string) string {
		sm := slackMentionRe.FindStringSubmatch(m)
		if sm[1] == "!" {
			return "@" + strings.TrimPrefix(sm[2], "subteam^")
		}
		return sm[1] + sm[2]
	})
}

// cliNotifier prints the run's progress lines for the person at the terminal,
// each wrapped to width columns (0: DefaultWidth): each step as it starts, with
// when it gives up if a service stops answering, and as it ends, with how long
// it took; and each note.
type cliNotifier struct {
	w       io.Writer
	width   int
	mu      sync.Mutex
	started map[rotation.StepName]time.Time // steps said to have started, by their Until
}

func (n *cliNotifier) RunChanged(_ context.Context, r *rotation.Run, note string) (rotation.CardRef, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.started == nil {
		n.started = map[rotation.StepName]time.Time{}
	}
	for _, s := range r.Steps {
		until, said := n.started[s.Name]
		switch {
		case s.State == rotation.StepRunning && !s.Until.IsZero() && !until.Equal(s.Until):
			n.started[s.Name] = s.Until
			n.line(fmt.Sprintf("%s… (if a service stops answering, it gives up at %s)", rotation.StepTitle(s.Name), s.Until.UTC().Format("15:04:05 UTC")))
		case said && s.State != rotation.StepRunning && !s.Finished.IsZero():
			delete(n.started, s.Name)
			n.line(fmt.Sprintf("%s %s in %s", rotation.StepTitle(s.Name), s.State, took(s.Finished.Sub(s.Started))))
		}
	}
	if note != "" {
		// A note's later lines hang under its first.
		for i, l := range strings.Split(plainText(note), "\n") {
			if i == 0 {
				n.line(l)
			} else {
				fmt.Fprintln(n.w, wrap("    ", "      ", l, n.cols()))
			}
		}
	}
	return rotation.CardRef{}, nil // no card: the terminal is the only place it shows
}

// line prints one progress line, wrapped.
func (n *cliNotifier) line(s string) { fmt.Fprintln(n.w, wrap("  · ", "    ", s, n.cols())) }

func (n *cliNotifier) cols() int {
	if n.width <= 0 {
		return DefaultWidth
	}
	return n.width
}

// took is how long a step took, for people: "75 ms", "2s", "1m30s".
func took(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%d ms", max(d.Milliseconds(), 0))
	}
	return words.HumanDuration(d)
}

func (n *cliNotifier) AskOperator(context.Context, *rotation.Run, string, rotation.OperatorAction) error {
	return rotation.Errorf(rotation.EINVALID, "the CLI cannot DM shell-rc operators")
}

func (n *cliNotifier) Audited(context.Context, *rotation.Run, rotation.AuditEntry) error { return nil }
