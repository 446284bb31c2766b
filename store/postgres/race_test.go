//go:build race

package postgres

// raceEnabled: the tests run with -race, and so does the go test they start.
const raceEnabled = true
