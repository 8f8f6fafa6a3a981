// Package health runs Argo CD health checks written in Lua the way Argo CD does, on the status
// objects a cluster writes, for mesh-render's argocd/application-health.lua (issue 20, point 9) and
// Argo CD's own Gateway check on istiod's status of a Gateway without an address (point 3).
//
// The runtime is argo-cd v3.5.1's: gopher-lua and gopher-json at the versions of its go.mod, the
// state built as util/lua/lua.go:75-118 builds it (SkipOpenLibs, then the package, base and table
// libraries; the object as the global `obj`, decoded as decodeValue at :601-631), and the result read
// as ExecuteHealthLua at :132-166 reads it (the returned table encoded to JSON). The safe os library
// (:89, :100) is left out: neither script calls os.
package health

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	customizations "github.com/argoproj/argo-cd/v3/resource_customizations"
	lua "github.com/yuin/gopher-lua"
	luajson "layeh.com/gopher-json"
)

type status struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// decodeValue is argo-cd v3.5.1 util/lua/lua.go:601-631 for the JSON types.
func decodeValue(l *lua.LState, value any) lua.LValue {
	switch v := value.(type) {
	case bool:
		return lua.LBool(v)
	case float64:
		return lua.LNumber(v)
	case string:
		return lua.LString(v)
	case []any:
		arr := l.CreateTable(len(v), 0)
		for _, item := range v {
			arr.Append(decodeValue(l, item))
		}
		return arr
	case map[string]any:
		tbl := l.CreateTable(0, len(v))
		for key, item := range v {
			tbl.RawSetH(lua.LString(key), decodeValue(l, item))
		}
		return tbl
	}
	return lua.LNil
}

// run is ExecuteHealthLua: the script's returned table as a health status.
func run(t *testing.T, scriptFile, object string) status {
	t.Helper()
	script, err := os.ReadFile(scriptFile)
	if err != nil {
		t.Fatal(err)
	}
	return runScript(t, scriptFile, string(script), object)
}

func runScript(t *testing.T, scriptFile, script, object string) status {
	t.Helper()
	var obj map[string]any
	if err := json.Unmarshal([]byte(object), &obj); err != nil {
		t.Fatalf("%s: %v", object, err)
	}
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, pair := range []struct {
		n string
		f lua.LGFunction
	}{{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(pair.f), NRet: 0, Protect: true}, lua.LString(pair.n)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", decodeValue(l, obj))
	if err := l.DoString(script); err != nil {
		t.Fatalf("%s: %v", scriptFile, err)
	}
	ret := l.Get(-1)
	if ret.Type() != lua.LTTable {
		t.Fatalf("%s returned %s, not a table", scriptFile, ret.Type())
	}
	encoded, err := luajson.Encode(ret)
	if err != nil {
		t.Fatal(err)
	}
	var hs status
	if err := json.Unmarshal(encoded, &hs); err != nil {
		t.Fatal(err)
	}
	return hs
}

const applicationHealth = "../../argocd/application-health.lua"

// comparedTo is status.sync.comparedTo as Argo CD's controller writes it after comparing the given
// spec (JSON, as the parent renders it): the spec read into the real type, its sources chosen as
// argo-cd v3.5.1 controller/appcontroller.go:1901-1921 chooses them (a multi-source spec's `sources`
// alone) and put into v1alpha1.ComparedTo as controller/state.go:638-655 does (Sources for a
// multi-source Application, Source otherwise), then serialized by the real type. ComparedTo.Source is
// a struct, not a pointer (pkg/apis/application/v1alpha1/types.go:1932), and its repoURL has no
// omitempty (:198): a multi-source status still carries `source: {repoURL: ""}`.
func comparedTo(t *testing.T, spec string) string {
	t.Helper()
	var app v1alpha1.Application
	if err := json.Unmarshal([]byte(`{"spec":`+spec+`}`), &app); err != nil {
		t.Fatalf("%s: %v", spec, err)
	}
	compared := v1alpha1.ComparedTo{Destination: app.Spec.Destination, IgnoreDifferences: app.Spec.IgnoreDifferences}
	if app.Spec.HasMultipleSources() {
		compared.Sources = append(compared.Sources, app.Spec.Sources...)
	} else {
		compared.Source = app.Spec.GetSource()
	}
	out, err := json.Marshal(compared)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// Point 9: the parent waits (Progressing) while a child is not Synced or its sync runs, and takes
// the child's health otherwise.
func TestApplicationHealth(t *testing.T) {
	// The spec the status was compared with: the same source as the spec, or an older one.
	const src = `{"repoURL":"https://blob.istio.io/istio-release/charts","chart":"istiod","targetRevision":"1.30.3"}`
	const older = `{"repoURL":"https://blob.istio.io/istio-release/charts","chart":"istiod","targetRevision":"1.29.6"}`
	const gate = `{"repoURL":"https://github.com/example/playground.git","path":".","plugin":{"name":"mesh-render","parameters":[{"name":"revisionGate","string":"1-30-3"}]}}`
	const olderGate = `{"repoURL":"https://github.com/example/playground.git","path":".","plugin":{"name":"mesh-render","parameters":[{"name":"revisionGate","string":"1-29-6"}]}}`
	const dest = `"destination":{"server":"https://kubernetes.default.svc","namespace":"istio-system"}`
	single := `{"source":` + src + `,` + dest + `}`
	multi := `{"sources":[` + src + `,` + gate + `],` + dest + `}`
	// object is the Application with the given spec whose status was compared with spec `compared`.
	object := func(spec, compared, status string) string {
		return `{"spec":` + spec + `,"status":` + strings.Replace(status, `"sync":{`, `"sync":{"comparedTo":`+comparedTo(t, compared)+`,`, 1) + `}`
	}
	app := func(status string) string { return object(single, single, status) }
	if got := comparedTo(t, multi); !strings.Contains(got, `"source":{"repoURL":""}`) {
		t.Fatalf("a multi-source comparedTo no longer carries an empty source: %s", got)
	}
	for _, c := range []struct {
		name, object, want string
	}{
		{"synced and healthy", app(`{"sync":{"status":"Synced"},"health":{"status":"Healthy"}}`), "Healthy"},
		{"synced against the old spec", object(single, `{"source":`+older+`,`+dest+`}`, `{"sync":{"status":"Synced"},"health":{"status":"Healthy"}}`), "Progressing"},
		{"not compared yet", `{"spec":` + single + `,"status":{"sync":{"status":"Synced"},"health":{"status":"Healthy"}}}`, "Progressing"},
		{"compared with an empty spec", object(single, `{`+dest+`}`, `{"sync":{"status":"Synced"},"health":{"status":"Healthy"}}`), "Progressing"},
		{"multi-source, compared", object(multi, multi, `{"sync":{"status":"Synced"},"health":{"status":"Healthy"}}`), "Healthy"},
		{"multi-source, compared with the old sources", object(multi, `{"sources":[`+older+`,`+olderGate+`],`+dest+`}`, `{"sync":{"status":"Synced"},"health":{"status":"Healthy"}}`), "Progressing"},
		{"multi-source, compared while single-source", object(multi, single, `{"sync":{"status":"Synced"},"health":{"status":"Healthy"}}`), "Progressing"},
		{"single-source, compared while multi-source", object(single, multi, `{"sync":{"status":"Synced"},"health":{"status":"Healthy"}}`), "Progressing"},
		{"synced, terminating", app(`{"sync":{"status":"Synced"},"health":{"status":"Healthy"},"operationState":{"phase":"Terminating"}}`), "Progressing"},
		{"out of sync, healthy", `{"status":{"sync":{"status":"OutOfSync"},"health":{"status":"Healthy"}}}`, "Progressing"},
		{"out of sync, degraded", `{"status":{"sync":{"status":"OutOfSync"},"health":{"status":"Degraded"}}}`, "Progressing"},
		{"synced, degraded", app(`{"sync":{"status":"Synced"},"health":{"status":"Degraded","message":"Job failed"}}`), "Degraded"},
		{"synced, progressing", app(`{"sync":{"status":"Synced"},"health":{"status":"Progressing"}}`), "Progressing"},
		{"synced, missing", app(`{"sync":{"status":"Synced"},"health":{"status":"Missing"}}`), "Missing"},
		{"synced, operation running", app(`{"sync":{"status":"Synced"},"health":{"status":"Healthy"},"operationState":{"phase":"Running","message":"waiting for healthy state of gateway.networking.k8s.io/Gateway/knative-gateway"}}`), "Progressing"},
		{"synced, operation succeeded", app(`{"sync":{"status":"Synced"},"health":{"status":"Healthy"},"operationState":{"phase":"Succeeded"}}`), "Healthy"},
		{"unknown sync", `{"status":{"sync":{"status":"Unknown"},"health":{"status":"Healthy"}}}`, "Progressing"},
		{"no sync status", `{"status":{"health":{"status":"Healthy"}}}`, "Progressing"},
		{"no status", `{"metadata":{"name":"istio-mesh"}}`, "Progressing"},
	} {
		if got := run(t, applicationHealth, c.object); got.Status != c.want {
			t.Errorf("%s: got %+v, want %s", c.name, got, c.want)
		}
	}
	got := run(t, applicationHealth, app(`{"sync":{"status":"Synced"},"health":{"status":"Degraded","message":"Job failed"}}`))
	if got.Message != "Job failed" {
		t.Errorf("the child's message is passed on: %+v", got)
	}
}

// argoCDModuleDir is where the go command unpacked github.com/argoproj/argo-cd/v3 at the version
// go.mod requires (v3.5.1): Argo CD's own files are read from there, never copied into the project.
func argoCDModuleDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/argoproj/argo-cd/v3").Output()
	if err != nil {
		t.Fatalf("go list -m github.com/argoproj/argo-cd/v3: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// documentedSnippet is the Lua of Argo CD's documented Application health check: the block under
// `resource.customizations.health.argoproj.io_Application: |` in docs/operator-manual/health.md,
// section "Argocd App", of the argo-cd module, with its YAML indentation removed.
func documentedSnippet(t *testing.T) string {
	t.Helper()
	md, err := os.ReadFile(filepath.Join(argoCDModuleDir(t), "docs", "operator-manual", "health.md"))
	if err != nil {
		t.Fatal(err)
	}
	const key = "  resource.customizations.health.argoproj.io_Application: |\n"
	text := string(md)
	at := strings.Index(text, "### Argocd App")
	if at < 0 || !strings.Contains(text[at:], key) {
		t.Fatal("health.md no longer has the Argocd App snippet under its key")
	}
	body := text[at+strings.Index(text[at:], key)+len(key):]
	var lines []string
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, "    ") {
			break
		}
		lines = append(lines, strings.TrimPrefix(line, "    "))
	}
	if len(lines) == 0 {
		t.Fatal("empty snippet")
	}
	return strings.Join(lines, "\n") + "\n"
}

// Why the shipped check and not Argo CD's documented one (argo-cd v3.5.1
// docs/operator-manual/health.md, "Argocd App", read from the module): that one reads health only,
// so a child that is OutOfSync but still Healthy from its previous revision lets the parent's next
// wave start.
func TestDocumentedSnippetIgnoresSyncStatus(t *testing.T) {
	outOfSync := `{"status":{"sync":{"status":"OutOfSync"},"health":{"status":"Healthy"}}}`
	if got := runScript(t, "health.md snippet", documentedSnippet(t), outOfSync); got.Status != "Healthy" {
		t.Errorf("documented snippet: got %+v", got)
	}
	if got := run(t, applicationHealth, outOfSync); got.Status != "Progressing" {
		t.Errorf("shipped check: got %+v", got)
	}
}

// istiod's status of a Gateway whose LoadBalancer Service has no address (istio 1.29.6
// pilot/pkg/config/kube/gateway/context.go:99-101 "address pending for hostname", conversion.go:1917-1946:
// Programmed False, reason AddressNotAssigned; Accepted True; the listeners programmed).
const gatewayWithoutAddress = `{"status":{
  "conditions":[
    {"type":"Accepted","status":"True","reason":"Accepted","message":"Resource accepted"},
    {"type":"Programmed","status":"False","reason":"AddressNotAssigned",
     "message":"Assigned to service(s) knative-gateway-istio.istio-system.svc.cluster.local:80 and knative-gateway-istio.istio-system.svc.cluster.local:443, but failed to assign to all requested addresses: address pending for hostname \"knative-gateway-istio.istio-system.svc.cluster.local\""}],
  "listeners":[
    {"name":"http","attachedRoutes":0,"supportedKinds":[{"group":"gateway.networking.k8s.io","kind":"HTTPRoute"}],
     "conditions":[{"type":"Accepted","status":"True","reason":"Accepted"},{"type":"Programmed","status":"True","reason":"Programmed"},{"type":"ResolvedRefs","status":"True","reason":"ResolvedRefs"}]}]}}`

// The same Gateway once its Service has an address (a cluster with a LoadBalancer, or a ClusterIP
// or NodePort Service): Programmed True, reason Programmed.
const gatewayProgrammed = `{"status":{
  "addresses":[{"type":"IPAddress","value":"10.96.0.20"}],
  "conditions":[
    {"type":"Accepted","status":"True","reason":"Accepted","message":"Resource accepted"},
    {"type":"Programmed","status":"True","reason":"Programmed","message":"Resource programmed, assigned to service(s) knative-local-gateway-istio.istio-system.svc.cluster.local:80"}],
  "listeners":[
    {"name":"http","attachedRoutes":1,"supportedKinds":[{"group":"gateway.networking.k8s.io","kind":"HTTPRoute"}],
     "conditions":[{"type":"Accepted","status":"True","reason":"Accepted"},{"type":"Programmed","status":"True","reason":"Programmed"},{"type":"ResolvedRefs","status":"True","reason":"ResolvedRefs"}]}]}}`

// Point 3: Argo CD's built-in Gateway check (argo-cd v3.5.1
// resource_customizations/gateway.networking.k8s.io/Gateway/health.lua, the file Argo CD embeds,
// resource_customizations/embed.go) calls a Gateway without an address Progressing, and nothing in
// istiod changes that on a cluster without a LoadBalancer: a sync wave holding it never ends.
func TestArgoCDGatewayHealthStallsWithoutAddress(t *testing.T) {
	const gatewayHealth = "gateway.networking.k8s.io/Gateway/health.lua"
	source, err := customizations.Embedded.ReadFile(gatewayHealth)
	if err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, _ string, object string) status {
		return runScript(t, gatewayHealth, string(source), object)
	}
	got := run(t, gatewayHealth, gatewayWithoutAddress)
	if got.Status != "Progressing" {
		t.Errorf("no address: got %+v, want Progressing", got)
	}
	if !strings.Contains(got.Message, "address pending for hostname") {
		t.Errorf("the message is istiod's: %q", got.Message)
	}
	if got := run(t, gatewayHealth, gatewayProgrammed); got.Status != "Healthy" {
		t.Errorf("programmed: got %+v, want Healthy", got)
	}
	if got := run(t, gatewayHealth, `{"spec":{}}`); got.Status != "Progressing" {
		t.Errorf("no status yet: got %+v, want Progressing", got)
	}
}

// The Certificate status as cert-manager v1.19.1 writes it, by default (its ServerSideApply feature
// is Alpha and off, internal/controller/feature/features.go:208, so each controller updates the
// whole status). The conditions are written by pkg/api/util/conditions.go:174-220
// (SetCertificateCondition: a new type is appended, an existing one overwritten).
const (
	// The readiness controller (pkg/controller/certificates/readiness/readiness_controller.go:161-169)
	// on a new Certificate: the first check of its chain (internal/controller/certificates/policies/policies.go:88)
	// finds no Secret (checks.go:43-45), so Ready is False (readiness_controller.go:241-246).
	certReadyFalse = `{"type":"Ready","status":"False","reason":"DoesNotExist","message":"Issuing certificate as Secret does not exist","observedGeneration":1,"lastTransitionTime":"2026-01-01T00:00:00Z"}`
	// The trigger controller (pkg/controller/certificates/trigger/trigger_controller.go:215-228), on
	// the same check of its own chain (policies.go:70): Issuing True, until the issuing controller
	// stores the Secret and removes the condition (issuing_controller.go:410-420).
	certIssuingTrue = `{"type":"Issuing","status":"True","reason":"DoesNotExist","message":"Issuing certificate as Secret does not exist","observedGeneration":1,"lastTransitionTime":"2026-01-01T00:00:00Z"}`
	// The readiness controller once the Secret holds the issued certificate (readiness_controller.go:233-239).
	certReadyTrue = `{"type":"Ready","status":"True","reason":"Ready","message":"Certificate is up to date and has not expired","observedGeneration":1,"lastTransitionTime":"2026-01-01T00:00:05Z"}`
	// With the ServerSideApply feature on, the issuing controller sets Issuing False instead of
	// removing it (issuing_controller.go:450-454).
	certIssuingFalse = `{"type":"Issuing","status":"False","reason":"Issued","message":"The certificate has been successfully issued","observedGeneration":1,"lastTransitionTime":"2026-01-01T00:00:05Z"}`
	// What the issuing and readiness controllers add once issued (issuing_controller.go:415,
	// readiness_controller.go:182-189).
	certIssuedFields = `"notBefore":"2026-01-01T00:00:04Z","notAfter":"2027-01-01T00:00:04Z","renewalTime":"2026-12-02T00:00:04Z","revision":1`
)

func certificate(fields string, conditions ...string) string {
	status := `"conditions":[` + strings.Join(conditions, ",") + `]`
	if fields != "" {
		status = fields + "," + status
	}
	return `{"apiVersion":"cert-manager.io/v1","kind":"Certificate","metadata":{"name":"cacerts","namespace":"istio-system","generation":1},"status":{` + status + `}}`
}

// Issue 23: the trust Application (wave 0) holds istiod (wave 1) until its Certificate `cacerts`
// is issued: Argo CD's own Certificate check (argo-cd v3.5.1
// resource_customizations/cert-manager.io/Certificate/health.lua, embedded) calls it Progressing
// while cert-manager issues it, and Healthy once it is Ready.
func TestArgoCDCertificateHealthHoldsUntilIssued(t *testing.T) {
	const certificateHealth = "cert-manager.io/Certificate/health.lua"
	source, err := customizations.Embedded.ReadFile(certificateHealth)
	if err != nil {
		t.Fatal(err)
	}
	health := func(object string) status { return runScript(t, certificateHealth, string(source), object) }
	for _, c := range []struct {
		name, object, want, message string
	}{
		// The order a new Certificate goes through.
		{"applied, no status yet", `{"apiVersion":"cert-manager.io/v1","kind":"Certificate","metadata":{"name":"cacerts"},"spec":{"secretName":"cacerts"}}`, "Progressing", "Waiting for certificate"},
		{"issuing (trigger first)", certificate("", certIssuingTrue), "Progressing", "Issuing certificate as Secret does not exist"},
		{"issuing, not ready", certificate("", certIssuingTrue, certReadyFalse), "Progressing", "Issuing certificate as Secret does not exist"},
		{"not ready, issuing", certificate("", certReadyFalse, certIssuingTrue), "Progressing", "Issuing certificate as Secret does not exist"},
		{"issued, ready, Issuing still true", certificate(certIssuedFields, certReadyTrue, certIssuingTrue), "Progressing", "Issuing certificate as Secret does not exist"},
		{"issued", certificate(certIssuedFields, certReadyTrue), "Healthy", "Certificate is up to date and has not expired"},
		{"issued (ServerSideApply feature)", certificate(certIssuedFields, certIssuingFalse, certReadyTrue), "Healthy", "Certificate is up to date and has not expired"},
		// Two windows where the controllers race: readiness wrote Ready False before the trigger
		// wrote Issuing True, or the issuing controller removed Issuing before readiness saw the
		// Secret. Argo CD calls both Degraded: a parent's wave that sees it fails its sync
		// (gitops-engine pkg/sync/sync_context.go:565-566, :635-640), and the retry syncs again.
		{"race: not ready, not yet issuing", certificate("", certReadyFalse), "Degraded", "Issuing certificate as Secret does not exist"},
		{"race: Issuing removed, readiness not yet updated", certificate(`"revision":1`, certReadyFalse), "Degraded", "Issuing certificate as Secret does not exist"},
	} {
		got := health(c.object)
		if got.Status != c.want || got.Message != c.message {
			t.Errorf("%s: got %+v, want %s %q", c.name, got, c.want, c.message)
		}
	}
}
