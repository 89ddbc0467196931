// Package deploy holds the files that run herald on a host: a systemd unit
// and a container image definition. Its tests check them with the tools
// that will read them.
package deploy

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// staticHerald builds herald as the Containerfile does (CGO_ENABLED=0) and
// returns its path.
func staticHerald(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "herald")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "../cmd/herald")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// The Containerfile's build makes a binary that needs no dynamic loader,
// so it runs on an empty image.
func TestStaticBinary(t *testing.T) {
	f, err := elf.Open(staticHerald(t))
	if err != nil {
		t.Skipf("not an ELF platform: %v", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the binary asks for a dynamic loader; FROM scratch cannot run it")
		}
	}
}

// The unit passes systemd-analyze verify, with ExecStart pointing at a
// real herald (verify checks that the command exists).
func TestSystemdUnit(t *testing.T) {
	unit, err := os.ReadFile("herald.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DynamicUser=yes", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
		"PrivateTmp=yes", "StateDirectory=herald", "--data /var/lib/herald", "CapabilityBoundingSet=\n",
		"ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure", "LimitNOFILE="} {
		if !bytes.Contains(unit, []byte(want)) {
			t.Errorf("herald.service has no %q", strings.TrimSpace(want))
		}
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (Debian: apt-get install systemd): the unit is not verified")
	}
	bin := staticHerald(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "herald.service")
	unit = bytes.ReplaceAll(unit, []byte("/usr/local/bin/herald"), []byte(bin))
	if err := os.WriteFile(path, unit, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// The Containerfile's image builds with podman or buildah, where one is
// installed. Its build stage needs the golang image from a registry, which
// a machine without network cannot pull, so the image stage — everything
// from FROM scratch on — is built offline from a binary built here and the
// system's CA certificates; the whole file is built as well with
// HERALD_CONTAINER_FULL=1.
func TestContainerfile(t *testing.T) {
	cf, err := os.ReadFile("Containerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CGO_ENABLED=0", "\nFROM scratch\n", "ca-certificates.crt", "\nUSER 65532:65532\n"} {
		if !bytes.Contains(cf, []byte(want)) {
			t.Errorf("Containerfile has no %q", strings.TrimSpace(want))
		}
	}
	var build []string
	if p, err := exec.LookPath("podman"); err == nil {
		build = []string{p, "build"}
	} else if p, err := exec.LookPath("buildah"); err == nil {
		build = []string{p, "bud"}
	} else {
		t.Skip("neither podman nor buildah is installed (Debian: apt-get install podman): the image is not built")
	}
	tag := "localhost/herald-test:" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	t.Cleanup(func() { exec.Command(build[0], "rmi", "-f", tag).Run() })

	// The image stage, its COPY --from=build taken from a context made here.
	ctx := t.TempDir()
	_, stage, ok := bytes.Cut(cf, []byte("\nFROM scratch\n"))
	if !ok {
		t.Fatal("no FROM scratch stage")
	}
	certs, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Skipf("no system CA certificates to put in the image: %v", err)
	}
	bin := staticHerald(t)
	raw, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(ctx, "etc/ssl/certs"), 0o755))
	must(os.MkdirAll(filepath.Join(ctx, "out/data"), 0o755))
	must(os.WriteFile(filepath.Join(ctx, "etc/ssl/certs/ca-certificates.crt"), certs, 0o644))
	must(os.WriteFile(filepath.Join(ctx, "out/herald"), raw, 0o755))
	local := append([]byte("FROM scratch\n"), bytes.ReplaceAll(stage, []byte("COPY --from=build /"), []byte("COPY "))...)
	local = bytes.ReplaceAll(local, []byte("COPY --from=build --chown=65532:65532 /"), []byte("COPY --chown=65532:65532 "))
	if bytes.Contains(local, []byte("--from=")) {
		t.Fatalf("the image stage copies from a stage the test cannot stand in for:\n%s", local)
	}
	must(os.WriteFile(filepath.Join(ctx, "Containerfile"), local, 0o644))
	cmd := exec.Command(build[0], append(build[1:], "-f", filepath.Join(ctx, "Containerfile"), "-t", tag, ctx)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	if strings.HasSuffix(build[0], "podman") {
		out, err := exec.Command(build[0], "image", "inspect", "--format", "{{.Config.User}} {{.Config.Entrypoint}}", tag).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "65532:65532 [/herald]" {
			t.Fatalf("image config: %v %s", err, out)
		}
	}

	if os.Getenv("HERALD_CONTAINER_FULL") == "" {
		t.Log("the build stage (golang image) was not built: set HERALD_CONTAINER_FULL=1 where a registry is reachable")
		return
	}
	cmd = exec.Command(build[0], append(build[1:], "-f", "deploy/Containerfile", "-t", tag, ".")...)
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
}
