module mesh-render/oracle/argocd-health

go 1.26

// The versions argo-cd v3.5.1's go.mod pins (lines 99 and 128): Argo CD's health checks run on them.
require (
	github.com/yuin/gopher-lua v1.1.2
	layeh.com/gopher-json v0.0.0-20190114024228-97fed8db8427
)
