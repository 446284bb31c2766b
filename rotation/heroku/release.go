package heroku

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	heroku "github.com/heroku/heroku-go/v5"

	"github.com/raxx-app/rotabot/rotation"
)

var _ rotation.Releaser = (*Consumer)(nil)

// maxPages bounds how many pages a list may take (1000 items each).
const maxPages = 1000

// LatestRelease returns app's newest release, asked the way the Heroku CLI's
// ps:wait does: Range: version ..; max=1, order=desc.
func (c *Consumer) LatestRelease(ctx context.Context, app string) (rotation.Release, error) {
	if err := checkApp(app); err != nil {
		return rotation.Release{}, err
	}
	var rs heroku.ReleaseListResult
	err := c.call(ctx, app, "read", rotation.Secret{}, func(ctx context.Context) error {
		var err error
		rs, err = c.svc.ReleaseList(ctx, url.PathEscape(app), &heroku.ListRange{Field: "version", Max: 1, Descending: true})
		return err
	})
	if err != nil || len(rs) == 0 {
		return rotation.Release{}, err
	}
	return release(rs[0]), nil
}

// Release returns version of app's releases.
func (c *Consumer) Release(ctx context.Context, app string, version int) (rotation.Release, error) {
	if err := checkApp(app); err != nil {
		return rotation.Release{}, err
	}
	var r *heroku.Release
	err := c.call(ctx, app, "read", rotation.Secret{}, func(ctx context.Context) error {
		var err error
		r, err = c.svc.ReleaseInfo(ctx, url.PathEscape(app), strconv.Itoa(version))
		return err
	})
	if err != nil {
		return rotation.Release{}, err
	}
	return release(*r), nil
}

func release(r heroku.Release) rotation.Release {
	return rotation.Release{Version: r.Version, Status: r.Status, Created: r.CreatedAt}
}

// Dynos lists the dynos that serve app: the formation's, not the release phase's
// or one-off ones (run, scheduler), which do not restart onto a release. An app
// scaled to zero has none.
func (c *Consumer) Dynos(ctx context.Context, app string) ([]rotation.Dyno, error) {
	if err := checkApp(app); err != nil {
		return nil, err
	}
	all, err := pages(ctx, c, app, &heroku.ListRange{Field: "name", Max: 1000},
		func(ctx context.Context, lr *heroku.ListRange) ([]heroku.Dyno, error) {
			return c.svc.DynoList(ctx, url.PathEscape(app), lr)
		})
	if err != nil {
		return nil, err
	}
	var out []rotation.Dyno
	for _, d := range all {
		switch d.Type {
		case "release", "run", "scheduler":
			continue
		}
		out = append(out, rotation.Dyno{Name: d.Name, State: d.State, Release: d.Release.Version})
	}
	return out, nil
}

// ActivityURL is app's activity page on the dashboard, where its releases and
// their output are.
func (c *Consumer) ActivityURL(app string) string {
	return "https://dashboard.heroku.com/apps/" + url.PathEscape(app) + "/activity"
}

// pages reads a whole list, page by page: while Heroku answers 206 Partial
// Content it sends the Next-Range header back as the next Range.
func pages[T any](ctx context.Context, c *Consumer, app string, first *heroku.ListRange, get func(context.Context, *heroku.ListRange) ([]T, error)) ([]T, error) {
	var all []T
	lr := first
	for i := 0; lr != nil; i++ {
		if i >= maxPages {
			return nil, rotation.Errorf(rotation.EINTERNAL, "Heroku kept sending more pages%s: stopped after %d", forApp(app), maxPages)
		}
		var page []T
		next := ""
		err := c.call(ctx, app, "read", rotation.Secret{}, func(ctx context.Context) error {
			var err error
			page, err = get(ctx, lr)
			if a, ok := ctx.Value(answerKey{}).(*answer); ok {
				next = a.nextRange
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		lr = nil
		if next != "" {
			if lr = parseNextRange(next); lr == nil {
				return nil, rotation.Wrap(rotation.EINTERNAL, fmt.Errorf("heroku: unreadable Next-Range %q", next),
					"Heroku sent a page range rotabot cannot read%s", forApp(app))
			}
		}
	}
	return all, nil
}

// parseNextRange turns a Next-Range header (`name ]web.9..; max=1000`) into the
// ListRange heroku-go writes back as the same Range.
func parseNextRange(s string) *heroku.ListRange {
	spec, params, _ := strings.Cut(s, ";")
	field, bounds, ok := strings.Cut(strings.TrimSpace(spec), " ")
	if !ok || field == "" {
		return nil
	}
	firstID, lastID, ok := strings.Cut(strings.TrimSpace(bounds), "..")
	if !ok {
		return nil
	}
	lr := &heroku.ListRange{Field: field, FirstID: firstID, LastID: lastID}
	for _, p := range strings.Split(strings.TrimSuffix(strings.TrimSpace(params), ";"), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.TrimSpace(k) {
		case "max":
			lr.Max, _ = strconv.Atoi(strings.TrimSpace(v))
		case "order":
			lr.Descending = strings.TrimSpace(v) == "desc"
		}
	}
	return lr
}

func forApp(app string) string {
	if app == "" {
		return ""
	}
	return " for app " + app
}
