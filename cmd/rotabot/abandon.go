package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/rotation"
)

// abandonOptions are `rotabot abandon`'s.
type abandonOptions struct {
	RunID  string
	Reason string
	Config configOption
}

func newAbandonCmd(c *cli, runF func(context.Context, *abandonOptions) error) *command {
	cmd := newCommand("abandon", "RUN", "give up a run that failed or waits for a person, with a reason",
		"Gives up run RUN (e.g. r42) where it stands: from a failed step, or while it waits for a person —\n"+
			"when neither Retry nor Rollback can finish it. It writes nothing anywhere but rotabot's own\n"+
			"record: the run ends Abandoned, secret.rotate.abandoned goes to the audit trail with who, why,\n"+
			"the state it was in and what it leaves where (printed here, to put right by hand), and the\n"+
			"secret is free for a new run. It needs the routing matrix and the database (ROTABOT_DB or\n"+
			"DATABASE_URL); with SLACK_BOT_TOKEN set it also updates the run's card and posts the audit entry.")
	opts := &abandonOptions{}
	cmd.flags.StringVar(&opts.Reason, "reason", "", "why, in a sentence or two: it goes in the audit trail (`TEXT`, required)")
	addConfigFlag(cmd, &opts.Config)
	// try is the line typed with run id, and an example reason if none was typed.
	try := func(id string) string {
		if opts.Reason == "" {
			return cmd.tryWith(id, "--reason", "old version gone from Infisical; restored by hand")
		}
		return cmd.tryWith(id)
	}
	cmd.run = func(ctx context.Context, args []string) error {
		switch {
		case len(args) == 0:
			return &usageError{msg: "name the run to abandon", hint: try("r42")}
		case len(args) > 1 && opts.Reason == "":
			return &usageError{msg: fmt.Sprintf("unexpected argument %q: abandon takes one run (quote the reason: --reason \"…\")", args[1]),
				hint: cmd.tryWith(args[0], "--reason", strings.Join(args[1:], " "))}
		case len(args) > 1:
			return &usageError{msg: fmt.Sprintf("unexpected argument %q: abandon takes one run, and --reason was given", args[1]), hint: cmd.tryWith(args[0])}
		}
		opts.RunID = strings.ToLower(args[0])
		opts.Config.given(cmd.flags)
		if _, err := rotation.ParseRunID(opts.RunID); err != nil {
			return &usageError{msg: fmt.Sprintf("%q is not a run id: run ids look like r42", args[0]), hint: try("r42")}
		}
		if err := rotation.CheckReason(opts.Reason); err != nil {
			return &usageError{msg: "--reason: " + rotation.ErrorMessage(err), hint: try(opts.RunID)}
		}
		if runF != nil {
			return runF(ctx, opts)
		}
		return c.runAbandon(ctx, opts)
	}
	return cmd
}

func (c *cli) runAbandon(ctx context.Context, opts *abandonOptions) error {
	su, problems := c.loadSetup(opts.Config)
	if len(problems) > 0 {
		return &problemsError{lines: problems, what: "problem", fix: "fix %s and run again"}
	}
	log := c.logger(su.env).With("method", "cli")
	st, err := openStore(ctx, su.env)
	if err != nil {
		return err
	}
	defer st.Close()
	// The terminal always; Slack too when its token is here, so the card and the
	// audit channel say what happened (a Slack that is down only logs a warning).
	var n rotation.Notifier = &cliNotifier{w: c.stdout, width: c.width(c.stdout)}
	if su.env.SlackBotToken != "" {
		if api, err := slackAPI(su.env); err == nil {
			n = bothNotifiers{n, handlers.NewNotifier(handlers.NotifierConfig{Slack: paced(api), Matrix: su.m, Runs: st, Log: log, Work: ctx})}
		}
	}
	eng := rotation.NewEngine(rotation.EngineConfig{Matrix: su.m, Store: st, Notifier: n, Log: log})
	run, err := eng.Abandon(ctx, opts.RunID, actor(), opts.Reason)
	if rotation.ErrorCode(err) == rotation.ENOTFOUND {
		return withNext(err, "find the run's id on its card in Slack, or with /rotate list (open runs) or /rotate history SECRET (past runs); then rotabot abandon RUN --reason \"…\" again")
	}
	if err != nil {
		return err
	}
	// The engine's note above said what it leaves where.
	fmt.Fprintf(c.stdout, "\nAbandoned %s (%s; it was %s): put right by hand what it left, as listed above.\n", run.ID, run.Secret, run.AbandonedFrom.Word())
	fmt.Fprintf(c.stdout, "Audit: %s written (reason: %s). The secret is free: rotabot rotate %s (or /rotate %s) starts a new run.\n",
		rotation.ActionAbandoned, run.AbandonReason, run.Secret, run.Secret)
	return nil
}

// bothNotifiers tells the terminal and Slack; Slack's card reference wins.
type bothNotifiers struct{ term, slack rotation.Notifier }

func (b bothNotifiers) RunChanged(ctx context.Context, r *rotation.Run, note string) (rotation.CardRef, error) {
	b.term.RunChanged(ctx, r, note)
	return b.slack.RunChanged(ctx, r, note)
}

func (b bothNotifiers) AskOperator(ctx context.Context, r *rotation.Run, op string, a rotation.OperatorAction) error {
	return b.slack.AskOperator(ctx, r, op, a)
}

func (b bothNotifiers) Audited(ctx context.Context, r *rotation.Run, e rotation.AuditEntry) error {
	return b.slack.Audited(ctx, r, e)
}
