-- Health of an Argo CD Application as its parent (app of apps) sees it, for argocd-cm
-- `resource.customizations.health.argoproj.io_Application` (argocd/argocd-cm-application-health.yaml
-- holds the same script). Argo CD has no health check for Applications by default (argo-cd v3.5.1
-- docs/operator-manual/health.md "Argocd App"); the snippet there reads health only. A parent's sync
-- wave waits while a child is Progressing, so this one also returns Progressing while the child is
-- not Synced or its sync operation still runs, and the child's own health otherwise.
-- Tested with Argo CD's Lua runtime (gopher-lua, loaded as argo-cd util/lua does) in
-- oracle/argocd-health/.
local hs = {}
hs.status = "Progressing"
hs.message = "Waiting for the Application's status"
if obj.status == nil then
  return hs
end
local sync = obj.status.sync
if sync == nil or sync.status ~= "Synced" then
  hs.message = "Sync status: " .. ((sync ~= nil and sync.status) or "Unknown")
  return hs
end
local op = obj.status.operationState
if op ~= nil and op.phase == "Running" then
  hs.message = "Sync operation running: " .. (op.message or "")
  return hs
end
local health = obj.status.health
if health ~= nil and health.status ~= nil then
  hs.status = health.status
  hs.message = health.message or ""
end
return hs
