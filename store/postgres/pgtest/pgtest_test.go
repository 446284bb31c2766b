package pgtest

import "testing"

func TestAppending(t *testing.T) {
	for info, want := range map[string]bool{
		"pos:\t0\nflags:\t02102001\nmnt_id:\t28\n": true,  // O_APPEND|O_WRONLY|O_LARGEFILE|O_CLOEXEC
		"pos:\t42\nflags:\t0100001\nmnt_id:\t28\n": false, // O_WRONLY|O_LARGEFILE: `> file`
		"pos:\t0\n": false,
	} {
		if got := appending(info); got != want {
			t.Errorf("appending(%q) = %v, want %v", info, got, want)
		}
	}
}
