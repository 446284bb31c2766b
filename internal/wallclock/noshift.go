//go:build !clockshift

package wallclock

// shift is zero in every ordinary build: a released binary's clock is the
// machine's.
const shift = 0
