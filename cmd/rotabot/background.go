package main

import (
	"context"

	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/rotation/autostart"
	"github.com/raxx-app/rotabot/rotation/expiry"
)

// startBackground starts the bot's background loops (expiry reminders, drift)
// and returns what stops them. The reminder loop checks every configured secret
// at once, then every ROTABOT_REMINDER_INTERVAL, and after each of its passes
// starts the runs that are due (auto_start_days) through the engine, as /rotate
// does; the drift loop compares every destination with Infisical at once, then
// every ROTABOT_DRIFT_INTERVAL (none when it is 0). stop waits for the passes in
// hand.
func (s *server) startBackground() (stop func()) {
	auto := autostart.New(autostart.Config{
		Matrix:   s.engine.Matrix,
		Engine:   s.engine,
		Store:    s.store,
		Notifier: s.engine.Notifier,
		Work:     s.work,
		Now:      s.engine.Now,
		Log:      s.log.With("loop", "autostart"),
	})
	loop := expiry.New(expiry.Config{
		Matrix:    s.engine.Matrix,
		Vault:     s.adapters.vault,
		Checker:   s.adapters.tokens,
		Store:     s.store,
		Notifier:  &handlers.ReminderNotifier{Slack: s.api, Channel: s.engine.Matrix.Channel},
		Now:       s.engine.Now,
		Log:       s.log.With("loop", "reminders"),
		Interval:  s.env.ReminderInterval,
		AfterPass: auto.Pass,
	})
	ctx, cancel := context.WithCancel(s.work)
	loop.Start(ctx)
	s.drift.Start(ctx)
	return func() {
		cancel()
		loop.Close()
		s.drift.Close()
	}
}
