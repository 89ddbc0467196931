//go:build !race

package framing

func raceAcquire(int) {}

func raceRelease() {}
