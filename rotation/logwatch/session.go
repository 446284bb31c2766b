package logwatch

import (
	"context"
	"regexp"
	"sync"
	"time"

	"github.com/raxx-app/rotabot/rotation"
)

// A session is one log read of one target, shared by every run that watches
// that target now: one log session at the service, one connection, one
// goroutine, one line at a time matched for each pattern set its readers use.

type sessionKey struct {
	kind   rotation.DestKind
	target string
}

// recentMax bounds the app lines a session keeps for a run that joins it late.
const recentMax = 32 << 10

type session struct {
	key    sessionKey
	cancel context.CancelFunc
	subs   []*sub
	// open is set while the stream is open; lastErr is why it is not.
	open    bool
	lastErr error
	// seen is set once a line came on the current stream; first is its time:
	// the stream has every line written after it.
	seen  bool
	first time.Time
	// recent are the app's own lines of the current stream, newest last,
	// recentBytes long; dropped is the time of the newest one let go.
	recent      []rotation.LogLine
	recentBytes int
	dropped     time.Time
	// reopen is set when the stream is to be opened again at once (a run
	// joined that needs lines from before the session's).
	reopen bool
	conn   context.CancelFunc
	// told is signalled once the loop has reported a failure of the stream:
	// the backoff starts after the warning is on the record.
	told chan struct{}
}

// event is what a session tells the loop about one watch's destination.
type event struct {
	w      *watch
	i      int
	opened bool
	match  *rotation.LogLine
	// pattern is the log_watch pattern the line matched.
	pattern string
	err     error
	told    chan struct{} // the session's, on a failure
}

// subscribe has destination i of wt read target's log from its watch's From
// with pats (the loop ends it at the watch's end); a session of the target
// already open serves it. w.mu is held.
func (w *Watcher) subscribeLocked(ctx context.Context, wg *sync.WaitGroup, wt *watch, i int, d rotation.Destination, pats []*regexp.Regexp) {
	key := sessionKey{d.Kind, d.Target}
	s := w.sessions[key]
	sb := &sub{w: wt, i: i, from: d.Watch.From, pats: pats}
	wt.subs = append(wt.subs, sb)
	if s == nil {
		sctx, cancel := context.WithCancel(ctx)
		s = &session{key: key, cancel: cancel, told: make(chan struct{}, 1)}
		w.sessions[key] = s
		sb.s = s
		s.subs = append(s.subs, sb)
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.read(sctx, s, w.tailers[d.Kind])
		}()
		return
	}
	sb.s = s
	s.subs = append(s.subs, sb)
	switch {
	case s.open:
		w.events = append(w.events, event{w: wt, i: i, opened: true})
		w.kickLocked()
	case s.lastErr != nil:
		w.events = append(w.events, event{w: wt, i: i, err: s.lastErr})
		w.kickLocked()
	}
	if s.seen && (!sb.from.After(s.first) || !sb.from.After(s.dropped)) {
		// The session began after the run's release, or let lines go since:
		// read the log again with its history.
		s.reopen = true
		if s.conn != nil {
			s.conn()
		}
		return
	}
	for _, l := range s.recent {
		if w.offerLocked(sb, l, nil) {
			break
		}
	}
}

// unsubscribeLocked stops sb's reading; a session nobody reads ends. w.mu is held.
func (w *Watcher) unsubscribeLocked(sb *sub) {
	wt := sb.w
	for k, x := range wt.subs {
		if x == sb {
			wt.subs = append(wt.subs[:k], wt.subs[k+1:]...)
			break
		}
	}
	w.dropFromSessionLocked(sb)
}

// dropFromSessionLocked takes sb out of its session's readers. w.mu is held.
func (w *Watcher) dropFromSessionLocked(sb *sub) {
	s := sb.s
	if s == nil {
		return
	}
	sb.s = nil
	for k, x := range s.subs {
		if x == sb {
			s.subs = append(s.subs[:k], s.subs[k+1:]...)
			break
		}
	}
	if len(s.subs) == 0 {
		s.cancel()
		if w.sessions[s.key] == s {
			delete(w.sessions, s.key)
		}
	}
}

// read reads the session's log until ctx ends, opening it again when the stream
// drops (backing off 1 s, doubling to 30 s, while it is refused) or when a
// joining run needs its history.
func (w *Watcher) read(ctx context.Context, s *session, lt rotation.LogTailer) {
	wait := time.Second
	for ctx.Err() == nil {
		cctx, cancel := context.WithCancel(ctx)
		w.mu.Lock()
		s.open, s.seen, s.recent, s.recentBytes, s.dropped, s.reopen, s.conn = false, false, nil, 0, time.Time{}, false, cancel
		w.mu.Unlock()
		// Past the first line only the app's own lines concern the readers:
		// the platform's pass without taking the lock.
		seen := false
		each := func(l rotation.LogLine) {
			if app := l.AppOutput(); app || !seen {
				seen = true
				w.line(s, l, app)
			}
		}
		err := lt.TailLogs(cctx, s.key.target, logHistory, func() {
			wait = time.Second
			w.mu.Lock()
			s.open, s.lastErr = true, nil
			for _, sb := range s.subs {
				w.events = append(w.events, event{w: sb.w, i: sb.i, opened: true})
			}
			w.kickLocked()
			w.mu.Unlock()
		}, each)
		cancel()
		if ctx.Err() != nil {
			return
		}
		select {
		case <-s.told:
		default:
		}
		w.mu.Lock()
		again, readers := s.reopen, len(s.subs)
		s.open = false
		if !again {
			if err == nil {
				err = rotation.Errorf(rotation.EUNAVAILABLE, "the log stream of %s ended", s.key.target)
			}
			s.lastErr = err
			for _, sb := range s.subs {
				w.events = append(w.events, event{w: sb.w, i: sb.i, err: err, told: s.told})
			}
			w.kickLocked()
		}
		w.mu.Unlock()
		if again {
			continue
		}
		if readers > 0 {
			select {
			case <-s.told:
			case <-ctx.Done():
				return
			}
		}
		if w.eng.Sleep(ctx, wait) != nil {
			return
		}
		wait = min(wait*2, 30*time.Second)
	}
}

// line hands one line of s's log to its readers (app: the app's own output).
func (w *Watcher) line(s *session, l rotation.LogLine, app bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !s.seen {
		s.seen, s.first = true, l.Time
	}
	if !app || s.reopen {
		return
	}
	s.remember(l)
	// Each pattern set is tried once a line, whatever the number of runs using it.
	var tried [4]struct {
		pats    []*regexp.Regexp
		pattern string
	}
	n := 0
	for k := 0; k < len(s.subs); {
		sb := s.subs[k]
		if l.Time.Before(sb.from) {
			k++
			continue
		}
		var known *string
		for j := range n {
			if sameSet(tried[j].pats, sb.pats) {
				known = &tried[j].pattern
				break
			}
		}
		if known == nil {
			p := matching(sb.pats, l.Text)
			if n < len(tried) {
				tried[n].pats, tried[n].pattern = sb.pats, p
				n++
			}
			known = &p
		}
		if *known != "" && w.offerLocked(sb, l, known) {
			continue // sb left s.subs: the next one is at k
		}
		k++
	}
}

// offerLocked gives line l to sb (pattern, when not nil, is what sb's patterns
// make of it); a match is reported and ends sb's reading. It reports whether
// sb matched. w.mu is held.
func (w *Watcher) offerLocked(sb *sub, l rotation.LogLine, pattern *string) bool {
	if l.Time.Before(sb.from) {
		return false
	}
	p := ""
	if pattern != nil {
		p = *pattern
	} else {
		p = matching(sb.pats, l.Text)
	}
	if p == "" {
		return false
	}
	line := l
	w.events = append(w.events, event{w: sb.w, i: sb.i, match: &line, pattern: p})
	w.dropFromSessionLocked(sb)
	w.kickLocked()
	return true
}

// remember keeps l among the recent lines, letting the oldest go past recentMax.
func (s *session) remember(l rotation.LogLine) {
	size := len(l.Text) + len(l.Source) + 64
	if size > recentMax {
		s.dropped = l.Time
		return
	}
	s.recent = append(s.recent, l)
	s.recentBytes += size
	drop := 0
	for s.recentBytes > recentMax {
		old := s.recent[drop]
		s.recentBytes -= len(old.Text) + len(old.Source) + 64
		s.dropped = old.Time
		drop++
	}
	if drop > 0 {
		s.recent = append(s.recent[:0], s.recent[drop:]...)
	}
}

// matching is the first of pats that text matches ("" for none).
func matching(pats []*regexp.Regexp, text string) string {
	for _, p := range pats {
		if p.MatchString(text) {
			return p.String()
		}
	}
	return ""
}

// sameSet reports whether a and b are the same pattern list (the engine hands
// out one per secret, and one default).
func sameSet(a, b []*regexp.Regexp) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}
