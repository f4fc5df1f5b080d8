// Command deploycheck checks KeyBox's deployment files where no container
// engine runs: the Dockerfile with BuildKit's own parser and the lint rules
// `docker build --check` applies while parsing, compose.yaml with the loader
// docker compose itself uses (schema, interpolation, anchors), and the
// promises the files make to each other (the proxy address the replicas
// trust, the upstreams Caddy balances, the release targets).
//
//	go run . ../..      (from .ci/deploycheck; the argument is the repository)
//
// It is a module of its own so that its dependencies stay out of KeyBox's.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"go.yaml.in/yaml/v3"
)

func main() {
	root := "."
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	failed := false
	for _, c := range []struct {
		name string
		fn   func(root string) error
	}{
		{"Dockerfile", checkDockerfile},
		{"deploy/compose", checkCompose},
		{".goreleaser.yaml", checkRelease},
	} {
		if err := c.fn(root); err != nil {
			failed = true
			for _, line := range strings.Split(err.Error(), "\n") {
				fmt.Fprintf(os.Stderr, "deploycheck: %s: %s\n", c.name, line)
			}
			continue
		}
		fmt.Printf("deploycheck: %s: ok\n", c.name)
	}
	if failed {
		os.Exit(1)
	}
}

// checkDockerfile parses the Dockerfile as BuildKit does, with every lint
// rule of the parsing stage turned into an error, and checks what the image
// promises: a static build, an unprivileged user, /data, a health check.
func checkDockerfile(root string) error {
	src, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		return err
	}
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return err
	}
	var problems []error
	for _, w := range res.Warnings {
		problems = append(problems, fmt.Errorf("line %d: %s", w.Location.Start.Line, w.Short))
	}
	lint := linter.New(&linter.Config{Warn: func(rule, _, _, msg string, loc []parser.Range) {
		line := 0
		if len(loc) > 0 {
			line = loc[0].Start.Line
		}
		problems = append(problems, fmt.Errorf("line %d: %s: %s", line, rule, msg))
	}})
	stages, _, err := instructions.Parse(res.AST, lint)
	if err != nil {
		return err
	}
	if len(stages) < 2 {
		return fmt.Errorf("got %d stages, want a build stage and a runtime stage", len(stages))
	}
	var built bool
	for _, cmd := range stages[0].Commands {
		if run, ok := cmd.(*instructions.RunCommand); ok {
			line := strings.Join(run.CmdLine, " ")
			built = built || strings.Contains(line, "CGO_ENABLED=0 go build") && strings.Contains(line, "-trimpath")
		}
	}
	if !built {
		problems = append(problems, errors.New("the build stage does not run CGO_ENABLED=0 go build -trimpath"))
	}
	final := stages[len(stages)-1]
	var user, entrypoint string
	var health *instructions.HealthCheckCommand
	var volumes []string
	env := map[string]string{}
	for _, cmd := range final.Commands {
		switch c := cmd.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.HealthCheckCommand:
			health = c
		case *instructions.VolumeCommand:
			volumes = append(volumes, c.Volumes...)
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				env[kv.Key] = kv.Value
			}
		case *instructions.EntrypointCommand:
			entrypoint = strings.Join(c.CmdLine, " ")
		}
	}
	if u, _, _ := strings.Cut(user, ":"); u == "" || u == "root" || u == "0" {
		problems = append(problems, fmt.Errorf("the image runs as %q; want an unprivileged user", user))
	}
	if !slices.Contains(volumes, "/data") {
		problems = append(problems, fmt.Errorf("volumes %v; want /data", volumes))
	}
	if got := env["KEYBOX_DATABASE_URL"]; !strings.HasPrefix(got, "sqlite:///data/") {
		problems = append(problems, fmt.Errorf("KEYBOX_DATABASE_URL %q; want the SQLite database in /data", got))
	}
	if health == nil || health.Health == nil || !slices.Equal(health.Health.Test, []string{"CMD", "/usr/local/bin/keybox", "healthcheck"}) {
		problems = append(problems, errors.New(`no HEALTHCHECK CMD ["/usr/local/bin/keybox", "healthcheck"]`))
	}
	if entrypoint != "/usr/local/bin/keybox" {
		problems = append(problems, fmt.Errorf("entrypoint %q; want /usr/local/bin/keybox", entrypoint))
	}
	return errors.Join(problems...)
}

// checkCompose loads compose.yaml as docker compose would, with the .env
// a user writes from env.example, and checks the topology: PostgreSQL on an
// internal network, two replicas with the same secrets trusting only
// Caddy's address, and Caddy balancing over both.
func checkCompose(root string) error {
	dir := filepath.Join(root, "deploy", "compose")
	file := filepath.Join(dir, "compose.yaml")
	secrets := map[string]string{
		"POSTGRES_PASSWORD": "0123456789abcdef0123456789abcdef",
		"KEYBOX_JWT_SECRET": "jwt-secret-jwt-secret-jwt-secret-jwt",
		"KEYBOX_SECRET_KEY": "key-secret-key-secret-key-secret-key",
	}
	example, err := os.ReadFile(filepath.Join(dir, "env.example"))
	if err != nil {
		return err
	}
	for name := range secrets {
		if !bytes.Contains(example, []byte("\n"+name+"=")) {
			return fmt.Errorf("env.example does not name %s", name)
		}
	}
	// Each secret left out must stop compose with a message naming it.
	for name := range secrets {
		env := map[string]string{}
		for k, v := range secrets {
			if k != name {
				env[k] = v
			}
		}
		if _, err := load(file, dir, env); err == nil || !strings.Contains(err.Error(), name) {
			return fmt.Errorf("without %s: got %v, want an error naming it", name, err)
		}
	}
	p, err := load(file, dir, secrets)
	if err != nil {
		return err
	}
	svc := map[string]types.ServiceConfig{}
	for _, name := range []string{"postgres", "keybox1", "keybox2", "caddy"} {
		s, err := p.GetService(name)
		if err != nil {
			return fmt.Errorf("service %s: %w", name, err)
		}
		svc[name] = s
	}
	var problems []error
	edge, ok := svc["caddy"].Networks["edge"]
	if !ok || edge == nil || edge.Ipv4Address == "" {
		return errors.New("caddy has no fixed address on the edge network")
	}
	caddyAddr, err := netip.ParseAddr(edge.Ipv4Address)
	if err != nil {
		return fmt.Errorf("caddy's address: %w", err)
	}
	inSubnet := false
	for _, c := range p.Networks["edge"].Ipam.Config {
		if pfx, err := netip.ParsePrefix(c.Subnet); err == nil && pfx.Contains(caddyAddr) {
			inSubnet = true
		}
	}
	if !inSubnet {
		problems = append(problems, fmt.Errorf("caddy's address %s is outside the edge network's subnet", caddyAddr))
	}
	if !p.Networks["db"].Internal {
		problems = append(problems, errors.New("the db network is not internal"))
	}
	if _, onEdge := svc["postgres"].Networks["edge"]; onEdge || len(svc["postgres"].Ports) > 0 {
		problems = append(problems, errors.New("PostgreSQL is reachable from outside its network"))
	}
	for _, name := range []string{"keybox1", "keybox2"} {
		s := svc[name]
		env := func(k string) string {
			if v := s.Environment[k]; v != nil {
				return *v
			}
			return ""
		}
		if got := env("KEYBOX_METRICS_ADDR"); got != ":5001" {
			problems = append(problems, fmt.Errorf("%s serves its metrics at %q; docs/operations.md scrapes :5001", name, got))
		}
		if got := env("KEYBOX_TRUSTED_PROXIES"); got != caddyAddr.String() {
			problems = append(problems, fmt.Errorf("%s trusts %q; want Caddy's address %s alone", name, got, caddyAddr))
		}
		for k, want := range secrets {
			if k != "POSTGRES_PASSWORD" && env(k) != want {
				problems = append(problems, fmt.Errorf("%s: %s is not the one from .env", name, k))
			}
		}
		if u := env("KEYBOX_DATABASE_URL"); !strings.HasPrefix(u, "postgres://") || !strings.Contains(u, "@postgres:5432/") {
			problems = append(problems, fmt.Errorf("%s: KEYBOX_DATABASE_URL does not name the postgres service", name))
		}
		if len(s.Ports) > 0 {
			problems = append(problems, fmt.Errorf("%s publishes ports; only Caddy should", name))
		}
		if s.Build == nil || filepath.Clean(s.Build.Context) != mustAbs(root) {
			problems = append(problems, fmt.Errorf("%s is not built from the repository (context %v)", name, s.Build))
		}
	}
	caddyfile, err := os.ReadFile(filepath.Join(dir, "Caddyfile"))
	if err != nil {
		return err
	}
	for _, up := range []string{"keybox1:5000", "keybox2:5000", "health_uri /readyz", "respond /metrics 404"} {
		if !bytes.Contains(caddyfile, []byte(up)) {
			problems = append(problems, fmt.Errorf("the Caddyfile lacks %q", up))
		}
	}
	return errors.Join(problems...)
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// load reads a compose file with the given variables as its only environment.
func load(file, dir string, env map[string]string) (*types.Project, error) {
	var kv []string
	for k, v := range env {
		kv = append(kv, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{file},
		cli.WithWorkingDirectory(dir),
		cli.WithEnv(kv),
		cli.WithInterpolation(true),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(context.Background())
}

// checkRelease checks the release matrix and the version stamp; `goreleaser
// check` checks the rest where it can be built.
func checkRelease(root string) error {
	src, err := os.ReadFile(filepath.Join(root, ".goreleaser.yaml"))
	if err != nil {
		return err
	}
	var cfg struct {
		Version int
		Builds  []struct {
			Main    string
			Env     []string
			Goos    []string
			Goarch  []string
			Ldflags []string
		}
		Archives []struct {
			Formats         []string
			FormatOverrides []struct {
				Goos    string
				Formats []string
			} `yaml:"format_overrides"`
		}
		Checksum struct {
			NameTemplate string `yaml:"name_template"`
		}
	}
	if err := yaml.Unmarshal(src, &cfg); err != nil {
		return err
	}
	var problems []error
	if cfg.Version != 2 || len(cfg.Builds) != 1 || len(cfg.Archives) != 1 {
		return fmt.Errorf("want version 2, one build and one archive; got %d, %d, %d", cfg.Version, len(cfg.Builds), len(cfg.Archives))
	}
	b := cfg.Builds[0]
	if b.Main != "./cmd/keybox" || !slices.Contains(b.Env, "CGO_ENABLED=0") {
		problems = append(problems, fmt.Errorf("build %q with env %v; want ./cmd/keybox with CGO_ENABLED=0", b.Main, b.Env))
	}
	slices.Sort(b.Goos)
	slices.Sort(b.Goarch)
	if !slices.Equal(b.Goos, []string{"darwin", "linux", "windows"}) || !slices.Equal(b.Goarch, []string{"amd64", "arm64"}) {
		problems = append(problems, fmt.Errorf("targets %v × %v; want linux, darwin, windows × amd64, arm64", b.Goos, b.Goarch))
	}
	flags := strings.Join(b.Ldflags, " ")
	for _, v := range []string{"internal/buildinfo.version=", "internal/buildinfo.revision="} {
		if !strings.Contains(flags, "github.com/keyboxhq/keybox/"+v) {
			problems = append(problems, fmt.Errorf("ldflags do not stamp %s", v))
		}
	}
	if a := cfg.Archives[0]; len(a.FormatOverrides) != 1 || a.FormatOverrides[0].Goos != "windows" || !slices.Equal(a.FormatOverrides[0].Formats, []string{"zip"}) {
		problems = append(problems, errors.New("windows archives are not zip"))
	}
	if cfg.Checksum.NameTemplate == "" {
		problems = append(problems, errors.New("no checksum file"))
	}
	return errors.Join(problems...)
}
