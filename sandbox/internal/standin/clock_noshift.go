//go:build !clockshift

package standin

// clockShift is zero in every ordinary build: a released binary's clock is the
// machine's.
const clockShift = 0
