package sandbox

import (
	"bytes"
	"sync"
)

// SyncBuffer is a goroutine-safe sink for a bot's log lines, so a test or the
// demo can read what the bot wrote while it runs (the leak checks grep it).
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
