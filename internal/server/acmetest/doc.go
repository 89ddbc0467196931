// Package acmetest holds the tests of herald's ACME certificates against
// Pebble, Let's Encrypt's ACME test server, run in the test process on
// loopback. It has no code of its own: it keeps Pebble out of every other
// package's test binary, and out of herald's.
package acmetest
