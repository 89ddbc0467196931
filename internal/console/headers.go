package console

import "net/http"

// contentSecurityPolicy lets the page load only its own files and talk only
// to the server it came from. There is no inline script or style anywhere
// in the console, so none is allowed: injected markup could not run. Event
// data is only ever put into the page as text (textContent), never as HTML.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// setSecurityHeaders sets the headers every console response carries.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	// The page holds a key in sessionStorage: keep other origins' windows
	// from keeping a handle on it.
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}
