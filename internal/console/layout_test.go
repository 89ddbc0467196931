//go:build unix

package console_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// setViewport makes the page width×height CSS pixels, as a phone (mobile,
// touch) at narrow widths.
func (b *browser) setViewport(width, height int) {
	b.t.Helper()
	b.call(b.session, "Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600,
	}, nil)
}

// setDark switches prefers-color-scheme.
func (b *browser) setDark(dark bool) {
	b.t.Helper()
	scheme := "light"
	if dark {
		scheme = "dark"
	}
	b.call(b.session, "Emulation.setEmulatedMedia", map[string]any{
		"features": []map[string]string{{"name": "prefers-color-scheme", "value": scheme}},
	}, nil)
}

// pressKey sends a key press to the focused element, as a keyboard would.
func (b *browser) pressKey(key, code string, keyCode int) {
	b.t.Helper()
	for _, typ := range []string{"keyDown", "keyUp"} {
		params := map[string]any{"type": typ, "key": key, "code": code, "windowsVirtualKeyCode": keyCode}
		if typ == "keyDown" && key == "Enter" {
			params["text"] = "\r"
		}
		b.call(b.session, "Input.dispatchKeyEvent", params, nil)
	}
}

// outsideViewport lists the visible elements whose box reaches past the
// page's width: each must fit within window.innerWidth, or be inside a
// box that scrolls or clips horizontally and itself fits (a wide table in
// its scrolling wrapper). It also fails if the page scrolls sideways.
const outsideViewport = `(() => {
	const W = window.innerWidth, bad = [];
	const fits = (r) => r.left >= -0.5 && r.right <= W + 0.5;
	const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
		(el.classList.length ? '.' + [...el.classList].join('.') : '');
	for (const el of document.querySelectorAll('body *')) {
		if (!el.checkVisibility({ visibilityProperty: true, opacityProperty: true })) continue;
		const r = el.getBoundingClientRect();
		if ((r.width === 0 && r.height === 0) || fits(r)) continue;
		let clipped = false;
		for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
			const ox = getComputedStyle(p).overflowX;
			if (ox !== 'visible' && fits(p.getBoundingClientRect())) { clipped = true; break; }
		}
		if (!clipped) bad.push(name(el) + ' ' + Math.round(r.left) + '…' + Math.round(r.right) + ' "' + (el.textContent || '').trim().slice(0, 30) + '"');
	}
	if (document.documentElement.scrollWidth > W) bad.unshift('the page scrolls sideways: ' + document.documentElement.scrollWidth + ' > ' + W);
	return bad.slice(0, 15);
})()`

// layoutDir is where checkLayout saves its screenshots:
// HERALD_CONSOLE_SCREENSHOTS, or a directory removed after the test.
func layoutDir(t *testing.T) string {
	if dir := os.Getenv("HERALD_CONSOLE_SCREENSHOTS"); dir != "" {
		return dir
	}
	return t.TempDir()
}

// checkLayout fails the test for anything outside the viewport and saves a
// screenshot named name in dir.
func (b *browser) checkLayout(dir, name string) {
	b.t.Helper()
	var bad []string
	if err := b.eval(outsideViewport, &bad); err != nil {
		b.t.Fatalf("%s: layout check: %v", name, err)
	}
	if len(bad) > 0 {
		b.t.Errorf("%s: outside the viewport:\n  %s", name, strings.Join(bad, "\n  "))
	}
	b.screenshot(filepath.Join(dir, name+".png"))
}

// The layout check itself: a box wider than the page is caught, one in a
// scrolling wrapper is not.
func TestOutsideViewportCheck(t *testing.T) {
	b := startBrowser(t)
	b.navigate("about:blank")
	b.run(`document.body.innerHTML = '<div id=wide style="width:5000px">wide</div>' +
		'<div style="overflow-x:auto;width:100px"><div id=inner style="width:5000px">in a scroller</div></div>'`)
	var bad []string
	if err := b.eval(outsideViewport, &bad); err != nil {
		t.Fatal(err)
	}
	if len(bad) != 2 || !strings.Contains(bad[0], "scrolls sideways") || !strings.Contains(bad[1], "div#wide") {
		t.Fatalf("outside the viewport: %q, want the page's sideways scroll and div#wide only", bad)
	}
}
