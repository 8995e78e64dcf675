//go:build race

package app

// raceDetector is true when the tests run with -race, whose shadow memory
// makes resident-memory figures meaningless.
const raceDetector = true
