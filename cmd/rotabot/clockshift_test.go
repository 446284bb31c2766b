//go:build clockshift

package main

// clockShiftBuild: the tests run with the clockshift tag (their clock moved by
// ROTABOT_CLOCK_SHIFT), and so does the binary they build.
const clockShiftBuild = true
