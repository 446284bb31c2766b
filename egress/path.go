package egress

import (
	"net/url"
	"strings"
)

// PathError says, for people, why a path cannot be resolved under a base URL.
type PathError struct {
	Problem string
}

func (e *PathError) Error() string { return e.Problem }

// CheckPath checks that ref is a plain path with an optional query, such as
// /repos/OWNER/REPO/actions/runs?per_page=1, that no client or server could take
// for a URL of its own or climb out of a base path with: it starts with exactly one
// "/", holds no backslash, whitespace, control character or fragment, no scheme in
// its first segment, no encoded "/" or "\", and no "." or ".." segment, written
// plainly or %-encoded.
func CheckPath(ref string) error {
	bad := func(problem string) error { return &PathError{Problem: problem} }
	switch {
	case ref == "":
		return bad("it is empty")
	case !strings.HasPrefix(ref, "/"):
		return bad("it does not start with /")
	case strings.HasPrefix(ref, "//"):
		return bad("it starts with //, which names another host")
	case strings.Contains(ref, "\\"):
		return bad(`it holds a backslash (\), which some clients read as /`)
	case strings.ContainsRune(ref, '#'):
		return bad("it holds a fragment (#…)")
	}
	for _, r := range ref {
		if r <= ' ' || r == 0x7f {
			return bad("it holds spaces or control characters")
		}
	}
	rawPath, _, _ := strings.Cut(ref, "?")
	first, _, _ := strings.Cut(rawPath[1:], "/")
	if strings.Contains(first, ":") {
		return bad("it starts like a URL (" + strings.SplitN(first, ":", 2)[0] + ":…), not a path")
	}
	decoded, err := url.PathUnescape(rawPath)
	if err != nil {
		return bad("it holds a malformed %-escape")
	}
	if strings.Contains(decoded, "\\") || strings.Contains(decoded, "//") {
		return bad(`it holds an encoded / or \ (%2F, %5C)`)
	}
	for _, seg := range strings.Split(decoded, "/") {
		if seg == "." || seg == ".." {
			return bad("it holds a . or .. segment, which climbs out of the API's path")
		}
		for _, r := range seg {
			if r < ' ' || r == 0x7f {
				return bad("it holds an encoded control character")
			}
		}
	}
	first, _, _ = strings.Cut(decoded[1:], "/")
	if strings.Contains(first, ":") {
		return bad("it starts like a URL, not a path")
	}
	return nil
}

// Under resolves ref, a path that passes CheckPath, under base: the result keeps
// base's scheme, host and port and lies under base's path (an Enterprise server's
// /api/v3 stays in front). It never returns a URL off base.
func Under(base *url.URL, ref string) (*url.URL, error) {
	if err := CheckPath(ref); err != nil {
		return nil, err
	}
	p, err := url.Parse(ref)
	if err != nil || p.Scheme != "" || p.Host != "" || p.User != nil || p.Opaque != "" {
		return nil, &PathError{Problem: "it is not a path"}
	}
	out := *base
	out.User = nil
	out.Fragment, out.RawFragment = "", ""
	basePath := strings.TrimSuffix(base.Path, "/")
	baseRaw := strings.TrimSuffix(base.EscapedPath(), "/")
	out.Path = basePath + p.Path
	out.RawPath = baseRaw + p.EscapedPath()
	out.RawQuery = p.RawQuery
	if OriginOf(&out) != OriginOf(base) || !strings.HasPrefix(out.Path, basePath+"/") || strings.Contains(out.Path[len(basePath):], "/../") {
		return nil, &PathError{Problem: "it leaves " + OriginOf(base).String() + basePath}
	}
	return &out, nil
}
