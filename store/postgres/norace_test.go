//go:build !race

package postgres

// raceEnabled: the tests run without -race.
const raceEnabled = false
