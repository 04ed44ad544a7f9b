package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/samsa-go/samsa/runtime"
)

// The parts of Kubernetes objects the manifest test reads.
type (
	k8sObject struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   struct {
			Name string `yaml:"name"`
		} `yaml:"metadata"`
		Spec workloadSpec `yaml:"spec"`
	}
	workloadSpec struct {
		Replicas    *int   `yaml:"replicas"`
		ServiceName string `yaml:"serviceName"`
		Selector    struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec podSpec `yaml:"spec"`
		} `yaml:"template"`
		VolumeClaimTemplates []struct {
			Metadata struct {
				Name string `yaml:"name"`
			} `yaml:"metadata"`
		} `yaml:"volumeClaimTemplates"`
	}
	podSpec struct {
		TerminationGracePeriodSeconds *int `yaml:"terminationGracePeriodSeconds"`
		SecurityContext               struct {
			RunAsNonRoot *bool `yaml:"runAsNonRoot"`
			RunAsUser    int   `yaml:"runAsUser"`
		} `yaml:"securityContext"`
		Containers []container `yaml:"containers"`
		Volumes    []struct {
			Name     string    `yaml:"name"`
			EmptyDir *struct{} `yaml:"emptyDir"`
		} `yaml:"volumes"`
	}
	container struct {
		Name    string   `yaml:"name"`
		Command []string `yaml:"command"`
		Args    []string `yaml:"args"`
		Env     []struct {
			Name      string `yaml:"name"`
			Value     string `yaml:"value"`
			ValueFrom *struct {
				FieldRef *struct {
					FieldPath string `yaml:"fieldPath"`
				} `yaml:"fieldRef"`
			} `yaml:"valueFrom"`
		} `yaml:"env"`
		Ports []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		} `yaml:"ports"`
		LivenessProbe  *probe `yaml:"livenessProbe"`
		ReadinessProbe *probe `yaml:"readinessProbe"`
		StartupProbe   *probe `yaml:"startupProbe"`
		Lifecycle      struct {
			PreStop struct {
				Sleep struct {
					Seconds int `yaml:"seconds"`
				} `yaml:"sleep"`
			} `yaml:"preStop"`
		} `yaml:"lifecycle"`
		VolumeMounts []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
	}
)

// probe is a container probe; only HTTP GETs are checked.
type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		// Port is a number or the name of one of the container's ports.
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

// samplePodName stands in for metadata.name, the one field reference the
// manifests may use, in the value of a variable.
const samplePodName = "wordcount-0"

// readManifest decodes every document of a multi-document YAML file.
func readManifest(t *testing.T, name string) []k8sObject {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "deploy", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	var objs []k8sObject
	for {
		var o k8sObject
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			return objs
		} else if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		objs = append(objs, o)
	}
}

// knownEnv are the variables the example reads: the runtime's, through
// runtime.FromEnv and parseConfig, and the example's own.
var knownEnv = []string{
	runtime.EnvBrokers, runtime.EnvApplicationID, runtime.EnvStateDir, runtime.EnvThreads,
	runtime.EnvGuarantee, runtime.EnvCommitMillis, runtime.EnvSessionTimeoutMillis,
	runtime.EnvHTTPAddr, runtime.EnvInstanceID,
	EnvInputTopic, EnvOutputTopic, EnvPartitions,
}

// Both workloads run the example as the flags and variables it reads say,
// with its state on the mounted volume and a grace period that covers a
// close.
func TestDeployManifests(t *testing.T) {
	entrypoint := dockerEntrypoint(t)
	for _, tc := range []struct {
		file, kind string
	}{
		{"wordcount-deployment.yaml", "Deployment"},
		{"wordcount-statefulset.yaml", "StatefulSet"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			objs := readManifest(t, tc.file)
			i := slices.IndexFunc(objs, func(o k8sObject) bool { return o.Kind == tc.kind })
			if i < 0 {
				t.Fatalf("%s has no %s", tc.file, tc.kind)
			}
			w := objs[i].Spec
			if w.Replicas == nil || *w.Replicas < 2 {
				t.Errorf("replicas %v: want a fleet of at least 2", w.Replicas)
			}
			for k, v := range w.Selector.MatchLabels {
				if w.Template.Metadata.Labels[k] != v {
					t.Errorf("selector %s=%s does not match the pod labels %v", k, v, w.Template.Metadata.Labels)
				}
			}
			pod := w.Template.Spec
			if len(pod.Containers) != 1 || pod.Containers[0].Name != "wordcount" {
				t.Fatalf("containers %+v: want one, wordcount", pod.Containers)
			}
			c := pod.Containers[0]
			if pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot || pod.SecurityContext.RunAsUser == 0 {
				t.Errorf("pod security context %+v: want a non-root user", pod.SecurityContext)
			}
			if len(c.Command) > 0 && !slices.Equal(c.Command, entrypoint) {
				t.Errorf("command %v overrides the image's entrypoint %v", c.Command, entrypoint)
			}

			// The environment: only variables the example reads, each
			// once, and values they accept.
			env := map[string]string{}
			for _, e := range c.Env {
				switch {
				case !slices.Contains(knownEnv, e.Name):
					t.Errorf("env %s is not a variable the example or the runtime reads (%v)", e.Name, knownEnv)
				case e.ValueFrom != nil && (e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.name"):
					t.Errorf("env %s: only a valueFrom of the pod's name (fieldRef metadata.name) can be checked; give a value", e.Name)
				}
				if _, dup := env[e.Name]; dup {
					t.Errorf("env %s set twice", e.Name)
				}
				env[e.Name] = e.Value
				if e.ValueFrom != nil {
					env[e.Name] = samplePodName
				}
			}
			for _, name := range knownEnv {
				t.Setenv(name, env[name])
			}
			if _, err := runtime.FromEnv(); err != nil {
				t.Errorf("runtime.FromEnv rejects the manifest's environment: %v", err)
			}
			cfg, err := parseConfig(c.Args, func(k string) string { return env[k] }, io.Discard)
			if err != nil {
				t.Fatalf("the example rejects args %q with the manifest's environment: %v", c.Args, err)
			}
			if cfg.idle != 0 {
				t.Errorf("-idle %v: a pod must run until SIGTERM (-idle 0)", cfg.idle)
			}
			if len(cfg.brokers) == 0 {
				t.Error("no brokers: the example would start an in-process broker in the pod")
			}
			if cfg.describe != "" {
				t.Errorf("-describe %s: the pod would print its topology and exit", cfg.describe)
			}

			// State lives on the volume mounted at the state directory:
			// an emptyDir in the Deployment, a claim in the StatefulSet.
			mount := slices.IndexFunc(c.VolumeMounts, func(m struct {
				Name      string `yaml:"name"`
				MountPath string `yaml:"mountPath"`
			}) bool {
				return m.MountPath == cfg.stateDir
			})
			if cfg.stateDir == "" || mount < 0 {
				t.Fatalf("state directory %q is not a mounted volume (mounts %+v)", cfg.stateDir, c.VolumeMounts)
			}
			vol := c.VolumeMounts[mount].Name
			switch tc.kind {
			case "Deployment":
				if !slices.ContainsFunc(pod.Volumes, func(v struct {
					Name     string    `yaml:"name"`
					EmptyDir *struct{} `yaml:"emptyDir"`
				}) bool {
					return v.Name == vol && v.EmptyDir != nil
				}) {
					t.Errorf("volume %q is not an emptyDir", vol)
				}
			case "StatefulSet":
				if len(w.VolumeClaimTemplates) != 1 || w.VolumeClaimTemplates[0].Metadata.Name != vol {
					t.Errorf("volume %q is not the StatefulSet's claim template (%+v)", vol, w.VolumeClaimTemplates)
				}
				svc := slices.IndexFunc(objs, func(o k8sObject) bool { return o.Kind == "Service" && o.Metadata.Name == w.ServiceName })
				if w.ServiceName == "" || svc < 0 {
					t.Errorf("serviceName %q names no Service in %s", w.ServiceName, tc.file)
				}
			}

			// The probes ask the app's HTTP server (runtime.HTTP), on the
			// port the example listens on, for the paths it serves.
			checkProbes(t, c, cfg.httpAddr)

			// Static membership belongs to the StatefulSet, whose pods
			// keep their names: a Deployment's pods get new ones, and each
			// restart would leave a static member behind, holding its
			// tasks until the session timeout.
			switch id := env[runtime.EnvInstanceID]; {
			case tc.kind == "StatefulSet" && id != samplePodName:
				t.Errorf("%s = %q: want the pod's name (fieldRef metadata.name)", runtime.EnvInstanceID, id)
			case tc.kind == "Deployment" && id != "":
				t.Errorf("%s = %q in a Deployment, whose pod names change with each restart", runtime.EnvInstanceID, id)
			}
			if cfg.instanceID != env[runtime.EnvInstanceID] {
				t.Errorf("the example's -instance-id is %q, want %q", cfg.instanceID, env[runtime.EnvInstanceID])
			}

			// SIGKILL comes terminationGracePeriodSeconds after the preStop
			// hook starts: it must cover the pause and a close, which is a
			// commit (one commit interval of work at most) and, under
			// exactly-once, a transaction bounded by the runtime's 10s
			// transaction timeout.
			if pod.TerminationGracePeriodSeconds == nil {
				t.Fatal("no terminationGracePeriodSeconds")
			}
			grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
			commit, _ := strconv.Atoi(env[runtime.EnvCommitMillis])
			preStop := time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
			const txnTimeout, margin = 10 * time.Second, 10 * time.Second
			if preStop <= 0 {
				t.Error("no preStop sleep")
			}
			if need := preStop + time.Duration(commit)*time.Millisecond + txnTimeout + margin; grace < need {
				t.Errorf("grace period %v < preStop %v + commit interval %vms + transaction timeout %v + %v", grace, preStop, commit, txnTimeout, margin)
			}
			// The runtime abandons what its close has not done by its
			// shutdown timeout (runtime.ShutdownTimeout, 10s, which the
			// example leaves alone): the close ends before SIGKILL.
			const shutdownTimeout = 10 * time.Second
			if need := preStop + shutdownTimeout + margin; grace < need {
				t.Errorf("grace period %v < preStop %v + shutdown timeout %v + %v", grace, preStop, shutdownTimeout, margin)
			}
		})
	}
}

// dockerEntrypoint checks the Dockerfile's shape (builder stage, static
// build of this example, non-root final stage) and returns its entrypoint.
func dockerEntrypoint(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "deploy", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var froms int
	var build, user, entry string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		word, rest, _ := strings.Cut(line, " ")
		switch strings.ToUpper(word) {
		case "FROM":
			froms++
			user = "" // USER is per stage
		case "RUN":
			if strings.Contains(rest, "go build") {
				build = rest
			}
		case "USER":
			user = rest
		case "ENTRYPOINT":
			entry = rest
		}
	}
	if froms < 2 {
		t.Errorf("Dockerfile has %d stages, want a builder and a final stage", froms)
	}
	if !strings.Contains(build, "CGO_ENABLED=0") || !strings.HasSuffix(build, "./examples/wordcount") {
		t.Errorf("Dockerfile build %q: want a static (CGO_ENABLED=0) build of ./examples/wordcount", build)
	}
	if user == "" || user == "root" || strings.HasPrefix(user, "0") {
		t.Errorf("final stage runs as %q, want a non-root user", user)
	}
	var argv []string
	if err := yaml.Unmarshal([]byte(entry), &argv); err != nil || len(argv) == 0 {
		t.Fatalf("ENTRYPOINT %q is not an exec-form list: %v", entry, err)
	}
	if !strings.Contains(build, "-o /out"+argv[0]) {
		t.Errorf("ENTRYPOINT %v is not the binary the build writes (%s)", argv, build)
	}
	return argv
}

// checkProbes checks c's probes against the address the example serves
// HTTP on: liveness on /livez, readiness on /readyz, both on its port.
func checkProbes(t *testing.T, c container, httpAddr string) {
	t.Helper()
	if httpAddr == "" {
		t.Fatal("the example serves no HTTP (no -http or SAMSA_HTTP_ADDR): no probe can pass")
	}
	_, port, err := net.SplitHostPort(httpAddr)
	if err != nil {
		t.Fatalf("-http %q: %v", httpAddr, err)
	}
	listens, err := strconv.Atoi(port)
	if err != nil || listens == 0 {
		t.Fatalf("-http %q: want a fixed port", httpAddr)
	}
	if !slices.ContainsFunc(c.Ports, func(p struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	}) bool {
		return p.ContainerPort == listens
	}) {
		t.Errorf("ports %+v: none is %d, where the example listens (-http %s)", c.Ports, listens, httpAddr)
	}
	for _, pc := range []struct {
		what, path string
		p          *probe
	}{
		{"livenessProbe", "/livez", c.LivenessProbe},
		{"readinessProbe", "/readyz", c.ReadinessProbe},
	} {
		if pc.p == nil || pc.p.HTTPGet == nil {
			t.Errorf("no %s httpGet", pc.what)
			continue
		}
		g := pc.p.HTTPGet
		if g.Path != pc.path {
			t.Errorf("%s path %q, want %q", pc.what, g.Path, pc.path)
		}
		n, err := strconv.Atoi(g.Port)
		if err != nil {
			i := slices.IndexFunc(c.Ports, func(p struct {
				Name          string `yaml:"name"`
				ContainerPort int    `yaml:"containerPort"`
			}) bool {
				return p.Name == g.Port
			})
			if i < 0 {
				t.Errorf("%s port %q names none of the ports %+v", pc.what, g.Port, c.Ports)
				continue
			}
			n = c.Ports[i].ContainerPort
		}
		if n != listens {
			t.Errorf("%s on port %d, but the example listens on %d (-http %s)", pc.what, n, listens, httpAddr)
		}
	}
	if c.StartupProbe != nil {
		t.Error("a startupProbe: liveness already passes while the app starts and restores")
	}
}
