//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package main

import "os"

// terminalColumns is 0 where rotabot cannot ask the terminal: COLUMNS or
// DefaultWidth decide.
func terminalColumns(*os.File) int { return 0 }
