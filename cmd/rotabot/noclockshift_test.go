//go:build !clockshift

package main

// clockShiftBuild: the tests run on the machine's clock.
const clockShiftBuild = false
