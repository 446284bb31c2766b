// Package handlers is what each Slack gesture does — the /rotate command, every
// button, the token and abandon forms, App Home — and who may do it (members of
// the ops user group), plus the notifiers that show the engine's changes in
// Slack (rotation.Notifier, ExpiryNotifier and DriftNotifier: they post what
// package card draws, return where, and never write to a run); a button is one
// row of the gesture table and one case (gestures.go), and the rules of a run
// (no self-approval, what a state allows) are the engine's, its refusal the
// answer. It speaks Slack through slack-go's Web API client and drives runs
// through the rotation engine only; it must not know how a surface looks
// (package card draws every one), GitHub, Infisical, Heroku or bbolt, nor Socket
// Mode envelopes (package bot acks and de-duplicates them), and it never puts a
// token value in anything it sends: the form's value goes straight to the engine.
package handlers
