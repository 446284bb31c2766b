//go:build !clockshift

package sandbox

// clockShift is zero in every ordinary build: a released binary's clock is the
// machine's.
const clockShift = 0
