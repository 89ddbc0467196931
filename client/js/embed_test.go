package jsclient_test

import (
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing"

	jsclient "github.com/herald-io/herald/client/js"
)

var relImport = regexp.MustCompile(`(?m)^(?:import|export) [^;]*? from '(\./[^']+)'`)

// TestFilesHoldEveryImport: each module the embedded files import is among
// them, so a page served from Files loads without a 404.
func TestFilesHoldEveryImport(t *testing.T) {
	seen := 0
	err := fs.WalkDir(jsclient.Files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		b, err := fs.ReadFile(jsclient.Files, p)
		if err != nil {
			return err
		}
		for _, m := range relImport.FindAllStringSubmatch(string(b), -1) {
			target := path.Join(path.Dir(p), m[1])
			if _, err := fs.Stat(jsclient.Files, target); err != nil {
				t.Errorf("%s imports %s, which is not embedded", p, target)
			}
			seen++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen == 0 {
		t.Fatal("found no imports: the pattern no longer matches the modules")
	}
}
