package rotation

import (
	"strings"
	"testing"
)

func FuzzTokenShape(f *testing.F) {
	f.Add("ghp_abcdefghijklmnopqrstuvwxyz0123456789")
	f.Add("github_pat_11ABCDEFGHIJKLMNOPQRSTUV_abcdefghijklmnopqrstuvwxyz0123456789")
	f.Add("xoxb-123-456-abc")
	f.Add("")
	f.Fuzz(func(t *testing.T, v string) {
		kind, err := TokenShape(v)
		if err != nil {
			if kind != "" {
				t.Fatalf("refused %q but gave kind %q", v, kind)
			}
			msg := ErrorMessage(err)
			// The refusal never repeats the value (or any 8 characters of it).
			for i := 0; i+8 <= len(v); i++ {
				if strings.Contains(msg, v[i:i+8]) && !strings.Contains("ghp_… or github_pat_…", v[i:i+8]) {
					t.Fatalf("message %q repeats part of %q", msg, v)
				}
			}
			return
		}
		switch {
		case kind == FineGrained && strings.HasPrefix(v, PrefixFineGrained):
		case kind == Classic && strings.HasPrefix(v, PrefixClassic):
		default:
			t.Fatalf("%q accepted as %q", v, kind)
		}
		if strings.ContainsAny(v, " \t\r\n") {
			t.Fatalf("%q with spaces accepted", v)
		}
	})
}
