package rotation

import (
	"context"
	"regexp"
	"time"
)

// A config change on a platform like Heroku makes a release and restarts the app
// onto it: until the restart is done the app still runs with the old value, so a
// check that passes proves nothing about the new one. These are the ports the
// engine uses to wait for that restart and then watch the app's logs.

// Release statuses, as Heroku words them.
const (
	ReleasePending   = "pending"
	ReleaseSucceeded = "succeeded"
	ReleaseFailed    = "failed"
)

// Release is one release of an app.
type Release struct {
	Version int
	Status  string // ReleasePending, ReleaseSucceeded or ReleaseFailed
	Created time.Time
}

// Dyno states, as Heroku words them (also "down" and "idle").
const (
	DynoUp       = "up"
	DynoStarting = "starting"
	DynoCrashed  = "crashed"
)

// Dyno is one process of an app that serves it (not a release-phase or one-off
// process).
type Dyno struct {
	Name    string
	State   string
	Release int // the version it runs
}

// Releaser is a destination kind whose writes make a release that restarts the
// target (a Heroku app).
type Releaser interface {
	// LatestRelease returns target's newest release (Version 0 when it has none).
	LatestRelease(ctx context.Context, target string) (Release, error)
	// Release returns target's release version.
	Release(ctx context.Context, target string, version int) (Release, error)
	// Dynos lists the dynos that serve target; none when it is scaled to zero.
	Dynos(ctx context.Context, target string) ([]Dyno, error)
	// ActivityURL is the page where people see target's releases.
	ActivityURL(target string) string
}

// RestartWaiter follows the release and restart a write made (rotation/release)
// until the target runs the new value; verify waits for it before any check.
type RestartWaiter interface {
	// AwaitRestart waits for destination i of run r: nil once it is up (or
	// when the process stops: the next one waits on), the error for the step
	// when its release fails or the wait runs out. It reports each change
	// through the engine's RestartSeen.
	AwaitRestart(ctx context.Context, r *Run, i int) error
}

// LogLine is one line of an app's log.
type LogLine struct {
	Time time.Time
	// Source is the process that wrote it: app[web.1], heroku[router], app[api].
	Source string
	Text   string
}

// String is the line as Heroku prints it:
// "2026-11-29T19:05:17.123456+00:00 app[web.1]: text".
func (l LogLine) String() string {
	if l.Time.IsZero() {
		return l.Text
	}
	if l.Source == "" {
		return l.Time.UTC().Format("2006-01-02T15:04:05.000000-07:00") + " " + l.Text
	}
	return l.Time.UTC().Format("2006-01-02T15:04:05.000000-07:00") + " " + l.Source + ": " + l.Text
}

// AppOutput reports whether the line was written by the app's own code (app[web.1],
// app[worker.2]) rather than the platform (heroku[…], app[api]).
func (l LogLine) AppOutput() bool {
	return len(l.Source) > 4 && l.Source[:4] == "app[" && l.Source != "app[api]"
}

// LogTailer reads a target's log as it is written.
type LogTailer interface {
	// TailLogs opens target's log stream, calls opened once it is open, then
	// each with the recent lines (at most history) and every new one, until ctx
	// ends (it returns nil) or the stream ends or cannot be opened (an error).
	// The callbacks run on the caller's goroutine.
	TailLogs(ctx context.Context, target string, history int, opened func(), each func(LogLine)) error
}

// LogWatcher reads the logs of restarted targets for the log watch
// (rotation/logwatch) and reports what it sees through the engine's Watch…
// methods, which decide what it means for the run.
type LogWatcher interface {
	// Reads reports whether it can read the log of a destination of kind k.
	Reads(k DestKind) bool
	// Watch watches run id's logs until every window has passed, the run moves
	// on, the engine drains or ctx ends; it returns at once when it watches the
	// run already (or another process does). The engine calls it on a goroutine
	// of its own.
	Watch(ctx context.Context, id string)
	// Wake tells run id's watch, if it runs here, that the run moved.
	Wake(id string)
}

// LineMasker takes credentials out of a log line before anyone sees it
// (rotation/mask): every part of the known values — the run's own old and new
// token — wherever it stands, and whatever is credential-shaped. ok is false
// when a known value could still be in the result: the line is then not shown.
type LineMasker interface {
	MaskLine(line string, known ...Secret) (masked string, ok bool)
}

// Default bounds of the waits and the log watch (the routing matrix may set others).
const (
	DefaultReleaseTimeout = 5 * time.Minute
	DefaultRestartTimeout = 5 * time.Minute
	DefaultLogWindow      = 60 * time.Second
)

// DefaultLogPatterns are what a GitHub authentication failure looks like in an
// app's log: GitHub's 401 messages, and a 401 on a line that names GitHub.
var DefaultLogPatterns = []string{
	`Bad credentials`,
	`Requires authentication`,
	`(?i)github.*\b401\b`,
	`(?i)\b401\b.*github`,
}

// LogWatch says how long to watch an app's log after a restart and for what.
type LogWatch struct {
	// Window is how long to read the log once the app runs the new release; 0
	// turns the watch off.
	Window   time.Duration
	Patterns []*regexp.Regexp
}
