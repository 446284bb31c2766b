package heroku

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"sync"
	"time"

	heroku "github.com/heroku/heroku-go/v5"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
)

var _ rotation.ConfigScanner = (*Scanner)(nil)

// Heroku's rate limit: a bucket of about 4,500 request tokens per account that
// refills at roughly 75 a minute (Platform API reference, "Rate Limits").
const (
	bucketSize   = 4500
	refillPerMin = 75
)

// Scanner reads the app list and every app's config for rotation's scans (where
// a value is held, drift). It keeps no value and no digest: each config is decoded
// with every value hashed as it is read, the digests are handed to the caller and
// dropped.
//
// It is rate-limit aware. Every answer carries RateLimit-Remaining; the Scanner
// keeps the last one (and counts the refill since), sends one request per
// SlowEvery once fewer than SlowBelow tokens are left, and stops — an error
// carrying rotation.ErrRateBudget — below Reserve, so a scan never takes the
// tokens a rotation's own writes need. It is safe for concurrent use; how many
// requests run at once is the caller's choice (rotation/discover's Parallel).
type Scanner struct {
	c *Consumer
	// Reserve is how many tokens a scan never touches (default 500).
	Reserve int
	// SlowBelow is where a scan slows down to one request per SlowEvery
	// (default 1,500, and 800 ms: Heroku's refill rate, so the bucket stops
	// draining).
	SlowBelow int
	SlowEvery time.Duration
	// Now and Sleep are the clock and the wait; tests replace them.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error

	mu        sync.Mutex
	remaining int       // the last RateLimit-Remaining seen (-1: none yet)
	seenAt    time.Time // when it was seen
	next      time.Time // while slow: when the next request may go
}

// Scanner returns the config scanner on c's key.
func (c *Consumer) Scanner() *Scanner {
	return &Scanner{c: c, Reserve: 500, SlowBelow: 1500, SlowEvery: 800 * time.Millisecond,
		Now: rotation.WallNow, Sleep: rotation.Sleep, remaining: -1}
}

// Remaining is the scanner's estimate of the tokens left now: the last
// RateLimit-Remaining plus the refill since (-1 before the first answer).
func (s *Scanner) Remaining() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.estimate(s.Now())
}

// estimate is Remaining with s.mu held.
func (s *Scanner) estimate(now time.Time) int {
	if s.remaining < 0 {
		return -1
	}
	refill := int(now.Sub(s.seenAt).Minutes() * refillPerMin)
	return min(bucketSize, s.remaining+max(refill, 0))
}

// noted records the RateLimit-Remaining of an answer (a 429 says none are left).
func (s *Scanner) noted(ctx context.Context, err error) {
	a, ok := ctx.Value(answerKey{}).(*answer)
	if !ok {
		return
	}
	n := a.remaining
	if a.status == 429 && n < 0 {
		n = 0
	}
	if n < 0 {
		return
	}
	s.mu.Lock()
	s.remaining, s.seenAt = n, s.Now()
	s.mu.Unlock()
}

// pace waits for the request's turn, or refuses it when the budget is spent.
func (s *Scanner) pace(ctx context.Context, app string) error {
	s.mu.Lock()
	now := s.Now()
	left := s.estimate(now)
	var wait time.Duration
	switch {
	case left >= 0 && left < s.Reserve:
		s.mu.Unlock()
		refill := time.Duration(float64(s.SlowBelow-left) / refillPerMin * float64(time.Minute)).Round(time.Minute)
		e := rotation.Wrap(rotation.EUNAVAILABLE, rotation.ErrRateBudget,
			"Heroku's rate limit is nearly used up (%d requests left): rotabot stopped reading app configs%s to leave them for rotations — try again in %s",
			left, forApp(app), words.HumanDuration(refill))
		e.RetryAfter = refill
		return e
	case left >= 0 && left < s.SlowBelow:
		at := s.next
		if at.Before(now) {
			at = now
		}
		s.next = at.Add(s.SlowEvery)
		wait = at.Sub(now)
	}
	s.mu.Unlock()
	if wait > 0 {
		if err := s.Sleep(ctx, wait); err != nil {
			return classifyCtx(ctx, app, err)
		}
	}
	return nil
}

// appName is the one field of an app the list is read for.
type appName struct {
	Name string `json:"name"`
}

// Apps lists the name of every app HEROKU_API_KEY can see (GET /apps: personal,
// collaborated and team apps), following Next-Range a page of 1,000 at a time.
func (s *Scanner) Apps(ctx context.Context) ([]string, error) {
	all, err := pages(ctx, s.c, "", &heroku.ListRange{Field: "name", Max: 1000},
		func(ctx context.Context, lr *heroku.ListRange) ([]appName, error) {
			if err := s.pace(ctx, ""); err != nil {
				return nil, err
			}
			var page []appName
			err := s.c.svc.Get(ctx, &page, "/apps", nil, lr)
			s.noted(ctx, err)
			return page, err
		})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(all))
	for _, a := range all {
		if a.Name != "" {
			names = append(names, a.Name)
		}
	}
	return names, nil
}

// ScanConfig reads app's config vars once (GET /apps/{app}/config-vars) and
// calls each with every var's name and the SHA-256 of its value, after the whole
// config was read. Values are hashed as they are decoded and dropped.
func (s *Scanner) ScanConfig(ctx context.Context, app string, each func(name string, sum rotation.Digest)) error {
	if err := checkApp(app); err != nil {
		return err
	}
	var got varDigests
	err := s.c.call(ctx, app, "read", rotation.Secret{}, func(ctx context.Context) error {
		if err := s.pace(ctx, app); err != nil {
			return err
		}
		got = varDigests{}
		err := s.c.svc.Get(ctx, &got, configVarsPath(app), nil, nil)
		s.noted(ctx, err)
		return err
	})
	if err != nil {
		return err
	}
	for _, v := range got {
		each(v.name, v.sum)
	}
	return nil
}

// varDigests decodes a config-vars object into each var's name and the SHA-256
// of its value; no value outlives its own decoding.
type varDigests []struct {
	name string
	sum  rotation.Digest
}

func (d *varDigests) UnmarshalJSON(b []byte) error {
	return decodeVarDigests(b, func(string) bool { return true }, func(name string, sum rotation.Digest) {
		*d = append(*d, struct {
			name string
			sum  rotation.Digest
		}{name, sum})
	})
}

// decodeVarDigests reads a config-vars object and hands each var that keep
// wants, with the SHA-256 of its value, to each. A var it does not keep is
// skipped unread as a string; a value is never kept past its own hashing; a null
// value (a var being removed) is not handed over.
func decodeVarDigests(b []byte, keep func(name string) bool, each func(name string, sum rotation.Digest)) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != json.Delim('{') {
		return errNotObject
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, ok := tok.(string)
		if !ok {
			return errNotObject
		}
		if !keep(name) {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return err
			}
			continue
		}
		var v *string
		if err := dec.Decode(&v); err != nil {
			return err
		}
		if v != nil {
			each(name, sha256.Sum256([]byte(*v)))
		}
	}
	return nil
}
