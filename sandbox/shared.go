// Package sandbox starts the local stand-ins of the four APIs rotabot speaks
// together — Slack, GitHub, Infisical and Heroku, one package each under sandbox/,
// each an HTTP server on 127.0.0.1 that speaks the real wire format — as one World
// with made-up credentials, beside two small hosts of its own (the ops console a
// verify check calls, and a sink that must receive nothing). It also names what the
// stand-ins' users share: a Fault to make a route misbehave, a logged Request, the
// stand-ins' wall clock and a SyncBuffer for a bot's log. The tests, `rotabot demo`
// and the bench use it.
//
// The stand-ins must not know about rotabot's own packages: they are the outside
// world, reached only through the real SDKs.
package sandbox

import (
	"time"

	"github.com/raxx-app/rotabot/sandbox/internal/standin"
)

// Fault makes requests to one route of a stand-in misbehave (see each stand-in's
// Fail and FailPath).
type Fault = standin.Fault

// Request is one request a stand-in logged. Body is kept in memory for assertions
// and is never printed: it can hold a token.
type Request = standin.Request

// WallNow is the stand-ins' wall clock, the default of every stand-in's SetNow:
// time.Now, or in a build with the clockshift tag ROTABOT_CLOCK_SHIFT ahead of it,
// as rotation.WallNow moves the bot's.
func WallNow() time.Time { return standin.WallNow() }
