package slack

// Read-only snapshots of what the stand-in holds, for the sandbox page and for
// tests.

// DMOf returns the id of the bot's DM with user, if one is open.
func (s *Slack) DMOf(user string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.dmByUser[user]
	return id, ok
}
