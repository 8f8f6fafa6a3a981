//go:build argocd_fleet

// Package fleet generates the Applications of mesh-render's fleet ApplicationSet
// (`fleet/applicationset.yaml`) with argo-cd v3.5.1's own ApplicationSet code, and rolls them out
// with its own RollingSync code, for crates/mesh-render/tests/argocd_fleet.rs (issue 23) to judge.
//
// Nothing here decides whether mesh-render is right: the test writes what Argo CD produced, and the
// Rust test asserts on it. It fails only when it cannot run Argo CD's code at all.
//
//   - Generation is template.GenerateApplications (applicationset/controllers/template/template.go:16-80),
//     the function the controller's Reconcile calls (applicationset/controllers/applicationset_controller.go:199),
//     given the list generator under the name the controller registers it
//     (applicationset/generators/utils.go:16) and the renderer it runs with, &utils.Render{}
//     (cmd/argocd-applicationset-controller/commands/applicationset_controller.go:261). It runs the list
//     generator's GenerateParams (applicationset/generators/list.go:32-90) through Transform
//     (generator_spec_processor.go:30-102), renders each element with RenderTemplateParams and the
//     ApplicationSet's goTemplate and goTemplateOptions (template.go:38), applies a templatePatch when
//     there is one (:50-64) and sets the ApplicationSet's namespace (:68).
//   - What the controller then writes for each (createOrUpdateInCluster, applicationset_controller.go:640-770):
//     the spec normalized (:656), apiVersion and kind (:661-664), labels, annotations and finalizers
//     (:729-731). The owner reference (:733) needs the live ApplicationSet's uid and is left out.
//   - RollingSync is progressivesync.Manager.PerformProgressiveSyncs
//     (applicationset/progressivesync/progressive_sync.go:105-129), called as Reconcile calls it
//     (applicationset_controller.go:257-261), then SyncDesiredApplications (progressive_sync.go:745-773),
//     called as at applicationset_controller.go:309-314. PerformProgressiveSyncs records every
//     Application's step in the ApplicationSet's status (progressive_sync.go:384-391, :408, from
//     buildAppDependencyList :280-328 and getAppStep :348-356); the test reads the steps from there.
//
// The build tag and the gitops-engine stand-in: argo-cd v3.5.1 builds gitops-engine from its own tree
// (go.mod:372); the proxy serves no gitops-engine at v3.5.1's commit, and the one go.mod takes
// instead (master of 2026-07-08) has Diff and DiffArray take a context (#28353), which
// util/argo/diff (imported by applicationset/utils) at v3.5.1 does not pass (diff.go:334, :375).
// So this package does not build with go.mod alone: crates/mesh-render/tests/argocd_fleet.rs copies
// that gitops-engine out of the module cache, gives those two functions v3.5.1's signatures
// (gitops-engine/pkg/diff/diff.go:76, :881 at v3.5.1), and builds with `-tags argocd_fleet -modfile`
// a copy of go.mod that replaces gitops-engine with the copy. Nothing run here calls them: the diff
// config is nil without ignoreApplicationDifferences (applicationset/utils/createOrUpdate.go:54-57,
// :186-189), and generate refuses an ApplicationSet that has them.
package fleet

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/argoproj/argo-cd/gitops-engine/pkg/health"
	"github.com/argoproj/argo-cd/v3/applicationset/controllers/template"
	"github.com/argoproj/argo-cd/v3/applicationset/generators"
	"github.com/argoproj/argo-cd/v3/applicationset/progressivesync"
	"github.com/argoproj/argo-cd/v3/applicationset/utils"
	"github.com/argoproj/argo-cd/v3/pkg/apis/application"
	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	argoutil "github.com/argoproj/argo-cd/v3/util/argo"
	log "github.com/sirupsen/logrus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// The ApplicationSet files to generate (a list, as PATH is), and the folder where `<file stem>.json`
// is written for each.
const (
	inputVariable  = "MESH_RENDER_APPSETS"
	outputVariable = "MESH_RENDER_APPSETS_OUT"
)

// Step is one RollingSync step and the generated Applications it selects.
type Step struct {
	Step         int      `json:"step"`
	Applications []string `json:"applications"`
}

// Result is what Argo CD's code made of one ApplicationSet file.
type Result struct {
	// Error is GenerateApplications' error (then Applications holds what it generated before it,
	// as the controller would not apply any of them: applicationset_controller.go:200-213).
	Error  string `json:"error,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Applications as the controller writes them, in generation order.
	Applications []v1alpha1.Application `json:"applications"`
	// Steps in the order of spec.strategy.rollingSync.steps, each with the Applications it selects;
	// Unselected lists those no step selects (step -1, progressive_sync.go:348-356).
	Steps      []Step   `json:"steps"`
	Unselected []string `json:"unselected"`
	// Automated is each Application's automated sync once RollingSync has handled it: false, since the
	// ApplicationSet controller syncs them itself (progressive_sync.go:738-743, :752-756).
	Automated map[string]bool `json:"automated"`
	// Rollout is, per reconcile, the Applications that reconcile gives a sync operation
	// (progressive_sync.go:766-769) when every synced Application turns Synced and Healthy.
	Rollout [][]string `json:"rollout"`
	// Prune is whether the sync operation RollingSync starts for each Application prunes: the
	// template's automated.prune (progressive_sync.go:751-753, :766-768, :775-805).
	Prune map[string]bool `json:"prune"`
	// HeldBy is the same rollout while the first Application of the first step stays Progressing
	// once synced (its children not yet healthy): the Applications that ever get a sync operation.
	HeldBy []string `json:"heldBy"`
}

// statusStore is the progressive sync's Dependencies: it keeps the ApplicationSet status the
// controller writes (applicationset_controller.go:1081-1152: the statuses copied, sorted by name, and
// written back to the object the call was given) as the API server would, for the next reconcile.
type statusStore struct {
	statuses []v1alpha1.ApplicationSetApplicationStatus
}

func (s *statusStore) SetAppSetApplicationStatus(_ context.Context, _ *log.Entry, appset *v1alpha1.ApplicationSet, statuses []v1alpha1.ApplicationSetApplicationStatus) error {
	sorted := append([]v1alpha1.ApplicationSetApplicationStatus(nil), statuses...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Application < sorted[j].Application })
	appset.Status.ApplicationStatus = sorted
	s.statuses = sorted
	return nil
}

func (s *statusStore) SetApplicationSetStatusCondition(_ context.Context, appset *v1alpha1.ApplicationSet, condition v1alpha1.ApplicationSetCondition, _ bool) error {
	appset.Status.SetConditions([]v1alpha1.ApplicationSetCondition{condition}, map[v1alpha1.ApplicationSetConditionType]bool{condition.Type: true})
	return nil
}

// written is the Application the controller creates from a generated one (applicationset_controller.go:656-731).
func written(generated v1alpha1.Application) v1alpha1.Application {
	return v1alpha1.Application{
		TypeMeta: metav1.TypeMeta{Kind: application.ApplicationKind, APIVersion: "argoproj.io/v1alpha1"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        generated.Name,
			Namespace:   generated.Namespace,
			Labels:      generated.Labels,
			Annotations: generated.Annotations,
			Finalizers:  generated.Finalizers,
		},
		Spec:      *argoutil.NormalizeApplicationSpec(&generated.Spec),
		Operation: generated.Operation,
	}
}

// reconcile is the RollingSync part of one Reconcile (applicationset_controller.go:240-314) on the
// Applications that exist (current), from the status the last reconcile stored. It returns the
// Applications as written (applied onto current, createOrUpdateInCluster :673-731) and the names
// that got a sync operation.
func reconcile(t *testing.T, appset v1alpha1.ApplicationSet, store *statusStore, current, generated []v1alpha1.Application) ([]v1alpha1.Application, []v1alpha1.Application) {
	t.Helper()
	logCtx := log.WithField("applicationset", appset.Name)
	appset.Status.ApplicationStatus = store.statuses
	desired := make([]v1alpha1.Application, len(generated))
	for i := range generated {
		desired[i] = *generated[i].DeepCopy()
	}
	manager := progressivesync.NewManager(nil, nil, store)
	// PerformProgressiveSyncs takes the ApplicationSet by value: the statuses it stores reach this
	// reconcile's copy only through the next Get, as in the controller.
	appSyncMap, err := manager.PerformProgressiveSyncs(context.Background(), logCtx, appset, current, desired)
	if err != nil {
		t.Fatalf("PerformProgressiveSyncs: %v", err)
	}
	desired = manager.SyncDesiredApplications(logCtx, &appset, appSyncMap, desired)
	byName := map[string]v1alpha1.Application{}
	for _, app := range current {
		byName[app.Name] = app
	}
	var synced []v1alpha1.Application
	out := make([]v1alpha1.Application, 0, len(desired))
	for _, app := range desired {
		next := written(app)
		if live, ok := byName[app.Name]; ok {
			next.Status = live.Status
		}
		if next.Operation != nil {
			synced = append(synced, next)
		}
		out = append(out, next)
	}
	return out, synced
}

// operate is Argo CD's application controller running each pending operation: the sync starts and
// ends, the Application is Synced and takes the health healthOf gives it.
func operate(apps []v1alpha1.Application, healthOf func(string) health.HealthStatusCode) {
	for i := range apps {
		app := &apps[i]
		if app.Operation == nil {
			continue
		}
		started := metav1.NewTime(time.Now().Add(time.Millisecond))
		app.Operation = nil
		app.Status.OperationState = &v1alpha1.OperationState{Phase: "Succeeded", StartedAt: started, FinishedAt: &started}
		app.Status.Sync.Status = v1alpha1.SyncStatusCodeSynced
		app.Status.Health.Status = healthOf(app.Name)
	}
}

// rollout reconciles until no reconcile starts a sync for three rounds in a row, and returns the
// syncs each reconcile started (the Applications with their operation).
func rollout(t *testing.T, appset v1alpha1.ApplicationSet, generated []v1alpha1.Application, healthOf func(string) health.HealthStatusCode) [][]v1alpha1.Application {
	t.Helper()
	store := &statusStore{}
	var current []v1alpha1.Application
	var rounds [][]v1alpha1.Application
	idle := 0
	for round := 0; round < 4*len(generated)+8 && idle < 3; round++ {
		next, synced := reconcile(t, appset, store, current, generated)
		rounds = append(rounds, synced)
		if len(synced) == 0 {
			idle++
		} else {
			idle = 0
		}
		operate(next, healthOf)
		current = next
	}
	return rounds
}

func generate(t *testing.T, file string) Result {
	t.Helper()
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var appset v1alpha1.ApplicationSet
	// Strict: a field Argo CD's type does not know is an error, not dropped.
	if err := yaml.UnmarshalStrict(text, &appset); err != nil {
		return Result{Error: "reading the ApplicationSet: " + err.Error()}
	}
	if len(appset.Spec.IgnoreApplicationDifferences) > 0 {
		t.Fatalf("%s: ignoreApplicationDifferences would run gitops-engine's diff, which this build stands in for", file)
	}
	logCtx := log.WithField("applicationset", appset.Name)
	listOnly := map[string]generators.Generator{"List": generators.NewListGenerator()}
	apps, reason, err := template.GenerateApplications(logCtx, appset, listOnly, &utils.Render{}, nil)
	res := Result{Reason: string(reason), Applications: []v1alpha1.Application{}, Steps: []Step{}, Unselected: []string{}, Automated: map[string]bool{}, Prune: map[string]bool{}}
	for _, app := range apps {
		res.Applications = append(res.Applications, written(app))
	}
	if err != nil {
		res.Error = err.Error()
		return res
	}
	if !progressivesync.RollingSyncStrategyEnabled(&appset) {
		return res
	}

	// The steps, as the first reconcile after the Applications exist records them.
	store := &statusStore{}
	created, _ := reconcile(t, appset, store, nil, apps)
	reconcile(t, appset, store, created, apps)
	for i := range appset.Spec.Strategy.RollingSync.Steps {
		res.Steps = append(res.Steps, Step{Step: i + 1, Applications: []string{}})
	}
	step := map[string]string{}
	for _, s := range store.statuses {
		step[s.Application] = s.Step
	}
	for _, app := range apps {
		n, err := strconv.Atoi(step[app.Name])
		switch {
		case err != nil:
			t.Fatalf("%s: no step recorded for %s: %v", file, app.Name, store.statuses)
		case n < 1:
			res.Unselected = append(res.Unselected, app.Name)
		default:
			res.Steps[n-1].Applications = append(res.Steps[n-1].Applications, app.Name)
		}
	}
	for _, app := range created {
		res.Automated[app.Name] = app.Spec.SyncPolicy != nil && app.Spec.SyncPolicy.IsAutomatedSyncEnabled()
	}

	healthy := func(string) health.HealthStatusCode { return health.HealthStatusHealthy }
	for _, round := range rollout(t, appset, apps, healthy) {
		names := []string{}
		for _, app := range round {
			names = append(names, app.Name)
			if _, seen := res.Prune[app.Name]; !seen {
				res.Prune[app.Name] = app.Operation.Sync != nil && app.Operation.Sync.Prune
			}
		}
		res.Rollout = append(res.Rollout, names)
	}
	if len(res.Steps) > 0 && len(res.Steps[0].Applications) > 0 {
		first := res.Steps[0].Applications[0]
		held := func(name string) health.HealthStatusCode {
			if name == first {
				return health.HealthStatusProgressing
			}
			return health.HealthStatusHealthy
		}
		res.HeldBy = []string{}
		for _, round := range rollout(t, appset, apps, held) {
			for _, app := range round {
				res.HeldBy = append(res.HeldBy, app.Name)
			}
		}
	}
	return res
}

// TestGenerateApplicationSets generates every file of MESH_RENDER_APPSETS into MESH_RENDER_APPSETS_OUT.
// Without them (a plain `go test ./...`) it skips: the Rust test sets them and fails on a missing result.
func TestGenerateApplicationSets(t *testing.T) {
	files := filepath.SplitList(os.Getenv(inputVariable))
	out := os.Getenv(outputVariable)
	if len(files) == 0 || out == "" {
		t.Skipf("%s and %s are set by crates/mesh-render/tests/argocd_fleet.rs", inputVariable, outputVariable)
	}
	log.SetLevel(log.WarnLevel)
	for _, file := range files {
		res := generate(t, file)
		text, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)) + ".json"
		if err := os.WriteFile(filepath.Join(out, name), append(text, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d applications, %d steps, error %q", file, len(res.Applications), len(res.Steps), res.Error)
	}
}
