//go:build race

package service

// raceDetector is true when the tests run with -race, whose shadow memory
// and instrumented allocations make heap figures meaningless.
const raceDetector = true
