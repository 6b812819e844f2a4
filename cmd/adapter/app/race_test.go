//go:build race

package app

// race tells tests that the binary was built with -race.
const race = true
