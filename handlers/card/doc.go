// Package card draws every Block Kit surface rotabot shows in Slack — the run
// card and its buttons with their confirm dialogs, the token and abandon forms,
// App Home, expiry reminders, drift posts, the shell-rc operators' DMs, audit
// posts and the answers to /rotate — as pure functions of domain values (a run,
// its plan, a reminder, a drift record, a report), checked against golden files
// in testdata (go test ./handlers/card -update rewrites them); a run card shows
// those of the gesture table's buttons the transition table allows now
// (rotation.Run.Can), and card says how each looks, never when it may be
// pressed. It must not know about Slack I/O — no client, no Socket Mode, no
// response_url: package handlers sends what it draws — nor about the store, the
// clock or who may press what, and it never holds a token value: a surface
// shows fingerprints.
package card
