module mesh-render/oracle/argocd-health

go 1.26.3

require (
	// Argo CD itself, for the files it embeds (resource_customizations/embed.go) and its docs: read
	// from the module cache at test time, never copied into this repository. Its go.mod sets go 1.26.3.
	github.com/argoproj/argo-cd/v3 v3.5.1
	// The versions argo-cd v3.5.1's go.mod pins (lines 99 and 128): Argo CD's health checks run on them.
	github.com/yuin/gopher-lua v1.1.2
	layeh.com/gopher-json v0.0.0-20190114024228-97fed8db8427
)
