package main

import (
	"encoding/json"
	"io"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// No Docker engine runs here: the Dockerfile and docker-compose.yml at the
// top of the repository are parsed and checked against the binary they
// package (its flags, defaults and health command), not built
// (docs/operations.md, "Containers").

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
}

func readDockerfile(t *testing.T) []instruction {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatalf("the Dockerfile at the top of the repository: %v", err)
	}
	var out []instruction
	var cur strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		cont := strings.HasSuffix(trimmed, "\\")
		cur.WriteString(strings.TrimSuffix(trimmed, "\\"))
		cur.WriteString(" ")
		if cont {
			continue
		}
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		out = append(out, instruction{cmd: strings.ToUpper(cmd), args: strings.Join(strings.Fields(args), " ")})
		cur.Reset()
	}
	if cur.Len() > 0 {
		t.Fatalf("the Dockerfile ends in a continuation: %q", cur.String())
	}
	return out
}

// jsonArgs decodes an exec-form argument list (["a", "b"]).
func jsonArgs(t *testing.T, what, s string) []string {
	t.Helper()
	var v []string
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%s must be in exec form (a JSON list: no shell in the image), not %q: %v", what, s, err)
	}
	return v
}

func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	return p
}

// image is what the Dockerfile's final stage says.
type image struct {
	env         map[string]string
	expose      []string
	volumes     []string
	user        string
	entrypoint  []string
	healthcheck []string
}

func TestDockerfile(t *testing.T) {
	ins := readDockerfile(t)
	var stages []string
	for _, in := range ins {
		if in.cmd == "FROM" {
			stages = append(stages, in.args)
		}
	}
	if len(stages) < 2 {
		t.Fatalf("the Dockerfile has %d stage(s), want a build stage and a small final one: %v", len(stages), stages)
	}
	gomod, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	if !regexp.MustCompile(`^golang:` + regexp.QuoteMeta(string(goVersion[1])) + `\b.* (?i:AS) build$`).MatchString(stages[0]) {
		t.Errorf("the first stage %q: want golang:%s… AS build (the Go of go.mod)", stages[0], goVersion[1])
	}
	final := stages[len(stages)-1]
	if !strings.HasPrefix(final, "gcr.io/distroless/static") && !strings.HasPrefix(final, "alpine") {
		t.Errorf("the final stage is %q, want distroless static or alpine", final)
	}
	built := false
	img := image{env: map[string]string{}}
	inFinal := false
	for _, in := range ins {
		switch in.cmd {
		case "FROM":
			inFinal = in.args == final
		case "RUN":
			if strings.Contains(in.args, "go build") {
				built = strings.Contains(in.args, "CGO_ENABLED=0") && strings.Contains(in.args, "./cmd/doorstep")
			}
		}
		if !inFinal {
			continue
		}
		switch in.cmd {
		case "ENV":
			for _, kv := range strings.Fields(in.args) {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("ENV %q: write KEY=VALUE", in.args)
				}
				img.env[k] = v
			}
		case "EXPOSE":
			img.expose = append(img.expose, strings.Fields(in.args)...)
		case "VOLUME":
			img.volumes = append(img.volumes, jsonArgs(t, "VOLUME", in.args)...)
		case "USER":
			img.user = in.args
		case "ENTRYPOINT":
			img.entrypoint = jsonArgs(t, "ENTRYPOINT", in.args)
		case "HEALTHCHECK":
			_, cmd, ok := strings.Cut(in.args, "CMD ")
			if !ok {
				t.Fatalf("HEALTHCHECK %q has no CMD", in.args)
			}
			img.healthcheck = jsonArgs(t, "HEALTHCHECK CMD", cmd)
		}
	}
	if !built {
		t.Error("no RUN go build with CGO_ENABLED=0 of ./cmd/doorstep: the final image has no libc")
	}
	if u, _, _ := strings.Cut(img.user, ":"); u == "" || u == "root" || u == "0" {
		t.Errorf("the final stage's USER is %q: the server must not run as root", img.user)
	}
	if !slices.Equal(img.entrypoint, []string{"/doorstep", "server"}) {
		t.Errorf("ENTRYPOINT %q, want [\"/doorstep\", \"server\"]", img.entrypoint)
	}

	// The image's environment is read by the server's own flags: each name
	// is a flag's twin, and the values parse.
	var srv serverCmd
	srv.stderr = io.Discard
	fs := srv.flagSet()
	for k, v := range img.env {
		name := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(k, "DOORSTEP_"), "_", "-"))
		if fs.Lookup(name) == nil {
			t.Errorf("ENV %s: doorstep server has no flag --%s", k, name)
		}
		t.Setenv(k, v)
	}
	if err := srv.ParseFlags(nil); err != nil {
		t.Fatalf("doorstep server with the image's environment: %v", err)
	}
	if srv.metricsAddr == "" {
		t.Fatal("the image sets no DOORSTEP_METRICS_ADDR: its metrics would be off")
	}
	apiPort, metricsPort := port(t, srv.addr), port(t, srv.metricsAddr)
	var defaults serverCmd
	defaults.stderr = io.Discard
	defaults.flagSet()
	if apiPort != port(t, defaults.addr) {
		t.Errorf("the image listens on %s; the server's default is %s", srv.addr, defaults.addr)
	}
	for _, p := range []string{apiPort, metricsPort} {
		if !slices.Contains(img.expose, p) && !slices.Contains(img.expose, p+"/tcp") {
			t.Errorf("EXPOSE %v lacks port %s", img.expose, p)
		}
	}
	// The data and the secrets each in a volume, not the one inside the
	// other (a copy of the data must not hold the keys).
	inVolume := func(dir string) string {
		for _, v := range img.volumes {
			if dir == v || strings.HasPrefix(dir, strings.TrimSuffix(v, "/")+"/") {
				return v
			}
		}
		return ""
	}
	dataVol, secretsVol := inVolume(srv.data), inVolume(srv.secrets)
	if dataVol == "" || secretsVol == "" || dataVol == secretsVol {
		t.Errorf("data %s in volume %q, secrets %s in volume %q: want each in a volume of its own (VOLUME %v)", srv.data, dataVol, srv.secrets, secretsVol, img.volumes)
	}

	// The health check is the binary's own health command against the
	// API's port and /readyz, with flags it takes.
	if len(img.healthcheck) < 2 || img.healthcheck[0] != "/doorstep" || img.healthcheck[1] != "health" {
		t.Fatalf("HEALTHCHECK CMD %q, want /doorstep health …", img.healthcheck)
	}
	h := healthCmd{stderr: io.Discard}
	if err := h.ParseFlags(img.healthcheck[2:]); err != nil {
		t.Fatalf("HEALTHCHECK: doorstep %v: %v", img.healthcheck[1:], err)
	}
	u, err := url.Parse(h.url)
	if err != nil || u.Path != "/readyz" || u.Port() != apiPort {
		t.Errorf("HEALTHCHECK asks %q, want /readyz on port %s", h.url, apiPort)
	}
	checkCompose(t, img, apiPort, metricsPort)
}

// checkCompose parses docker-compose.yml and checks it against the image.
func checkCompose(t *testing.T, img image, apiPort, metricsPort string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docker-compose.yml"))
	if err != nil {
		t.Fatalf("docker-compose.yml at the top of the repository: %v", err)
	}
	type service struct {
		Build *struct {
			Context    string `yaml:"context"`
			Dockerfile string `yaml:"dockerfile"`
		} `yaml:"build"`
		Image       string            `yaml:"image"`
		Restart     string            `yaml:"restart"`
		Ports       []string          `yaml:"ports"`
		Expose      []string          `yaml:"expose"`
		Environment map[string]string `yaml:"environment"`
		DependsOn   map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
		Volumes     []string `yaml:"volumes"`
		Healthcheck *struct {
			Test        []string `yaml:"test"`
			Interval    string   `yaml:"interval"`
			Timeout     string   `yaml:"timeout"`
			Retries     int      `yaml:"retries"`
			StartPeriod string   `yaml:"start_period"`
		} `yaml:"healthcheck"`
	}
	// KnownFields: a key this test does not know (a misspelt
	// "healtcheck", say) fails, rather than being ignored.
	var compose struct {
		Name     string             `yaml:"name"`
		Services map[string]service `yaml:"services"`
		Volumes  map[string]any     `yaml:"volumes"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&compose); err != nil {
		t.Fatalf("docker-compose.yml does not parse as this test reads it: %v", err)
	}
	ds, ok := compose.Services["doorstep"]
	if !ok || ds.Build == nil || ds.Build.Dockerfile != "Dockerfile" || ds.Build.Context != "." {
		t.Fatalf("the doorstep service must be built from ./Dockerfile: %+v", ds.Build)
	}
	published := false
	for _, p := range ds.Ports {
		parts := strings.Split(p, ":")
		switch parts[len(parts)-1] {
		case apiPort:
			published = true
		case metricsPort:
			t.Errorf("the doorstep service publishes the metrics port (%s): keep it on the compose network (decision 0036)", p)
		}
	}
	if !published {
		t.Errorf("the doorstep service does not publish the API's port %s: %v", apiPort, ds.Ports)
	}
	if ds.Healthcheck == nil || !slices.Equal(ds.Healthcheck.Test, append([]string{"CMD"}, img.healthcheck...)) {
		t.Errorf("the doorstep service's health check %+v, want the image's: CMD %v", ds.Healthcheck, img.healthcheck)
	}
	mounted := map[string]bool{}
	for name, s := range compose.Services {
		if s.Healthcheck == nil || len(s.Healthcheck.Test) == 0 {
			t.Errorf("service %s has no health check", name)
		}
		for _, v := range s.Volumes {
			src, dst, ok := strings.Cut(v, ":")
			if !ok || strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/") {
				t.Errorf("service %s mounts %q: want a named volume", name, v)
				continue
			}
			if _, ok := compose.Volumes[src]; !ok {
				t.Errorf("service %s mounts volume %s, which the file does not declare", name, src)
			}
			if name == "doorstep" {
				mounted[path.Clean(dst)] = true
			}
		}
		for k, v := range s.Environment {
			secret := regexp.MustCompile(`PASSWORD|SECRET|TOKEN|KEY`).MatchString(k)
			if secret && !regexp.MustCompile(`^\$\{[A-Z_]+(:\?[^}]*)?\}$`).MatchString(v) {
				t.Errorf("service %s sets %s to a literal: a secret comes from the environment (${NAME:?…})", name, k)
			}
		}
	}
	for _, v := range img.volumes {
		if !mounted[path.Clean(v)] {
			t.Errorf("the doorstep service mounts no named volume on the image's VOLUME %s: %v", v, ds.Volumes)
		}
	}
	var srv serverCmd
	srv.stderr = io.Discard
	fs := srv.flagSet()
	for k := range ds.Environment {
		if k == "PGPASSWORD" {
			continue // libpq's variable, which the PostgreSQL driver reads: the password kept out of DOORSTEP_DB
		}
		name := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(k, "DOORSTEP_"), "_", "-"))
		if fs.Lookup(name) == nil {
			t.Errorf("the doorstep service sets %s: doorstep server has no flag --%s", k, name)
		}
	}
	pg, ok := compose.Services["postgres"]
	if !ok || !strings.HasPrefix(pg.Image, "postgres:") || pg.Environment["POSTGRES_PASSWORD"] == "" {
		t.Errorf("the postgres service: %+v", pg)
	}
	// The server's store is that service's database (decision 0043): the
	// URL from the environment, defaulting to the service, with no
	// password in it (PGPASSWORD carries it), and the server waits for the
	// database's health check.
	db := ds.Environment["DOORSTEP_DB"]
	def, ok := strings.CutPrefix(db, "${DOORSTEP_DB-")
	def = strings.TrimSuffix(def, "}")
	if !ok || !strings.HasSuffix(db, "}") || checkDBFlag(def) != nil {
		t.Errorf("the doorstep service's DOORSTEP_DB %q: want ${DOORSTEP_DB-postgres://…} with a URL --db takes", db)
	}
	if u, err := url.Parse(def); err != nil || u.Hostname() != "postgres" || u.Path != "/"+pg.Environment["POSTGRES_DB"] || u.User.Username() != pg.Environment["POSTGRES_USER"] {
		t.Errorf("DOORSTEP_DB's default %q: want the postgres service's database %s as its user %s", def, pg.Environment["POSTGRES_DB"], pg.Environment["POSTGRES_USER"])
	} else if _, set := u.User.Password(); set {
		t.Errorf("DOORSTEP_DB's default %q holds a password: give it in PGPASSWORD", def)
	}
	if ds.Environment["PGPASSWORD"] != pg.Environment["POSTGRES_PASSWORD"] {
		t.Errorf("the doorstep service's PGPASSWORD %q: want the postgres service's password %q", ds.Environment["PGPASSWORD"], pg.Environment["POSTGRES_PASSWORD"])
	}
	if dep, ok := ds.DependsOn["postgres"]; !ok || dep.Condition != "service_healthy" {
		t.Errorf("the doorstep service depends on %+v: want postgres, condition service_healthy", ds.DependsOn)
	}
}
