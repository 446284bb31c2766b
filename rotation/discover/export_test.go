package discover

// WaitingForGitHub is how many looks wait for the listing of GitHub under way.
func WaitingForGitHub(s *Scanner) int {
	s.ghShare.mu.Lock()
	defer s.ghShare.mu.Unlock()
	return s.ghShare.waiting
}
