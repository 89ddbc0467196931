// Package jsclient holds the JavaScript client's modules (index.js,
// index.d.ts, src/) as files a Go server can serve, so that a page herald
// serves (the console) imports the same client applications do.
package jsclient

import "embed"

// Files are the client's modules, at their paths in client/js.
//
//go:embed index.js index.d.ts src/*.js
var Files embed.FS
