// Package handlers is what each Slack gesture does — the /rotate command, every
// button, the token modal, App Home — and who may do it: members of the ops user
// group; the rules of a run (no self-approval, what a state allows) are the
// engine's, and its refusal is the answer. It renders a run as a Block Kit card
// whose buttons are drawn from the transition table (rotation.Run.Can), and
// implements rotation.Notifier, so the engine's changes reach the card, its
// thread, the operators' DMs and the audit channel; it returns where it posted a
// card and never writes to a run.
//
// It speaks Slack through slack-go's Web API client and drives runs through the
// rotation engine only. It must not know about GitHub, Infisical, Heroku or bbolt,
// nor about Socket Mode envelopes (package bot acks and de-duplicates them), and it
// never puts a token value in anything it sends: the modal's value goes straight to
// the engine.
package handlers
