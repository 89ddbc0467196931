package buildinfo

import (
	"runtime/debug"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestFrom(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		want Info
		str  string
	}{
		{name: "a release", bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"},
			Settings: vcs("vcs.revision", "0123456789abcdef0123456789abcdef01234567", "vcs.time", "2026-01-02T03:04:05Z", "vcs.modified", "false")},
			want: Info{Version: "v1.2.3", Revision: "0123456789abcdef0123456789abcdef01234567", Time: "2026-01-02T03:04:05Z", Go: "go1.26.8"},
			str:  "v1.2.3 (0123456789ab, 2026-01-02T03:04:05Z, go1.26.8)"},
		{name: "a work tree with changes", bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20260102030405-0123456789ab+dirty"},
			Settings: vcs("vcs.revision", "0123456789abcdef0123456789abcdef01234567", "vcs.time", "2026-01-02T03:04:05Z", "vcs.modified", "true")},
			want: Info{Version: "v0.0.0-20260102030405-0123456789ab+dirty", Revision: "0123456789abcdef0123456789abcdef01234567", Dirty: true,
				Time: "2026-01-02T03:04:05Z", Go: "go1.26.8"},
			str: "v0.0.0-20260102030405-0123456789ab+dirty (0123456789ab+dirty, 2026-01-02T03:04:05Z, go1.26.8)"},
		{name: "no VCS information", bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			want: Info{Version: "dev", Go: "go1.26.8"}, str: "dev (go1.26.8)"},
		{name: "no build information", want: Info{Version: "dev", Go: "unknown"}, str: "dev (unknown)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := From(tt.bi)
			if got != tt.want {
				t.Errorf("From = %+v, want %+v", got, tt.want)
			}
			if s := got.String(); s != tt.str {
				t.Errorf("String = %q, want %q", s, tt.str)
			}
		})
	}
}

func TestRev(t *testing.T) {
	for _, tt := range []struct {
		i    Info
		want string
	}{
		{Info{}, "unknown"},
		{Info{Revision: "abc"}, "abc"},
		{Info{Revision: "abc", Dirty: true}, "abc+dirty"},
	} {
		if got := tt.i.Rev(); got != tt.want {
			t.Errorf("%+v.Rev() = %q, want %q", tt.i, got, tt.want)
		}
	}
}
