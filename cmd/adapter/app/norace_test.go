//go:build !race

package app

const race = false
