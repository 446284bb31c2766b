package heroku

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	heroku "github.com/heroku/heroku-go/v5"

	"github.com/raxx-app/rotabot/rotation"
)

var _ rotation.LogTailer = (*Consumer)(nil)

// logHistoryMax is the most lines logplex sends from before the session.
const logHistoryMax = 1500

// TailLogs opens a log session on app (POST /apps/{app}/log-sessions with
// tail: true) and reads its stream: history lines from before (at most 1500,
// logplex's limit), then each new line as the app writes it, until ctx ends.
//
// The session's logplex_url is a capability: whoever has it reads the app's log.
// It is used for one GET and forgotten: never logged, never put in an error, and
// the request carries no credential (the stream's client is not heroku-go's, so
// HEROKU_API_KEY never reaches logplex's host).
func (c *Consumer) TailLogs(ctx context.Context, app string, history int, opened func(), each func(rotation.LogLine)) error {
	if err := checkApp(app); err != nil {
		return err
	}
	history = min(max(history, 0), logHistoryMax)
	var session string
	err := c.call(ctx, app, "read", rotation.Secret{}, func(ctx context.Context) error {
		ls, err := c.svc.LogSessionCreate(ctx, url.PathEscape(app), heroku.LogSessionCreateOpts{Tail: heroku.Bool(true), Lines: heroku.Int(history)})
		if err == nil {
			session = ls.LogplexURL
		}
		return err
	})
	if err != nil {
		return err
	}
	return c.readLogs(ctx, app, session, opened, each)
}

func (c *Consumer) readLogs(ctx context.Context, app, session string, opened func(), each func(rotation.LogLine)) error {
	u, err := url.Parse(session)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return rotation.Errorf(rotation.EINTERNAL, "Heroku gave a log session rotabot cannot open for app %s", app)
	}
	// Only this request knows the URL; an error built from it is kept out.
	withheld := func(err error) error {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if err == nil {
			return nil
		}
		if s := err.Error(); strings.Contains(s, u.Path) || strings.Contains(s, u.RawQuery) && u.RawQuery != "" {
			return fmt.Errorf("heroku: log stream: %T", err)
		}
		return fmt.Errorf("heroku: log stream: %w", err)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(sctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return rotation.Errorf(rotation.EINTERNAL, "Heroku gave a log session rotabot cannot open for app %s", app)
	}
	req.Header.Set("User-Agent", "rotabot "+heroku.DefaultUserAgent)
	// Bound the wait for the stream to start; once it has, ctx alone ends it.
	started := time.AfterFunc(c.timeout, cancel)
	resp, err := c.logs.Do(req)
	if !started.Stop() && err == nil {
		resp.Body.Close()
		err = context.DeadlineExceeded
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return rotation.Wrap(rotation.EUNAVAILABLE, withheld(err), "Could not open the log stream of app %s", app)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		why := ""
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusForbidden {
			why = ": the log session expired"
		}
		return rotation.Wrap(rotation.EUNAVAILABLE, fmt.Errorf("heroku: log stream answered %d", resp.StatusCode),
			"The log stream of app %s answered %d%s", app, resp.StatusCode, why)
	}
	if opened != nil {
		opened()
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	events := mt == "text/event-stream"
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 4*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if events {
			// EventSource framing: each log line is the data of an event;
			// id:, event:, comments and blank lines carry none.
			data, ok := strings.CutPrefix(line, "data:")
			if !ok {
				continue
			}
			line = strings.TrimPrefix(data, " ")
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		each(ParseLogLine(line))
	}
	if ctx.Err() != nil {
		return nil
	}
	cause := errors.New("heroku: log stream ended")
	if err := sc.Err(); err != nil {
		cause = withheld(err)
	}
	return rotation.Wrap(rotation.EUNAVAILABLE, cause, "The log stream of app %s ended", app)
}

// ParseLogLine reads a line as Heroku prints it:
// "2026-11-29T19:05:17.123456+00:00 app[web.1]: text". A line in another form is
// kept whole as the text, without a time.
func ParseLogLine(s string) rotation.LogLine {
	ts, rest, ok := strings.Cut(s, " ")
	if !ok {
		return rotation.LogLine{Text: s}
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return rotation.LogLine{Text: s}
	}
	source, text, ok := strings.Cut(rest, ": ")
	if !ok || strings.ContainsAny(source, " ") {
		return rotation.LogLine{Time: t, Text: rest}
	}
	return rotation.LogLine{Time: t, Source: source, Text: text}
}
