package heroku

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/raxx-app/rotabot/sandbox/internal/standin"
)

// Heroku's list paging (Platform API reference, "Ranges"): a list request may
// send `Range: FIELD [START]..[END][; max=N[, order=desc]]`. A list longer than
// the page answers 206 Partial Content with a Next-Range header to send back as
// the next Range; the default page is 200 and the largest 1000. The field must be
// one of the list's Accept-Ranges; a start written `]V` is exclusive (how
// Next-Range continues after the last value sent).
const (
	herokuPageDefault = 200
	herokuPageMax     = 1000
)

// listRange is one parsed Range header.
type listRange struct {
	field      string
	start, end string
	exclusive  bool // the start is `]V`: values after V
	max        int
	desc       bool
}

// rangeError is a Range Heroku refuses: status and its {"id","message"} body.
type rangeError struct {
	status  int
	id, msg string
}

// parseRange reads a Range header for a list whose Accept-Ranges are fields
// (the first is the default order).
func parseRange(h string, fields []string) (listRange, *rangeError) {
	lr := listRange{field: fields[0], max: herokuPageDefault}
	h = strings.TrimSpace(h)
	if h == "" {
		return lr, nil
	}
	bad := &rangeError{http.StatusBadRequest, "bad_request", "Invalid `Range` header. Please use format like `id ..; max=10, order=desc`. "}
	spec, params, _ := strings.Cut(h, ";")
	spec = strings.TrimSpace(spec)
	field, bounds, ok := strings.Cut(spec, " ")
	if !ok {
		// "id.." without a space, or a field alone.
		if i := strings.Index(spec, ".."); i >= 0 {
			field, bounds = spec[:i], spec[i:]
		} else {
			field, bounds = spec, ".."
		}
	}
	field, bounds = strings.TrimSpace(field), strings.TrimSpace(bounds)
	if field == "" || !strings.Contains(bounds, "..") {
		return lr, bad
	}
	if !slices.Contains(fields, field) {
		return lr, &rangeError{http.StatusRequestedRangeNotSatisfiable, "requested_range_not_satisfiable",
			"Requested range order is not allowed, please try `id` or another specified in `Accept-Ranges`."}
	}
	lr.field = field
	lr.start, lr.end, _ = strings.Cut(bounds, "..")
	lr.start, lr.end = strings.TrimSpace(lr.start), strings.TrimSpace(lr.end)
	if strings.HasPrefix(lr.start, "]") {
		lr.exclusive, lr.start = true, lr.start[1:]
	}
	// Parameters are separated by commas; a trailing semicolon is allowed, a
	// second one between parameters is not (Heroku answers 400 to
	// "version ..; max=10; order=desc").
	params = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(params), ";"))
	if strings.Contains(params, ";") {
		return lr, bad
	}
	for _, p := range strings.Split(params, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return lr, bad
		}
		switch strings.TrimSpace(k) {
		case "max":
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 1 {
				return lr, bad
			}
			lr.max = min(n, herokuPageMax)
		case "order":
			switch strings.TrimSpace(v) {
			case "desc":
				lr.desc = true
			case "asc":
				lr.desc = false
			default:
				return lr, bad
			}
		default:
			return lr, bad
		}
	}
	return lr, nil
}

// rangeItem is one element of a list with the values it may be ordered by.
type rangeItem struct {
	keys map[string]string // field → value, as written in Range headers
	num  map[string]bool   // fields compared as numbers
	body any
}

func (it rangeItem) compare(field string, v string) int {
	a := it.keys[field]
	if it.num[field] {
		x, _ := strconv.Atoi(a)
		y, err := strconv.Atoi(v)
		if err != nil {
			return strings.Compare(a, v)
		}
		return cmp.Compare(x, y)
	}
	return strings.Compare(a, v)
}

// page answers a list request: it orders items by the Range's field, keeps the
// ones within its bounds, sends one page, and 206 with Next-Range when more
// remain. Accept-Ranges names the fields the list can be ordered by.
func page(w http.ResponseWriter, r *http.Request, fields []string, items []rangeItem) {
	w.Header().Set("Accept-Ranges", strings.Join(fields, ", "))
	lr, rerr := parseRange(r.Header.Get("Range"), fields)
	if rerr != nil {
		standin.WriteJSON(w, rerr.status, herokuErrorMsg(rerr.id, rerr.msg))
		return
	}
	slices.SortStableFunc(items, func(a, b rangeItem) int {
		c := a.compare(lr.field, b.keys[lr.field])
		if lr.desc {
			return -c
		}
		return c
	})
	// "after" means later in the order asked for.
	var sel []rangeItem
	for _, it := range items {
		if lr.start != "" {
			c := it.compare(lr.field, lr.start)
			if lr.desc {
				c = -c
			}
			if c < 0 || c == 0 && lr.exclusive {
				continue
			}
		}
		if lr.end != "" {
			c := it.compare(lr.field, lr.end)
			if lr.desc {
				c = -c
			}
			if c > 0 {
				continue
			}
		}
		sel = append(sel, it)
	}
	status := http.StatusOK
	if len(sel) > lr.max {
		sel = sel[:lr.max]
		status = http.StatusPartialContent
		last := sel[len(sel)-1].keys[lr.field]
		next := fmt.Sprintf("%s ]%s..%s; max=%d", lr.field, last, lr.end, lr.max)
		if lr.desc {
			next += ", order=desc"
		}
		w.Header().Set("Next-Range", next)
	}
	bodies := make([]any, 0, len(sel))
	for _, it := range sel {
		bodies = append(bodies, it.body)
	}
	if len(sel) > 0 {
		w.Header().Set("Content-Range", fmt.Sprintf("%s %s..%s", lr.field, sel[0].keys[lr.field], sel[len(sel)-1].keys[lr.field]))
	}
	standin.WriteJSON(w, status, bodies)
}
